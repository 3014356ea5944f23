"""Run Docker Compose the same way on machines with `docker compose` (v2 plugin) or only the
older `docker-compose` (v1.29), and read the lab's .env defaults."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .paths import REPO_ROOT


def compose_command() -> list[str]:
    """`docker compose` if the plugin answers, else `docker-compose`."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor `docker-compose` is installed")


def read_env_file(path: Path = REPO_ROOT / ".env") -> dict[str, str]:
    """KEY=VALUE lines of a compose .env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values
