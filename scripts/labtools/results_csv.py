"""The two CSV files lab-loadgen writes into each run directory, read back: `requests.csv`
(one row per request) and `summary.csv` (one row per request class). Their columns are the
fields of lab-core's `RequestRow` and `SummaryRow`, in order (services/core/src/csv_rows.rs):
written out here, so that a renamed or reordered column fails the e2e check."""

from __future__ import annotations

import csv
from pathlib import Path

from .checks import CheckFailed

REQUESTS_CSV_COLUMNS = (
    "run_id,request_id,class,endpoint,connection,scheduled_ms,sent_ms,latency_ms,status,"
    "bytes_sent,server_elapsed_ms,worker,error"
).split(",")
SUMMARY_CSV_COLUMNS = (
    "run_id,class,endpoint,connection,schedule,count,ok,errors,skipped,min_ms,median_ms,"
    "mean_ms,p90_ms,p95_ms,p99_ms,max_ms"
).split(",")


def read_rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """Every row of the CSV file at `path`, whose header must be exactly `columns`."""
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != columns:
            raise CheckFailed(f"{path}: columns {reader.fieldnames} != {columns}")
        return list(reader)
