//! The matrix's handling of one server child process, against the real lab-server binary.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lab_matrix::server_process::{Expected, ServerCommand, ServerProcess};
use support::server_bin;

fn log_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).unwrap();
    dir.join(format!("matrix-server-{name}-{}.log", std::process::id()))
}

/// lab-server with these settings, for the port the matrix picks.
fn lab_server(workers: usize, keep_alive: Option<u64>) -> impl FnOnce(u16) -> ServerCommand {
    move |port| {
        let mut args = vec![
            "--bind".to_string(),
            format!("127.0.0.1:{port}"),
            "--workers".to_string(),
            workers.to_string(),
        ];
        if let Some(seconds) = keep_alive {
            args.extend(["--keep-alive".to_string(), seconds.to_string()]);
        }
        command(args)
    }
}

fn command(args: Vec<String>) -> ServerCommand {
    ServerCommand {
        name: "lab-server",
        program: server_bin(),
        args,
        envs: Vec::new(),
        cpus: None,
    }
}

/// A started server answers on its port with the settings asked for, and SIGTERM stops it
/// with exit status 0, after which the port refuses connections.
#[tokio::test]
async fn server_starts_healthy_and_stops_on_sigterm() {
    let expected = Expected {
        workers: 3,
        keep_alive_s: Some(0),
        allocator: Some("system"),
    };
    let log = log_path("start-stop");
    let server = ServerProcess::start(
        lab_server(3, Some(0)),
        expected,
        &log,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", server.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["workers"], 3);
    assert_eq!(health["keep_alive_seconds"], 0);
    let port = server.port();
    let status = server.stop(Duration::from_secs(15)).await.unwrap();
    assert!(status.success(), "lab-server exited with {status}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens any more"
    );
}

/// A server whose settings differ from what the scenario expects is refused, not measured.
#[tokio::test]
async fn server_with_other_settings_is_an_error() {
    let expected = Expected {
        workers: 2,
        keep_alive_s: None,
        allocator: None,
    };
    let log = log_path("mismatch");
    let error = ServerProcess::start(lab_server(1, None), expected, &log, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("workers=1"), "{error:#}");
}

/// A server that cannot start (a flag it rejects) is reported with its own log.
#[tokio::test]
async fn server_that_exits_at_once_is_reported_with_its_log() {
    let expected = Expected {
        workers: 1,
        keep_alive_s: None,
        allocator: None,
    };
    let log = log_path("bad-flag");
    let bad_args = |_port: u16| command(vec!["--workers".into(), "not-a-number".into()]);
    let error = ServerProcess::start(bad_args, expected, &log, Duration::from_secs(30))
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("exited"), "{message}");
    assert!(
        message.contains("not-a-number"),
        "the server's own message is included: {message}"
    );
}

/// A server started with CPUs (the `split` placement) runs on them alone, and so does every
/// thread it starts (actix's workers): its affinity, read from the kernel, is that set.
#[tokio::test]
async fn a_server_started_on_cpus_runs_on_them_alone() {
    let cpus = lab_matrix::placement::allowed_cpus();
    let first = cpus[0];
    let expected = Expected {
        workers: 2,
        keep_alive_s: None,
        allocator: Some("system"),
    };
    let log = log_path("pinned");
    let pinned = move |port| ServerCommand {
        cpus: Some(vec![first]),
        ..lab_server(2, None)(port)
    };
    let server = ServerProcess::start(pinned, expected, &log, Duration::from_secs(30))
        .await
        .unwrap();
    let pid = server.pid().unwrap();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let mut threads = 0;
    for task in tasks {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let allowed = status
            .lines()
            .find(|line| line.starts_with("Cpus_allowed_list:"))
            .unwrap()
            .split(':')
            .nth(1)
            .unwrap()
            .trim()
            .to_string();
        assert_eq!(allowed, first.to_string(), "{status}");
        threads += 1;
    }
    assert!(
        threads >= 3,
        "the main thread and two workers at least: {threads}"
    );
    assert!(
        server
            .stop(Duration::from_secs(15))
            .await
            .unwrap()
            .success()
    );
}
