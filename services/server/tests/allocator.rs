//! ALLOCATOR: each binary runs with its own allocator, and hands over to the other one when
//! asked for it, so the setting works wherever the server is started; `/healthz` says which
//! allocator answers.

mod common;

use lab_core::http::Health;

/// Starts `binary` with `env`, and returns the allocator its `/healthz` reports.
async fn allocator_of(binary: &str, env: &[(&str, &str)]) -> String {
    let (child, address) = common::start_binary_at(binary, env);
    let _server = common::KillOnDrop(child);
    let health: Health = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health.allocator
}

#[tokio::test]
async fn each_binary_runs_with_the_allocator_asked_for() {
    let system = env!("CARGO_BIN_EXE_lab-server");
    let jemalloc = env!("CARGO_BIN_EXE_lab-server-jemalloc");
    assert_eq!(allocator_of(system, &[]).await, "system");
    assert_eq!(
        allocator_of(system, &[("ALLOCATOR", "jemalloc")]).await,
        "jemalloc"
    );
    assert_eq!(
        allocator_of(jemalloc, &[("ALLOCATOR", "jemalloc")]).await,
        "jemalloc"
    );
    assert_eq!(
        allocator_of(jemalloc, &[("ALLOCATOR", "system")]).await,
        "system"
    );
    // Unset, each binary runs with its own.
    assert_eq!(allocator_of(jemalloc, &[]).await, "jemalloc");
}

/// An allocator that does not exist is refused like any bad setting.
#[test]
fn an_unknown_allocator_is_refused() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lab-server"))
        .env("ALLOCATOR", "tcmalloc")
        .env("BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("tcmalloc"));
}
