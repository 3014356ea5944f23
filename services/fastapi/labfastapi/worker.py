"""Which worker is this process, and how busy is its event loop.

**Worker identity.** uvicorn (WORKERS > 1) and gunicorn start each worker as its own
process, and neither tells the app an index. So each worker claims one at startup: the
launcher makes a shared directory (`LABFASTAPI_WORKER_DIR`), and a worker opens
`worker-0.lock`, `worker-1.lock`, … in turn and takes the first it can lock with
`flock(LOCK_EX | LOCK_NB)`. It keeps that file open, and so locked, for its whole life. The
kernel drops the lock when the process ends, however it ends (even `kill -9`), so a worker
that a supervisor restarts after a crash takes the index the dead one held: indexes stay
0..WORKERS-1 and stable per process. (Files created with `O_EXCL` would do the first part,
but a crashed worker's file would stay behind and its replacement would get a new index.)
Should more than WORKERS workers be alive at once, the extra one gets WORKERS or more,
which the dashboard then shows rather than hides.

Without the launcher (the app run by hand under plain uvicorn) there is one process: index 0.

**Readiness.** uvicorn and gunicorn start the workers one by one, each importing FastAPI for
a second or more, and any worker that is up answers `/healthz`. So a worker, once its
startup is done, writes its pid to `ready-<index>`, and `/healthz` counts the ready workers
(`workers_ready`) without touching anyone's lock (taking even a shared lock for a moment could
make a starting worker skip its slot). A marker counts only while it names a live process
that also holds the slot: the pid it holds must be the one in `worker-<index>.lock`, which
each worker writes after locking it, so a crashed worker's marker stops counting as soon as
its replacement claims the slot, and before that because its pid is gone.

**Event-loop lag.** Each worker runs `probe_event_loop_lag` on its own loop: sleep
LAG_PROBE_INTERVAL_MS, note how much later than asked it woke, repeat. A free loop wakes
within about a millisecond; a loop busy parsing 25 MB wakes when the parse is done, so the
lag is the time the loop was blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import os

from prometheus_client import Histogram

#: Set by the launcher: the directory where workers claim their index.
WORKER_DIR_ENV = "LABFASTAPI_WORKER_DIR"


class WorkerSlot:
    """This process's worker index, held by a lock on `worker-<index>.lock` until `release`."""

    def __init__(self, index: int, fd: int | None, directory: str | None = None) -> None:
        self.index = index
        self._fd = fd
        self._directory = directory

    @classmethod
    def claim(cls, directory: str | None) -> WorkerSlot:
        """Takes the lowest index no live process holds (0 when there is no directory)."""
        if not directory:
            return cls(0, None)
        for index in itertools.count():
            path = os.path.join(directory, f"worker-{index}.lock")
            # os.open's descriptors are not inherited across exec; a forked child does share
            # the lock, which is why workers claim after the fork, at startup.
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return cls(index, fd, directory)
        raise AssertionError("unreachable: itertools.count() never ends")

    def mark_ready(self) -> None:
        """Says this worker serves: writes `ready-<index>` with its pid (atomically, by rename)."""
        if self._directory is None:
            return
        path = _ready_path(self._directory, self.index)
        scratch = f"{path}.{os.getpid()}"
        with open(scratch, "w") as file:
            file.write(f"{os.getpid()}\n")
        os.replace(scratch, path)

    def release(self) -> None:
        """Removes the ready marker and closes the lock file, which drops the lock (the
        process ending would too, and its marker would stop counting with its pid)."""
        if self._fd is not None:
            if self._directory is not None and _pid_in(_ready_path(self._directory, self.index)) == os.getpid():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(_ready_path(self._directory, self.index))
            os.close(self._fd)
            self._fd = None


#: This process's slot, set by the app's startup (index 0 until then).
_current = WorkerSlot(0, None)


def enter_worker(directory: str | None) -> WorkerSlot:
    """Claims this process's index; `current_index()` returns it from then on."""
    global _current
    _current = WorkerSlot.claim(directory)
    return _current


def current_index() -> int:
    """The index of the worker this process is (0 before startup)."""
    return _current.index


def _ready_path(directory: str, index: int) -> str:
    return os.path.join(directory, f"ready-{index}")


def _pid_in(path: str) -> int | None:
    """The pid written in `path`, or None (missing, empty or half-written)."""
    try:
        with open(path) as file:
            return int(file.read().strip() or "x")
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether `pid` is a running process: not gone, and not a zombie its supervisor has yet
    to reap (uvicorn's looks every 0.5 s; signal 0 still reaches a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            # `pid (comm) state ...`; comm may hold spaces and parentheses, so from the last ')'.
            return file.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def workers_ready(directory: str | None, workers: int) -> int:
    """How many of the indexes 0..workers-1 belong to a live worker that has finished its
    startup (see "Readiness" above). Without a directory: this process, so 1."""
    if not directory:
        return 1
    ready = 0
    for index in range(workers):
        pid = _pid_in(_ready_path(directory, index))
        if pid is not None and pid == _pid_in(os.path.join(directory, f"worker-{index}.lock")) and _alive(pid):
            ready += 1
    return ready


async def probe_event_loop_lag(lag: Histogram, period_seconds: float) -> None:
    """Sleeps `period_seconds` again and again on this loop and records how much later than
    asked each sleep ended. Runs until cancelled at shutdown."""
    loop = asyncio.get_running_loop()
    while True:
        asked_at = loop.time()
        await asyncio.sleep(period_seconds)
        late_by = loop.time() - asked_at - period_seconds
        lag.observe(max(late_by, 0.0))
