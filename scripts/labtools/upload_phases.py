"""A run's upload phases as Prometheus holds them: the load generator sends its 25 MB uploads
for LARGE_ON seconds, then pauses for LARGE_OFF seconds, and says which it is doing in
`lab_client_large_uploads_enabled` (1 or 0). From that gauge and the uploads in flight:

    upload_cycles         how many on/off cycles a run has completed so far
    split_small_latency   the small-request histogram split into "burst" (uploads running) and
                          "quiet" (between bursts), each phase's p50/p95 as histogram_quantile
                          would compute it: the effect the lab shows, measured per phase

Both read range queries at a 1 s step, the scrape interval."""

from __future__ import annotations

import time

from . import histogram
from .checks import CheckFailed
from .prometheus import Prometheus, finite_points

#: Seconds an "off" phase must have lasted for the cycle before it to count as complete.
QUIET_TAIL_SECONDS = 10
#: Seconds without any upload in flight before a step counts as between bursts.
SETTLE_STEPS = 3


def count_cycles(values: list[float]) -> int:
    """Completed on/off cycles in a 1 s series of the uploads-enabled gauge: each switch on
    (or a start at 1) and off counts, and the last "off" only once it has lasted
    QUIET_TAIL_SECONDS."""
    ons = offs = 0
    previous = 0.0
    for value in values:
        if value >= 0.5 > previous:
            ons += 1
        if value < 0.5 <= previous:
            offs += 1
        previous = value
    tail_off = 0
    for value in reversed(values):
        if value >= 0.5:
            break
        tail_off += 1
    complete_offs = offs if tail_off >= QUIET_TAIL_SECONDS or values[-1] >= 0.5 else offs - 1
    return min(ons, complete_offs)


def upload_cycles(prom: Prometheus, target: str, since: float) -> int:
    """Completed upload cycles of `target`'s load generators since `since`."""
    series = prom.query_range(f'max(lab_client_large_uploads_enabled{{target="{target}"}})', since, time.time(), 1)
    if not series:
        return 0
    return count_cycles([v for _, v in finite_points(series[0])])


def split_by_phase(by_le: dict[float, dict[float, float]], enabled_at: dict[float, float],
                   in_flight_at: dict[float, float]) -> dict:
    """The pure part of `split_small_latency`: `by_le` maps each bucket bound to its cumulative
    count by timestamp; `enabled_at` and `in_flight_at` are the uploads-enabled gauge and the
    large requests in flight by timestamp.

    Each step's increase of every bucket goes to "burst" if uploads were on at either end of
    the step or still in flight, to "quiet" if they were off and none had been in flight for
    SETTLE_STEPS steps, and nowhere otherwise (the edges, and counter resets)."""
    times = sorted(set.intersection(*(set(points) for points in by_le.values())))
    uploads = [enabled_at.get(t, 0.0) >= 0.5 for t in times]
    flying = [in_flight_at.get(t, 0.0) > 0 for t in times]

    phases = {"burst": {le: 0.0 for le in by_le}, "quiet": {le: 0.0 for le in by_le}}
    steps = {"burst": 0, "quiet": 0, "edge": 0}
    for index in range(1, len(times)):
        window = slice(max(0, index - SETTLE_STEPS), index + 1)
        if uploads[index] or uploads[index - 1] or flying[index]:
            phase = "burst"
        elif not any(uploads[window] + flying[window]):
            phase = "quiet"
        else:
            steps["edge"] += 1
            continue
        previous, current = times[index - 1], times[index]
        increases = {le: by_le[le][current] - by_le[le][previous] for le in by_le}
        if any(value < 0 for value in increases.values()):
            steps["edge"] += 1  # a counter reset (container restart): skip this step
            continue
        steps[phase] += 1
        for le, value in increases.items():
            phases[phase][le] += value

    return {
        "steps": steps,
        "burst_count": histogram.count(phases["burst"]),
        "quiet_count": histogram.count(phases["quiet"]),
        "burst_p95_ms": histogram.quantile(0.95, phases["burst"]) * 1000,
        "quiet_p95_ms": histogram.quantile(0.95, phases["quiet"]) * 1000,
        "burst_p50_ms": histogram.quantile(0.50, phases["burst"]) * 1000,
        "quiet_p50_ms": histogram.quantile(0.50, phases["quiet"]) * 1000,
    }


def split_small_latency(prom: Prometheus, target: str, start: float, end: float) -> dict:
    """Small-request p95 while 25 MB uploads run vs between bursts, from the client histogram of
    one target (its own loadgen's uploads decide the phases), over [start, end]: the steps of
    each phase, the small requests in each, and their p50 and p95 in ms (`split_by_phase`)."""
    step = 1.0
    only = f'target="{target}"'
    buckets = prom.query_range(
        f'sum by (le) (lab_client_request_duration_seconds_bucket{{class="small", {only}}})', start, end, step)
    enabled = prom.query_range(f"max(lab_client_large_uploads_enabled{{{only}}})", start, end, step)
    in_flight = prom.query_range(f'sum(lab_client_requests_in_flight{{class="large", {only}}})', start, end, step)
    if not buckets or not enabled or not in_flight:
        raise CheckFailed(f"{target}: small-request buckets, uploads-enabled or in-flight series missing")
    return split_by_phase(
        {histogram.parse_le(s["metric"]["le"]): dict(finite_points(s)) for s in buckets},
        dict(finite_points(enabled[0])),
        dict(finite_points(in_flight[0])),
    )
