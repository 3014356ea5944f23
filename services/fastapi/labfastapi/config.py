"""The settings, read from environment variables with lab-server's names and defaults.

| Env var                 | Default        | What it does                                              |
|-------------------------|----------------|-----------------------------------------------------------|
| `BIND`                  | `0.0.0.0:8000` | host:port to listen on; port 0 picks a free port          |
| `WORKERS`               | `1`            | worker processes, one event loop each                     |
| `KEEP_ALIVE`            | `5`            | keep-alive in seconds (uvicorn's default); 0 = off        |
| `MAX_BODY_MB`           | `64`           | largest body accepted, in MiB (413 above)                 |
| `LAG_PROBE_INTERVAL_MS` | `10`           | how often each worker's lag probe wakes                   |
| `BLOCKING_THREADS`      | `2`            | threads /offload may use in each worker                   |
| `OFFLOAD_MIN_KB`        | `64`           | /offload sends bodies of at least this many KiB to a thread |
| `SHUTDOWN_TIMEOUT`      | `30`           | seconds in-flight requests get after SIGTERM              |
| `BODY_BUDGET_MB`        | `2048`         | MiB that bodies and their parses may hold, all workers together (each worker gets an equal share: budget.py); 503 past it |
| `BODY_IDLE_TIMEOUT`     | `30`           | seconds an upload may go without a body byte (408 past it); 0 = no limit; also the grace before BODY_MIN_RATE_KB applies |
| `BODY_MIN_RATE_KB`      | `8`            | slowest average upload rate accepted, KiB/s from the request head on, after the grace (408 below it); 0 = no minimum |
| `SERVER`                | `uvicorn`      | `uvicorn` (its own supervisor) or `gunicorn` (uvicorn workers) |

A bad value is a `ConfigError` whose message names the variable; the launcher prints it and
exits with status 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

#: The two process managers the study ran FastAPI under.
SERVERS = ("uvicorn", "gunicorn")


class ConfigError(ValueError):
    """An environment variable holds a value the server cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Everything the launcher and the app read from the environment."""

    host: str = "0.0.0.0"
    port: int = 8000
    workers: int = 1
    keep_alive: int = 5
    max_body_mb: int = 64
    lag_probe_interval_ms: int = 10
    blocking_threads: int = 2
    offload_min_kb: int = 64
    shutdown_timeout: int = 30
    body_budget_mb: int = 2048
    body_idle_timeout: int = 30
    body_min_rate_kb: int = 8
    server: str = "uvicorn"

    @property
    def max_body_bytes(self) -> int:
        """MAX_BODY_MB in bytes (MiB, as lab-server counts them)."""
        return self.max_body_mb * 1024 * 1024

    @property
    def body_budget_bytes_per_worker(self) -> int:
        """This worker's share of BODY_BUDGET_MB in bytes: the budget split evenly between the
        WORKERS processes (see budget.py for why it is not one shared counter)."""
        return self.body_budget_mb * 1024 * 1024 // self.workers

    @property
    def body_min_rate_bytes(self) -> int:
        """BODY_MIN_RATE_KB in bytes per second (KiB, as lab-server counts them)."""
        return self.body_min_rate_kb * 1024

    @property
    def offload_min_bytes(self) -> int:
        """OFFLOAD_MIN_KB in bytes."""
        return self.offload_min_kb * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Reads every setting from `env` (default: `os.environ`); raises `ConfigError`."""
        env = os.environ if env is None else env
        host, port = _bind(env.get("BIND", "0.0.0.0:8000"))
        server = env.get("SERVER", "uvicorn").strip().lower()
        if server not in SERVERS:
            raise ConfigError(f"SERVER must be one of {', '.join(SERVERS)}, not {server!r}")
        return cls(
            host=host,
            port=port,
            workers=_integer(env, "WORKERS", 1, 1, 256),
            keep_alive=_integer(env, "KEEP_ALIVE", 5, 0, 86_400),
            max_body_mb=_integer(env, "MAX_BODY_MB", 64, 1, 4096),
            lag_probe_interval_ms=_integer(env, "LAG_PROBE_INTERVAL_MS", 10, 1, 10_000),
            blocking_threads=_integer(env, "BLOCKING_THREADS", 2, 1, 1024),
            offload_min_kb=_integer(env, "OFFLOAD_MIN_KB", 64, 0, 1_048_576),
            shutdown_timeout=_integer(env, "SHUTDOWN_TIMEOUT", 30, 0, 86_400),
            body_budget_mb=_integer(env, "BODY_BUDGET_MB", 2048, 1, 1_048_576),
            body_idle_timeout=_integer(env, "BODY_IDLE_TIMEOUT", 30, 0, 86_400),
            body_min_rate_kb=_integer(env, "BODY_MIN_RATE_KB", 8, 0, 1_048_576),
            server=server,
        )


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """`env[name]` as an integer in `low..=high`, or `default` when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _bind(raw: str) -> tuple[str, int]:
    """Splits BIND into host and port (`[::1]:8000` for IPv6)."""
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host:
        raise ConfigError(f"BIND must be host:port, not {raw!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        number = int(port, 10)
    except ValueError:
        raise ConfigError(f"BIND's port must be an integer, not {port!r}") from None
    if not 0 <= number <= 65_535:
        raise ConfigError(f"BIND's port must be between 0 and 65535, not {number}")
    return host, number
