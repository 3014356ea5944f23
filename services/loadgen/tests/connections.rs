//! CONNECTION=new really opens one TCP connection per request, and keepalive reuses them,
//! counted server-side by lab-server's `lab_server_connections_total`.

mod support;

use support::{LabServer, short_run};

/// Connections the server accepted while `connection` ran 1 s of small requests every 50 ms
/// (plus one large request), and how many requests were sent.
async fn connections_during(connection: &str) -> (u64, u64) {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "1",
            "--small-interval",
            "0.05",
            "--connection",
            connection,
        ],
    );
    let before = server.connections_total().await;
    let report = lab_loadgen::run(options, std::future::pending())
        .await
        .unwrap();
    // The second scrape's own connection is counted too.
    let opened = server.connections_total().await - before - 1;
    let sent: u64 = report.classes.iter().map(|class| class.count).sum();
    assert!(
        report.classes.iter().all(|class| class.errors == 0),
        "{:?}",
        report.classes
    );
    server.handle.stop(false).await;
    (opened, sent)
}

/// CONNECTION=new: as many accepted connections as requests, like the study's client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_new_opens_one_connection_per_request() {
    let (opened, sent) = connections_during("new").await;
    assert_eq!(sent, 21);
    assert_eq!(opened, sent);
}

/// CONNECTION=keepalive: each class keeps reusing its pooled connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_reuses_connections() {
    let (opened, sent) = connections_during("keepalive").await;
    assert_eq!(sent, 21);
    // One per class (small, large); a third only if a response was slow enough that the
    // next small request found its connection busy.
    assert!(
        (2..=3).contains(&opened),
        "{opened} connections for {sent} requests"
    );
}
