#!/usr/bin/env python3
"""Export the run's Prometheus series as CSV: every query of every dashboard panel, over the
run's time range, through Prometheus's HTTP API (/api/v1/query_range). `just export`.

    scripts/export.py                       # the last run seen in the past 6 h -> results/prometheus-<time>/
    scripts/export.py --start 2026-11-25T12:00:00Z --end 2026-11-25T12:10:00Z
    scripts/export.py --prometheus http://127.0.0.1:9090 --out results/my-export

The queries are the dashboard's own (grafana/dashboards/large-request-lab.json), with
$__rate_interval and friends expanded as Grafana would for this range and $target as its
default, All (every target, each series labelled with its own), so the numbers in the CSV are
the numbers on screen. One CSV per query (long format: one row per series and
timestamp) plus index.csv, which lists each file with its panel, legend and exact PromQL.

Several load generators (`docker compose up --scale loadgen=3`) are all in it: the panels'
series merge the replicas as the dashboard does (histogram buckets summed, then the
quantile; rates summed), and the "Load generator replicas" row's series have `instance` and
`replica` columns, one series per replica. annotations.csv lists the dashboard's annotation
events (server restarted or reconfigured, new load generator runs, upload bursts), found in the
answers as Grafana finds them.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools import dashboard as dash  # noqa: E402
from labtools.compose import read_env_file  # noqa: E402
from labtools.paths import RESULTS_DIR  # noqa: E402
from labtools.prometheus import Prometheus, PrometheusError  # noqa: E402

#: A series the load generator always exports while it runs: its presence marks the run.
RUN_MARKER = "max(lab_client_info)"


def parse_time(text: str) -> float:
    """Unix seconds, or an ISO 8601 time (`2026-11-25T12:00:00Z`)."""
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()


def find_run_range(prom: Prometheus, lookback_seconds: float) -> tuple[float, float]:
    """Start and end of the latest stretch in which the load generator was scraped."""
    end = time.time()
    step = 5.0
    series = prom.query_range(RUN_MARKER, end - lookback_seconds, end, step)
    if not series:
        raise SystemExit(f"export: no load generator data in the last {lookback_seconds / 3600:g} h "
                         "(is the lab running? pass --start/--end)")
    stamps = [float(t) for t, _ in series[0]["values"]]
    # Walk back from the newest sample until a gap longer than a minute: that is the last run.
    run_end = stamps[-1]
    run_start = run_end
    for earlier in reversed(stamps[:-1]):
        if run_start - earlier > 60:
            break
        run_start = earlier
    return run_start, run_end


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def legend_for(legend: str, labels: dict[str, str]) -> str:
    if not legend:
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), legend)


def export(prom: Prometheus, start: float, end: float, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    index_rows = []
    board = dash.load_dashboard()
    # The dashboard's default selection: every target (All), each series labelled with its own.
    variables = dash.variable_values(board)
    for number, query in enumerate(dash.panel_queries(board), start=1):
        ready = dash.interpolate(query, end - start, variables=variables)
        series = prom.query_range(ready.expr, start, end, ready.step_seconds)
        label_names = sorted({name for s in series for name in s["metric"]})
        path = out / f"{number:02d}-{slug(query.panel_title)}-{query.ref_id}.csv"
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["timestamp", "time_utc", "series", *label_names, "value"])
            for s in series:
                name = legend_for(query.legend, s["metric"])
                labels = [s["metric"].get(label, "") for label in label_names]
                for timestamp, value in s["values"]:
                    moment = datetime.fromtimestamp(float(timestamp), timezone.utc)
                    writer.writerow([timestamp, moment.strftime("%Y-%m-%dT%H:%M:%SZ"), name, *labels, value])
        written.append(path)
        index_rows.append([path.name, query.panel_title, query.ref_id, query.legend,
                           f"{ready.step_seconds:g}", len(series), ready.expr])
        print(f"  {path.name}: {len(series)} series", flush=True)
    annotations = export_annotations(prom, board, variables, start, end, out / "annotations.csv")
    index_rows.append(["annotations.csv", "(annotations)", "", "", "", annotations, ""])
    with open(out / "index.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "panel", "ref_id", "legend", "step_seconds", "series", "promql"])
        writer.writerows(index_rows)
    return written


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_annotations(prom: Prometheus, board: dict, variables: dict[str, str], start: float, end: float,
                       path: Path) -> int:
    """Every event of every Prometheus annotation of the dashboard over [start, end], one row
    each (a point has time == time_end); returns how many."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["annotation", "target", "time", "time_utc", "time_end", "time_end_utc", "title", "text",
                         "promql"])
        for query in dash.annotation_queries(board):
            ready = dash.interpolate(query.as_query(), end - start, variables=variables)
            series = prom.query_range(ready.expr, start, end, ready.step_seconds)
            for event in dash.annotation_events(query, series, ready.step_seconds):
                writer.writerow([query.name, dict(event.labels).get("target", ""), f"{event.time:.3f}", utc(event.time),
                                 f"{event.time_end:.3f}", utc(event.time_end), event.title, event.text, ready.expr])
                count += 1
    print(f"  {path.name}: {count} events", flush=True)
    return count


def main() -> int:
    defaults = read_env_file()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", default=f"http://127.0.0.1:{defaults.get('PROMETHEUS_PORT', '9090')}",
                        help="Prometheus base URL (default: the lab's, from .env)")
    parser.add_argument("--start", type=parse_time, help="unix seconds or ISO time (default: the last run's start)")
    parser.add_argument("--end", type=parse_time, help="unix seconds or ISO time (default: the last run's end)")
    parser.add_argument("--lookback-hours", type=float, default=6.0,
                        help="how far back to look for the last run when --start is not given")
    parser.add_argument("--out", type=Path, help="output directory (default: results/prometheus-<time>)")
    args = parser.parse_args()

    prom = Prometheus(args.prometheus)
    try:
        if args.start is None or args.end is None:
            run_start, run_end = find_run_range(prom, args.lookback_hours * 3600)
            start = args.start if args.start is not None else run_start
            end = args.end if args.end is not None else run_end
        else:
            start, end = args.start, args.end
        if end <= start:
            raise SystemExit("export: --end must be after --start")
        out = args.out or RESULTS_DIR / (
            "prometheus-" + datetime.fromtimestamp(start, timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
        print(f"export: {datetime.fromtimestamp(start, timezone.utc):%H:%M:%S} to "
              f"{datetime.fromtimestamp(end, timezone.utc):%H:%M:%S} UTC ({end - start:.0f} s) -> {out}")
        files = export(prom, start, end, out)
    except PrometheusError as error:
        raise SystemExit(f"export: {error} (is Prometheus up at {args.prometheus}?)") from error
    print(f"export: {len(files)} CSV files, annotations.csv and index.csv in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
