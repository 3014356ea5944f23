"""A server's `/healthz`: lab-server and the FastAPI server both answer it with lab-core's
health body (settings, workers, endpoints, start id)."""

from __future__ import annotations

import json
import urllib.request


def healthz(server_url: str, timeout: float = 5.0) -> dict:
    """GET `<server_url>/healthz`, its JSON body; an unreachable server or an error status
    raises (urllib's URLError/HTTPError, both OSError, which `prometheus.wait_for` retries)."""
    with urllib.request.urlopen(server_url + "/healthz", timeout=timeout) as response:
        return json.load(response)
