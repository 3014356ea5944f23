//! RUN_AS_RESULTS_OWNER: a load generator started as root (Docker Compose's default here)
//! becomes, for good, the user who owns the results directory, before it writes a file or
//! opens a connection. The CSV files then belong to whoever owns `./results` on the host,
//! whatever their uid, with no uid to configure.

use std::{io, os::unix::fs::MetadataExt, path::Path};

use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};

/// Who the process runs as after [`become_results_owner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsAs {
    /// Not started as root: nothing to change.
    Unchanged,
    /// The results directory belongs to root: stays root.
    Root,
    /// Switched to the directory's owner.
    Owner {
        /// Its uid.
        uid: u32,
        /// Its gid.
        gid: u32,
    },
}

/// Why the switch could not be made (the run does not start as root instead).
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// The results directory could not be read or created.
    #[error("cannot read or create {}: {error}", path.display())]
    Inspect {
        /// RESULTS_DIR.
        path: std::path::PathBuf,
        /// Why.
        error: io::Error,
    },
    /// setgroups/setgid/setuid failed.
    #[error("cannot switch to uid {uid}, gid {gid} (the owner of RESULTS_DIR): {error}")]
    Switch {
        /// The owner's uid.
        uid: u32,
        /// The owner's gid.
        gid: u32,
        /// Why.
        error: nix::Error,
    },
}

/// When running as root: drops every group and becomes the uid and gid that own
/// `results_dir`, or its nearest existing parent (the order matters: groups and gid while
/// still root, the uid last), then creates `results_dir` as them if needed. Call it before any thread that must not keep root's rights is started;
/// the change applies to the whole process and cannot be undone.
pub fn become_results_owner(results_dir: &Path) -> Result<RunsAs, OwnerError> {
    if !Uid::effective().is_root() {
        return Ok(RunsAs::Unchanged);
    }
    // The nearest directory that exists decides: RESULTS_DIR=/results/fastapi on a fresh
    // ./results mount belongs to whoever owns /results, and is created as them.
    let owned_by = results_dir
        .ancestors()
        .find(|dir| dir.is_dir())
        .unwrap_or(Path::new("/"));
    let metadata = std::fs::metadata(owned_by).map_err(|error| OwnerError::Inspect {
        path: owned_by.to_path_buf(),
        error,
    })?;
    let (uid, gid) = (metadata.uid(), metadata.gid());
    let runs_as = if uid == 0 {
        RunsAs::Root
    } else {
        let switch = |error| OwnerError::Switch { uid, gid, error };
        setgroups(&[Gid::from_raw(gid)]).map_err(switch)?;
        setgid(Gid::from_raw(gid)).map_err(switch)?;
        setuid(Uid::from_raw(uid)).map_err(switch)?;
        RunsAs::Owner { uid, gid }
    };
    std::fs::create_dir_all(results_dir).map_err(|error| OwnerError::Inspect {
        path: results_dir.to_path_buf(),
        error,
    })?;
    Ok(runs_as)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not root (the usual test run): nothing changes, nothing is created.
    #[test]
    fn without_root_nothing_changes() {
        if Uid::effective().is_root() {
            return; // root's behaviour is checked by the Docker end-to-end run
        }
        let missing = std::env::temp_dir().join("lab-loadgen-owner-test-not-created");
        assert_eq!(become_results_owner(&missing).unwrap(), RunsAs::Unchanged);
        assert!(!missing.exists());
    }
}
