"""Interrupts in the end-to-end checks. A check that is stopped must still tear down what it
started: SIGTERM (a CI timeout, `docker stop`) is turned into the KeyboardInterrupt that Ctrl-C
raises, so that the check's `finally` runs either way; and once the teardown has begun, both
are ignored, so that a second Ctrl-C does not cut it short."""

from __future__ import annotations

import signal


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_raises_interrupt() -> None:
    """From now on SIGTERM raises KeyboardInterrupt, as Ctrl-C (SIGINT) does."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


def ignore_interrupts() -> None:
    """From now on Ctrl-C and SIGTERM are ignored (call it where the teardown starts)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
