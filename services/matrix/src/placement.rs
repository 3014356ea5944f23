//! Where the server and the load generator run, as a recorded setting ([`Placement`]).
//!
//! The workload runs in this process, so "the client" is the matrix itself. `unpinned` leaves
//! both to the kernel. `split` gives each its own CPUs: the server (and every process it
//! starts: uvicorn's workers, lab-server's jemalloc sibling) on the first ones, this process on
//! the last `max(1, n / 4)` of the `n` CPUs it may use (on 2 cores: server on CPU 0, client on
//! CPU 1). The server's set is applied in the child between fork and exec
//! (`sched_setaffinity`, inherited by whatever it starts); the client's to every thread of this
//! process (affinity is per thread on Linux, and a new thread inherits its creator's).
//!
//! Which is better depends on the cores: on 2 cores `split` takes the second core from
//! `/offload`'s pool and puts the kernel's receive copy on the loop's core (docs/matrix.md
//! has the measurement), so [`default_for`] picks `unpinned` below 4 CPUs and `split` from 4.

use std::io;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

use crate::scenario::Placement;

/// From this many CPUs on, the default keeps the client off the server's CPUs.
pub const SPLIT_FROM_CPUS: usize = 4;

/// The placement `auto` stands for on a machine with `cpus` usable CPUs.
pub fn default_for(cpus: usize) -> Placement {
    if cpus >= SPLIT_FROM_CPUS {
        Placement::Split
    } else {
        Placement::Unpinned
    }
}

/// The CPUs the calling thread may run on now, in order (the matrix reads them once, before
/// it pins anything).
pub fn allowed_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, usize::from)).collect(),
    }
}

/// The CPUs of each side under a placement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CpuSets {
    /// Every CPU the matrix may use.
    pub all: Vec<usize>,
    /// The server's under `split`.
    pub server: Vec<usize>,
    /// The client's (this process's) under `split`.
    pub client: Vec<usize>,
}

impl CpuSets {
    /// `all` cut in two: the client gets the last `max(1, n / 4)` CPUs, the server the rest
    /// (with a single CPU both get it: there is nothing to split).
    pub fn split(all: Vec<usize>) -> Self {
        let client_count = (all.len() / 4).max(1);
        let (server, client) = if all.len() > 1 {
            let (server, client) = all.split_at(all.len() - client_count);
            (server.to_vec(), client.to_vec())
        } else {
            (all.clone(), all.clone())
        };
        Self {
            all,
            server,
            client,
        }
    }

    /// The server's CPUs under `placement`; `None` = no affinity set.
    pub fn server_for(&self, placement: Placement) -> Option<Vec<usize>> {
        (placement == Placement::Split).then(|| self.server.clone())
    }

    /// The client's CPUs under `placement` (every CPU when unpinned).
    pub fn client_for(&self, placement: Placement) -> &[usize] {
        match placement {
            Placement::Split => &self.client,
            Placement::Unpinned => &self.all,
        }
    }
}

/// A CPU set holding `cpus`.
pub fn cpu_set(cpus: &[usize]) -> io::Result<CpuSet> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu).map_err(io::Error::from)?;
    }
    Ok(set)
}

/// Pins the calling thread (in a child between fork and exec: the process to be) to `set`.
/// Only a system call: safe to run in a `pre_exec` hook.
pub fn pin_current(set: &CpuSet) -> io::Result<()> {
    sched_setaffinity(Pid::from_raw(0), set).map_err(io::Error::from)
}

/// Pins every thread of this process to `cpus` (threads started later inherit it from
/// their creator). A thread that ended meanwhile is skipped.
pub fn pin_this_process(cpus: &[usize]) -> io::Result<()> {
    let set = cpu_set(cpus)?;
    for entry in std::fs::read_dir("/proc/self/task")? {
        let Some(tid) = entry?
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        match sched_setaffinity(Pid::from_raw(tid), &set) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(error) => return Err(io::Error::from(error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two CPUs split one each; eight give the client two; one CPU is shared.
    #[test]
    fn split_gives_the_client_a_quarter_and_at_least_one() {
        let two = CpuSets::split(vec![0, 1]);
        assert_eq!(
            (two.server.as_slice(), two.client.as_slice()),
            (&[0][..], &[1][..])
        );
        let eight = CpuSets::split((0..8).collect());
        assert_eq!(eight.server, [0, 1, 2, 3, 4, 5]);
        assert_eq!(eight.client, [6, 7]);
        let one = CpuSets::split(vec![3]);
        assert_eq!((one.server, one.client), (vec![3], vec![3]));
        assert_eq!(two.server_for(Placement::Unpinned), None);
        assert_eq!(two.client_for(Placement::Unpinned), [0, 1]);
    }

    /// Below 4 CPUs the default is unpinned, from 4 split.
    #[test]
    fn the_default_splits_only_with_cores_to_spare() {
        assert_eq!(default_for(2), Placement::Unpinned);
        assert_eq!(default_for(3), Placement::Unpinned);
        assert_eq!(default_for(4), Placement::Split);
    }

    /// Pinning this process to one of its CPUs and back is visible in its affinity.
    #[test]
    fn pinning_this_process_changes_its_affinity_and_back() {
        let all = allowed_cpus();
        assert!(!all.is_empty());
        let last = *all.last().unwrap();
        pin_this_process(&[last]).unwrap();
        assert_eq!(allowed_cpus(), [last]);
        pin_this_process(&all).unwrap();
        assert_eq!(allowed_cpus(), all);
    }
}
