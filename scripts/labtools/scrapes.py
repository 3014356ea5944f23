"""What Prometheus says about its own scrapes of the lab: whether it is ready, how many targets
of a job it scrapes right now, and the share of scrapes that succeeded over a window. Every
load generator replica is a target of its own (found by DNS), so these count replicas too."""

from __future__ import annotations

from .prometheus import Prometheus, wait_for


def wait_until_ready(prom: Prometheus, timeout: float = 90) -> None:
    """Until Prometheus's /-/ready answers 200 (it has loaded its configuration and its TSDB)."""
    wait_for("Prometheus ready", prom.ready, timeout=timeout)


def targets_up(prom: Prometheus, job: str) -> int:
    """How many targets of `job` the last scrape reached (0 when there is none)."""
    return int(prom.scalar(f'count(up{{job="{job}"}} == 1)') or 0)


def scrape_success(prom: Prometheus, jobs: list[str], window: str,
                   at: float | None = None) -> dict[tuple[str, str], float]:
    """(job, instance) -> the share of its scrapes that succeeded over `window` (up's average),
    for every target of `jobs` Prometheus scraped in that window, in Prometheus's order."""
    selector = "|".join(jobs)
    return {
        (series["metric"]["job"], series["metric"].get("instance", "")): float(series["value"][1])
        for series in prom.query(f'avg_over_time(up{{job=~"{selector}"}}[{window}])', at=at)
    }
