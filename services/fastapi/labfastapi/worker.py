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

**Event-loop lag.** Each worker runs `probe_event_loop_lag` on its own loop: sleep
LAG_PROBE_INTERVAL_MS, note how much later than asked it woke, repeat. A free loop wakes
within about a millisecond; a loop busy parsing 25 MB wakes when the parse is done, so the
lag is the time the loop was blocked.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os

from prometheus_client import Histogram

#: Set by the launcher: the directory where workers claim their index.
WORKER_DIR_ENV = "LABFASTAPI_WORKER_DIR"


class WorkerSlot:
    """This process's worker index, held by a lock on `worker-<index>.lock` until `release`."""

    def __init__(self, index: int, fd: int | None) -> None:
        self.index = index
        self._fd = fd

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
            return cls(index, fd)
        raise AssertionError("unreachable: itertools.count() never ends")

    def release(self) -> None:
        """Closes the file, which drops the lock (the process ending would too)."""
        if self._fd is not None:
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


async def probe_event_loop_lag(lag: Histogram, period_seconds: float) -> None:
    """Sleeps `period_seconds` again and again on this loop and records how much later than
    asked each sleep ended. Runs until cancelled at shutdown."""
    loop = asyncio.get_running_loop()
    while True:
        asked_at = loop.time()
        await asyncio.sleep(period_seconds)
        late_by = loop.time() - asked_at - period_seconds
        lag.observe(max(late_by, 0.0))
