//! The command that starts a scenario's server: lab-server with flags (and `ALLOCATOR`), or
//! `python -m labfastapi` with the same settings as environment variables; under the `split`
//! placement, with the server's CPUs.

use std::path::Path;

use super::{Scenario, ServerKind};
use crate::launch::{Launch, ServerCommand};

impl Scenario {
    /// The command that starts this scenario's server bound to `127.0.0.1:port`, on
    /// `cpus` when given.
    pub fn server_command(
        &self,
        port: u16,
        launch: &Launch,
        cpus: Option<Vec<usize>>,
    ) -> ServerCommand {
        let key = &self.key;
        let bind = format!("127.0.0.1:{port}");
        let shutdown = (
            "SHUTDOWN_TIMEOUT".to_string(),
            launch.shutdown_timeout_s.to_string(),
        );
        match key.server {
            ServerKind::Actix => {
                let mut args = vec![
                    "--bind".to_string(),
                    bind,
                    "--workers".to_string(),
                    key.workers.to_string(),
                ];
                if let Some(keep_alive) = key.server_keep_alive_s() {
                    args.push("--keep-alive".to_string());
                    args.push(keep_alive.to_string());
                }
                let mut envs = vec![shutdown];
                if let Some(allocator) = key.allocator {
                    envs.push(("ALLOCATOR".to_string(), allocator.name().to_string()));
                }
                ServerCommand {
                    name: "lab-server",
                    program: launch.server_bin.clone(),
                    args,
                    envs,
                    cpus,
                }
            }
            ServerKind::Fastapi => {
                let mut envs = vec![
                    ("BIND".to_string(), bind),
                    ("WORKERS".to_string(), key.workers.to_string()),
                    ("PYTHONPATH".to_string(), path_text(&launch.fastapi_dir)),
                    // The study's stack: uvicorn's own process manager, whatever the shell has.
                    ("SERVER".to_string(), "uvicorn".to_string()),
                    shutdown,
                ];
                if let Some(keep_alive) = key.server_keep_alive_s() {
                    envs.push(("KEEP_ALIVE".to_string(), keep_alive.to_string()));
                }
                ServerCommand {
                    name: "FastAPI",
                    program: launch.fastapi_python.clone().unwrap_or_default(),
                    args: vec!["-m".to_string(), "labfastapi".to_string()],
                    envs,
                    cpus,
                }
            }
        }
    }
}

/// A path as an environment value.
fn path_text(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use lab_core::Strategy;
    use lab_loadgen::options::Connection;

    use super::*;
    use crate::scenario::{Allocator, ScenarioKey, ScenarioKind};

    fn launch() -> Launch {
        Launch {
            server_bin: PathBuf::from("target/release/lab-server"),
            fastapi_python: Some(PathBuf::from(".venv-fastapi/bin/python")),
            fastapi_dir: PathBuf::from("/lab/services/fastapi"),
            shutdown_timeout_s: 10,
        }
    }

    fn scenario(key: ScenarioKey) -> Scenario {
        Scenario {
            key,
            duration: Duration::from_secs(1),
        }
    }

    /// lab-server gets its settings as flags and ALLOCATOR as a variable; keep-alive off adds
    /// `--keep-alive 0`; the CPUs travel with the command.
    #[test]
    fn lab_server_gets_flags_allocator_and_cpus() {
        let key = ScenarioKey::actix(4, Strategy::Ping, Connection::Keepalive)
            .with_kind(ScenarioKind::KeepAliveOff);
        let command = scenario(ScenarioKey {
            allocator: Some(Allocator::Jemalloc),
            ..key
        })
        .server_command(8123, &launch(), Some(vec![0]));
        assert_eq!(
            command.args,
            [
                "--bind",
                "127.0.0.1:8123",
                "--workers",
                "4",
                "--keep-alive",
                "0"
            ]
            .map(String::from)
        );
        assert!(
            command
                .envs
                .contains(&("ALLOCATOR".into(), "jemalloc".into()))
        );
        assert_eq!(command.cpus, Some(vec![0]));
    }

    /// The FastAPI server is `python -m labfastapi` with the same settings as variables.
    #[test]
    fn fastapi_gets_the_same_settings_as_variables() {
        let key = ScenarioKey {
            server: ServerKind::Fastapi,
            allocator: None,
            ..ScenarioKey::actix(4, Strategy::Pong, Connection::New)
        };
        let command = scenario(key).server_command(8123, &launch(), None);
        assert_eq!(command.program, PathBuf::from(".venv-fastapi/bin/python"));
        assert_eq!(command.args, ["-m", "labfastapi"]);
        for pair in [
            ("WORKERS", "4"),
            ("BIND", "127.0.0.1:8123"),
            ("PYTHONPATH", "/lab/services/fastapi"),
        ] {
            assert!(
                command
                    .envs
                    .contains(&(pair.0.to_string(), pair.1.to_string()))
            );
        }
        assert!(command.envs.iter().all(|(name, _)| name != "ALLOCATOR"));
    }
}
