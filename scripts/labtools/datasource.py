"""Grafana's datasource, checked without Grafana: the URL in its provisioning file must answer
PromQL from inside the network that Grafana would run in (the compose project's, the swarm
stack's). Grafana cannot run here, so a one-off container on that network asks instead, with
bash's /dev/tcp (the stand-in images have bash, and no curl)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from .checks import CheckFailed
from .paths import REPO_ROOT

PROVISIONING = REPO_ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"


def datasource_address(provisioning: str | None = None) -> tuple[str, str]:
    """Host and port of the provisioned datasource's `url: http://host:port`."""
    text = PROVISIONING.read_text() if provisioning is None else provisioning
    match = re.search(r"^\s*url:\s*http://([\w.-]+):(\d+)\s*$", text, flags=re.M)
    if not match:
        raise CheckFailed("no http://host:port url in the datasource provisioning file")
    host, port = match.groups()
    return host, port


def promql_probe(host: str, port: str, query: str) -> str:
    """A bash script that sends `GET /api/v1/query?query=<query>` to host:port over HTTP/1.0
    and prints the whole answer, status line first."""
    return (
        f"exec 3<>/dev/tcp/{host}/{port} && "
        f"printf 'GET /api/v1/query?query={query} HTTP/1.0\\r\\nHost: {host}\\r\\n\\r\\n' >&3 && "
        "cat <&3"
    )


def check_datasource_answers(run_in_network: Callable[[str], subprocess.CompletedProcess], query: str,
                             network: str) -> str:
    """Run the probe through `run_in_network(script)` (a one-off container on `network`, which
    names it in the error) and require a 200 with `"status":"success"`; returns the URL."""
    host, port = datasource_address()
    url = f"http://{host}:{port}"
    result = run_in_network(promql_probe(host, port, query))
    lines = result.stdout.splitlines()
    answered = result.returncode == 0 and lines and " 200 " in lines[0]
    if not answered or '"status":"success"' not in result.stdout:
        raise CheckFailed(f"datasource url {url} did not answer from {network}: "
                          f"{result.stdout[:300]} {result.stderr[:300]}")
    return url
