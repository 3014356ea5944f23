"""A small client for Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/)."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request


class PrometheusError(RuntimeError):
    """The API answered with an error, or could not be reached."""


class Prometheus:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict | None = None) -> dict:
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise PrometheusError(f"{path}: HTTP {error.code}: {detail}") from error
        except (urllib.error.URLError, OSError) as error:
            raise PrometheusError(f"{path}: {error}") from error
        if body.get("status") != "success":
            raise PrometheusError(f"{path}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/-/ready", timeout=self.timeout) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._get("/api/v1/query", params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._get("/api/v1/query_range", params)["result"]

    def targets(self) -> list[dict]:
        return self._get("/api/v1/targets", {"state": "active"})["activeTargets"]

    def scalar(self, expr: str) -> float | None:
        """The value of a query that returns one series, or None if it returns nothing."""
        result = self.query(expr)
        if not result:
            return None
        return float(result[0]["value"][1])


def finite_points(series: dict) -> list[tuple[float, float]]:
    """(timestamp, value) pairs of a range-query series, NaN and infinities dropped."""
    points = []
    for timestamp, text in series.get("values", []):
        value = float(text)
        if math.isfinite(value):
            points.append((float(timestamp), value))
    return points


def wait_for(what: str, check, timeout: float, poll: float = 1.0):
    """Call `check()` until it returns something truthy; raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (PrometheusError, OSError) as error:
            last_error = error
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}"
                       + (f" (last error: {last_error})" if last_error else ""))
