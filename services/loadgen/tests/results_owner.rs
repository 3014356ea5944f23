//! RUN_AS_RESULTS_OWNER: started as root, lab-loadgen writes its files as the owner of the
//! results directory (how Docker Compose runs it, so ./results stays the host user's).

mod support;

use std::os::unix::fs::MetadataExt;

use support::{closed_port_url, run_loadgen};

/// Root: the run directory and both CSV files belong to the results directory's owner.
/// Not root: the switch is skipped and the files are the caller's.
#[tokio::test]
async fn the_files_belong_to_the_owner_of_the_results_directory() {
    let results = tempfile::tempdir().unwrap();
    // SAFETY: geteuid cannot fail and touches no memory.
    let root = unsafe { libc::geteuid() } == 0;
    let owner = if root {
        // Someone who is not root and not this process's group.
        let (uid, gid) = (54_321, 54_322);
        std::os::unix::fs::chown(results.path(), Some(uid), Some(gid)).unwrap();
        (uid, gid)
    } else {
        let metadata = std::fs::metadata(results.path()).unwrap();
        (metadata.uid(), metadata.gid())
    };
    let (code, _, stderr) = run_loadgen(
        &[
            "--target-url",
            &closed_port_url(),
            "--duration",
            "0.3",
            "--large-size-mb",
            "0",
            "--run-id",
            "owned",
            "--quiet",
        ],
        &[
            // A sub-directory that does not exist yet: made by, and belonging to, the owner
            // of the nearest one that does.
            ("RESULTS_DIR", results.path().join("sub").to_str().unwrap()),
            ("RUN_AS_RESULTS_OWNER", "true"),
            ("SERVER_CHECK_INTERVAL", "0"),
        ],
    )
    .await;
    // No server: every request failed (exit 3), but the files are written.
    assert_eq!(code, 3, "{stderr}");
    let run = results.path().join("sub").join("owned");
    for path in [
        results.path().join("sub"),
        run.clone(),
        run.join("requests.csv"),
        run.join("summary.csv"),
    ] {
        let metadata = std::fs::metadata(&path).unwrap();
        assert_eq!(
            (metadata.uid(), metadata.gid()),
            owner,
            "{} (root: {root})",
            path.display()
        );
    }
}
