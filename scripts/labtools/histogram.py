"""Quantiles from cumulative histogram buckets, computed the way PromQL's histogram_quantile
does: find the bucket holding the rank, interpolate linearly inside it."""

from __future__ import annotations

import math


def parse_le(text: str) -> float:
    return math.inf if text in ("+Inf", "Inf", "inf") else float(text)


def quantile(q: float, buckets: dict[float, float]) -> float:
    """`buckets` maps each upper bound (le, +Inf included) to a cumulative count.

    Returns NaN when the histogram holds no observations.
    """
    if not buckets:
        return math.nan
    bounds = sorted(buckets)
    counts = [buckets[bound] for bound in bounds]
    # Cumulative counts must not decrease (they can, slightly, with scrape races): fix up.
    for index in range(1, len(counts)):
        counts[index] = max(counts[index], counts[index - 1])
    total = counts[-1]
    if total <= 0:
        return math.nan
    rank = q * total
    for index, bound in enumerate(bounds):
        if counts[index] >= rank:
            if math.isinf(bound):
                # Like Prometheus: the quantile lies in the +Inf bucket -> the last finite bound.
                return bounds[index - 1] if index > 0 else math.nan
            lower_bound = bounds[index - 1] if index > 0 else 0.0
            lower_count = counts[index - 1] if index > 0 else 0.0
            in_bucket = counts[index] - lower_count
            if in_bucket <= 0:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket
    return bounds[-1]


def count(buckets: dict[float, float]) -> float:
    """Number of observations: the +Inf bucket (the largest bound's count)."""
    return buckets[max(buckets)] if buckets else 0.0
