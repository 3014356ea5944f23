//! Several load generators at once: each writes its own run directory, and
//! `lab-loadgen-merge` joins their runs into one with exact percentiles.

mod support;

use std::path::PathBuf;

use lab_core::{Class, csv_rows::RequestRow};
use lab_loadgen::{
    merge::merge_runs,
    stats::{ClassStats, SIGNIFICANT_DIGITS},
};
use support::{LabServer, only_run, read_csv, short_run};

/// Two replicas with the same RUN_ID against one server: two directories, then one merge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_write_apart_and_merge_exactly() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let replica = |name: &str, interval: &str| {
        short_run(
            &server.url(),
            results.path(),
            &[
                "--duration",
                "1.5",
                "--small-interval",
                interval,
                "--large-interval",
                "0.3",
                "--replica",
                name,
            ],
        )
    };
    let (a, b) = tokio::join!(
        lab_loadgen::run(replica("a", "0.02"), std::future::pending()),
        lab_loadgen::run(replica("b", "0.05"), std::future::pending()),
    );
    let (a, b) = (only_run(a.unwrap()), only_run(b.unwrap()));
    assert_eq!(a.run_id, "test-replica-a");
    assert_eq!(b.run_id, "test-replica-b");

    let out = results.path().join("test-merged");
    let merged = merge_runs(&[a.dir.clone(), b.dir.clone()], &out).unwrap();
    for (index, class) in Class::STUDY.iter().enumerate() {
        let (one, two, all) = (
            a.class(class).unwrap(),
            b.class(class).unwrap(),
            &merged.classes[index],
        );
        assert_eq!(all.class, *class);
        assert_eq!(all.stats.count, one.stats.count + two.stats.count);
        assert_eq!(all.stats.ok, one.stats.ok + two.stats.ok);
        // Each run read back from its rows gives the numbers the load generator reported.
        assert_eq!(&merged.sources[0].classes[index], one);
        assert_eq!(&merged.sources[1].classes[index], two);
        // The merged percentiles are those of every request together.
        let mut together = ClassStats::new(class.clone());
        for dir in [&a.dir, &b.dir] {
            let mut reader = csv::Reader::from_path(dir.join("requests.csv")).unwrap();
            for row in reader.deserialize::<RequestRow>() {
                let row = row.unwrap();
                if row.class == class.name() {
                    together.add_row(&row).unwrap();
                }
            }
        }
        assert_eq!(all, &together.summary());
        assert!(together.latency_us.sigfig() == SIGNIFICANT_DIGITS);
    }
    let rows = read_csv(&out.join("requests.csv"));
    let total: u64 = merged
        .classes
        .iter()
        .map(|c| c.stats.count + c.stats.skipped)
        .sum();
    assert_eq!(rows.len() as u64, total);
    for run in ["test-replica-a", "test-replica-b"] {
        assert!(rows.iter().any(|row| row["run_id"] == run), "{run} rows");
    }
    assert!(
        rows.iter().all(|row| row["method"] == "POST"),
        "methods kept"
    );
    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(summary.len(), 2);
    assert!(summary.iter().all(|row| row["run_id"] == "test-merged"));
    // Results are never overwritten.
    assert!(merge_runs(std::slice::from_ref(&a.dir), &out).is_err());
    server.handle.stop(true).await;
}

/// `@hostname` names the replica after the machine (in a container: its id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hostname_names_a_replica() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "0.3",
            "--large-size-mb",
            "0",
            "--replica",
            "@hostname",
        ],
    );
    let report = only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    let host = nix::unistd::gethostname().unwrap();
    let host: String = host
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    assert!(!host.is_empty());
    assert_eq!(report.run_id, format!("test-replica-{host}"));
    server.handle.stop(true).await;
}

/// The merge tool refuses runs that measured different things, and prints both runs and
/// the merge when they did not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merge_binary_refuses_runs_of_different_workloads() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let run = |id: &str, extra: &[&str]| {
        let mut args = vec![
            "--duration",
            "0.3",
            "--run-id",
            id,
            "--large-interval",
            "0.1",
        ];
        args.extend_from_slice(extra);
        short_run(&server.url(), results.path(), &args)
    };
    let ping = only_run(
        lab_loadgen::run(run("ping", &[]), std::future::pending())
            .await
            .unwrap(),
    );
    let lean = only_run(
        lab_loadgen::run(
            run("lean", &["--endpoint", "/lean"]),
            std::future::pending(),
        )
        .await
        .unwrap(),
    );
    let merge = |dirs: &[&PathBuf], out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lab-loadgen-merge"))
            .arg("--out")
            .arg(results.path().join(out))
            .args(dirs)
            .output()
            .unwrap()
    };
    let refused = merge(&[&ping.dir, &lean.dir], "mixed");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot be merged") && stderr.contains("/lean"),
        "{stderr}"
    );
    assert!(!results.path().join("mixed").exists());

    let merged = merge(&[&ping.dir, &ping.dir], "twice");
    assert!(merged.status.success());
    let stdout = String::from_utf8_lossy(&merged.stdout);
    assert_eq!(stdout.matches("ping ").count(), 4, "{stdout}");
    assert!(stdout.contains("twice"), "{stdout}");
    server.handle.stop(true).await;
}
