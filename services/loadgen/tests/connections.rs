//! CONNECTION=new really opens one TCP connection per request, keepalive reuses them, and
//! POOL=shared lets classes reuse each other's connections, counted server-side by
//! lab-server's `lab_server_connections_total`.

mod support;

use lab_core::Class;
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
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    // The second scrape's own connection is counted too.
    let opened = server.connections_total().await - before - 1;
    let sent: u64 = report.classes.iter().map(|class| class.stats.count).sum();
    assert!(
        report.classes.iter().all(|class| class.stats.errors == 0),
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

/// Connections the server (KEEP_ALIVE=1 s) accepted during 2.5 s of keep-alive traffic with
/// `pool`: small requests every 100 ms, large ones at 0 s and 1.95 s.
async fn connections_with_pool(pool: &str) -> u64 {
    let server = LabServer::start(0, 1, 1);
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "2.5",
            "--connection",
            "keepalive",
            "--pool",
            pool,
            "--small-interval",
            "0.1",
            "--large-interval",
            "1.95",
        ],
    );
    let before = server.connections_total().await;
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    let opened = server.connections_total().await - before - 1;
    assert_eq!(report.config.pool.as_str(), pool);
    assert_eq!(
        report.class(&Class::Large).unwrap().stats.ok,
        2,
        "{:?}",
        report.classes
    );
    assert!(
        report.classes.iter().all(|class| class.stats.errors == 0),
        "{:?}",
        report.classes
    );
    server.handle.stop(false).await;
    opened
}

/// POOL=shared with 2 classes over keep-alive opens fewer connections than per-class pools.
/// Per class, the large class's connection idles 1.95 s between its two uploads, past the
/// server's 1 s keep-alive, so its second upload must reconnect (small 1 + large 2 = 3).
/// Shared, the second upload takes the connection the small requests keep warm (it is due
/// between two small requests), so both classes make do with those opened at 0 s (2, or 1
/// when the first small and large requests happen not to overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_pool_opens_fewer_connections_than_per_class_pools() {
    let per_class = connections_with_pool("per-class").await;
    let shared = connections_with_pool("shared").await;
    println!("connections opened: per-class {per_class}, shared {shared}");
    assert!(
        shared < per_class,
        "shared {shared} vs per-class {per_class}"
    );
}
