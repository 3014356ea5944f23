"""How the end-to-end checks report: one timestamped line per step, and `CheckFailed` for an
assertion that did not hold (the check's main catches it, tears its stack down and exits 1)."""

from __future__ import annotations

import time
from collections.abc import Callable


class CheckFailed(Exception):
    """One of the e2e assertions did not hold."""


def progress_log(name: str) -> Callable[[str], None]:
    """A `log(message)` printing `[<name> HH:MM:SS] message`, flushed at once so that its lines
    stay in order with the output of the docker and cargo commands the check runs."""

    def log(message: str) -> None:
        print(f"[{name} {time.strftime('%H:%M:%S')}] {message}", flush=True)

    return log
