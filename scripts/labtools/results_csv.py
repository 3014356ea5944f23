"""The two CSV files lab-loadgen writes into each run directory, read back: `requests.csv`
(one row per request) and `summary.csv` (one row per request class). Their columns are the
lab's contract (services/core/contract/lab-contract.json, written by lab-core), so a renamed or
reordered column fails the e2e check."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .checks import CheckFailed
from .paths import REPO_ROOT

#: The lab's contract file: every name its programs agree on.
CONTRACT = json.loads((REPO_ROOT / "services/core/contract/lab-contract.json").read_text())
REQUESTS_CSV_COLUMNS = list(CONTRACT["csv"]["requests.csv"])
SUMMARY_CSV_COLUMNS = list(CONTRACT["csv"]["summary.csv"])


def read_rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """Every row of the CSV file at `path`, whose header must be exactly `columns`."""
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != columns:
            raise CheckFailed(f"{path}: columns {reader.fieldnames} != {columns}")
        return list(reader)
