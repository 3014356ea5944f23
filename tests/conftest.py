"""Shared fixtures for the lab's Python tests: the repository root and scripts/ on sys.path.

tests/ itself is on sys.path as this file's directory (pytest's default `prepend` import mode
puts it there), so every test imports the contract as `labcontract` (tests/labcontract.py)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def compose_file(repo) -> dict:
    import yaml  # here, not at the top: tests/docs needs nothing but pytest

    return yaml.safe_load((repo / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def dashboard_json() -> dict:
    from labtools.dashboard import load_dashboard

    return load_dashboard()


@pytest.fixture(scope="session")
def datasource_file(repo) -> dict:
    import yaml

    return yaml.safe_load((repo / "grafana/provisioning/datasources/prometheus.yml").read_text())


@pytest.fixture(scope="session")
def prometheus_config(repo) -> dict:
    import yaml

    return yaml.safe_load((repo / "prometheus.yml").read_text())
