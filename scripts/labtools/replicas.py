"""Several load generators (`--scale loadgen=N`, the swarm's replicas) as one workload: each
writes its own run directory, `<run-id>-replica-<id>` (`<id>`: the container's id in Compose,
the task's slot in a swarm), followed by `-2`, `-3`… for the runs a server change started;
and Prometheus holds one histogram per replica, which the dashboard sums bucket by bucket
before it takes a quantile (an average of the replicas' quantiles would not be one)."""

from __future__ import annotations

import re

from .prometheus import Prometheus


def replica_of(run_dir_name: str, run_id: str) -> str | None:
    """The replica id in `<run-id>-replica-<id>` or `<run-id>-replica-<id>-<n>`; None for a
    name of another shape."""
    match = re.fullmatch(re.escape(run_id) + r"-replica-([^-]+)(?:-\d+)?", run_dir_name)
    return match.group(1) if match else None


def small_p95_expr(window: str, target: str | None = None) -> str:
    """PromQL: the small-request p95 over every replica (of one `target`, or of all), their
    histogram buckets summed, over the last `window`."""
    only = f', target="{target}"' if target else ""
    return ('histogram_quantile(0.95, sum by (le) '
            f'(rate(lab_client_request_duration_seconds_bucket{{class="small"{only}}}[{window}])))')


def small_p95_over_replicas(prom: Prometheus, window: str, target: str | None = None) -> float | None:
    """The value of `small_p95_expr` now, in seconds (None before any sample; NaN with no
    small request in the window)."""
    return prom.scalar(small_p95_expr(window, target))
