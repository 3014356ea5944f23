"""Where the repository is: every script and labtools module finds the lab's files from here,
wherever it is started from."""

from __future__ import annotations

from pathlib import Path

#: The repository's root (this file is scripts/labtools/paths.py).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where the load generators (and `just export`) write their runs: ./results, committed with
#: only its README, so that it belongs to whoever cloned the repository.
RESULTS_DIR = REPO_ROOT / "results"
