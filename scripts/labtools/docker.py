"""The `docker` command line as the checks call it: from the repository's root, output
captured as text, and bounded in time (an engine that hangs fails the check instead)."""

from __future__ import annotations

import subprocess

from .paths import REPO_ROOT


def docker(*args: str, check: bool = True, capture: bool = True, env: dict | None = None,
           timeout: float | None = 120) -> subprocess.CompletedProcess:
    """`docker <args>`; with `check`, a non-zero exit raises CalledProcessError; with
    `capture`, stdout and stderr are kept in the result instead of printed."""
    return subprocess.run(["docker", *args], cwd=REPO_ROOT, check=check, capture_output=capture,
                          text=True, env=env, timeout=timeout)


def docker_lines(*args: str) -> list[str]:
    """The non-blank lines `docker <args>` prints (nothing when it fails): IDs from `ls -q`."""
    return [line for line in docker(*args, check=False).stdout.splitlines() if line.strip()]
