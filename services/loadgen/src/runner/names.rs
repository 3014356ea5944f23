//! The names a run's directory is given: the run id, and the replica's part of it.

use crate::options::{
    RunOptions,
    values::{MAX_REPLICA_LEN, REPLICA_FROM_HOSTNAME, is_name_char, path_word},
};

/// The directory name of run `number`, as (RUN_ID's, the default): the first when RUN_ID is
/// set, else a timestamp with the classes' `paths`, the connection and the schedule. Either
/// gets `-replica-<replica>` when this is one of several load generators, and RUN_ID's gets
/// `-<number>` from the second run on (a timestamped id names a new second).
pub(super) fn run_ids(
    options: &RunOptions,
    replica: Option<&str>,
    paths: &[&str],
    number: u32,
) -> (Option<String>, String) {
    let replica = |id: String| match replica {
        Some(name) => format!("{id}-replica-{name}"),
        None => id,
    };
    let explicit = options.run_id.as_ref().map(|id| {
        let id = replica(id.clone());
        if number == 1 {
            id
        } else {
            format!("{id}-{number}")
        }
    });
    let default = replica(format!(
        "{}-{}-{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        path_slug(paths),
        options.connection.as_str(),
        options.workload.schedule.as_str(),
    ));
    (explicit, default)
}

/// REPLICA as it names directories: `@hostname` becomes this machine's host name, with any
/// character a run id does not allow replaced by `_`.
pub(super) fn replica_name(replica: &str) -> String {
    let name = if replica == REPLICA_FROM_HOSTNAME {
        nix::unistd::gethostname()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        replica.to_string()
    };
    let name: String = name
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .take(MAX_REPLICA_LEN)
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("host{name}")
    } else {
        name
    }
}

/// Longest part of a default run id that comes from the paths requested.
const MAX_SLUG_LEN: usize = 64;

/// The paths the classes request, as one file-name-safe word for the default run id:
/// `ping` for the usual run, `healthz+upload` when the classes ask for different paths.
fn path_slug(paths: &[&str]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for path in paths {
        if !distinct.contains(path) {
            distinct.push(path);
        }
    }
    let slug: String = distinct
        .iter()
        .map(|path| path_word(path, '_'))
        .collect::<Vec<_>>()
        .join("+");
    slug.chars().take(MAX_SLUG_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run id's path part is short and file-name safe whatever the paths.
    #[test]
    fn path_slugs_are_file_name_safe_and_short() {
        assert_eq!(path_slug(&["/ping", "/ping"]), "ping");
        assert_eq!(path_slug(&["/healthz", "/upload"]), "healthz+upload");
        assert_eq!(path_slug(&["/"]), "root");
        assert_eq!(path_slug(&["/a:b@c/d'e%20"]), "a_b_c_d_e_20");
        assert_eq!(
            path_slug(&[&format!("/{}", "x".repeat(1000))]).len(),
            MAX_SLUG_LEN
        );
    }

    /// RUN_ID names the first run as given and numbers the next ones; a replica's name is
    /// added to either id.
    #[test]
    fn run_ids_name_the_run_and_the_replica() {
        let options = RunOptions::from_args(["--run-id", "study"]).unwrap();
        let (explicit, default) = run_ids(&options, None, &["/ping", "/ping"], 1);
        assert_eq!(explicit.as_deref(), Some("study"));
        assert!(default.ends_with("-ping-new-open"), "{default}");
        let (explicit, default) = run_ids(&options, Some("2"), &["/ping"], 3);
        assert_eq!(explicit.as_deref(), Some("study-replica-2-3"));
        assert!(default.ends_with("-ping-new-open-replica-2"), "{default}");
        let unnamed = RunOptions::from_args(Vec::<String>::new()).unwrap();
        assert_eq!(run_ids(&unnamed, None, &["/ping"], 2).0, None);
    }
}
