"""docker-compose.yml, its CI override, .env, prometheus.yml, the Grafana provisioning files and
the Dockerfiles agree with each other and with what the README promises users."""

import math
import re
import shutil
import subprocess

import pytest
import yaml

from labtools import histogram
from labtools.compose import read_env_file


def services(compose_file):
    return compose_file["services"]


def test_the_override_only_swaps_images(repo):
    override = yaml.safe_load((repo / "docker-compose.local.yml").read_text())
    assert set(override) == {"services"}
    for name, service in override["services"].items():
        assert set(service) == {"image"}, f"{name} sets more than its image: {set(service)}"
        assert service["image"].startswith("lab-local/")


def test_user_facing_images_are_official_and_pinned(compose_file, repo):
    images = {name: s.get("image") for name, s in services(compose_file).items()}
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", images["prometheus"])
    assert re.fullmatch(r"grafana/grafana-oss:\d+\.\d+\.\d+", images["grafana"])
    dockerfile = (repo / "Dockerfile").read_text()
    bases = dict(re.findall(r"^ARG (RUST_IMAGE|RUNTIME_IMAGE)=(\S+)", dockerfile, flags=re.M))
    assert re.fullmatch(r"rust:\d+\.\d+-bookworm", bases["RUST_IMAGE"])
    assert bases["RUNTIME_IMAGE"] == "debian:bookworm-slim"
    froms = re.findall(r"^FROM (\S+)", dockerfile, flags=re.M)
    assert froms[0] == "${RUST_IMAGE}" and "${RUNTIME_IMAGE}" in froms


def test_dockerfile_caches_dependencies_apart_from_sources_with_the_lock_file(repo):
    dockerfile = (repo / "Dockerfile").read_text()
    cook = dockerfile.index("cargo chef cook --release --locked")
    sources = dockerfile.index("COPY . .", cook)
    build = dockerfile.index("cargo build --release --locked", sources)
    assert cook < sources < build


def runtime_stage(text: str) -> list[str]:
    """The instructions that define the runtime layout (user, paths, ports, command)."""
    keep = ("RUN useradd", "USER", "WORKDIR", "EXPOSE", "ENV", "CMD", "    && mkdir")
    return [line.strip() for line in text.splitlines() if line.startswith(keep)]


def test_the_local_runtime_stand_in_matches_the_dockerfile_runtime_stage(repo):
    dockerfile = (repo / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.index("AS runtime"):]
    local = (repo / "docker/runtime-local.Dockerfile").read_text()
    assert runtime_stage(runtime) == runtime_stage(local)
    assert "USER lab" in runtime_stage(runtime)


def test_host_ports_are_bound_to_loopback(compose_file):
    for name, service in services(compose_file).items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port}"


def test_workers_and_other_knobs_come_from_the_environment(compose_file):
    server = services(compose_file)["server"]["environment"]
    assert server["WORKERS"] == "${WORKERS:-1}"
    loadgen = services(compose_file)["loadgen"]["environment"]
    assert loadgen["TARGET_URL"] == "http://server:8000"
    assert loadgen["METRICS_BIND"] == "0.0.0.0:9100"
    assert loadgen["DURATION"] == "${DURATION:-0}"
    assert loadgen["RESULTS_DIR"] == "/results"
    assert "./results:/results" in services(compose_file)["loadgen"]["volumes"]


def test_env_file_documents_every_variable_with_the_same_default(repo):
    text = (repo / "docker-compose.yml").read_text()
    env = read_env_file(repo / ".env")
    documented = set(env) | set(re.findall(r"^# ([A-Z_]+)=", (repo / ".env").read_text(), flags=re.M))
    for name, default in re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", text):
        assert name in env, f"{name} is not in .env"
        if name not in ("LAB_UID", "LAB_GID"):
            assert env[name] == default, f"{name}: .env says {env[name]}, compose defaults to {default}"
    for name in re.findall(r"^      ([A-Z_]+):\s*$", text, flags=re.M):
        assert name in documented, f"pass-through {name} is not documented in .env"


def test_large_uploads_cycle_on_and_off_by_default(repo):
    env = read_env_file(repo / ".env")
    assert float(env["LARGE_ON"]) > 0 and float(env["LARGE_OFF"]) > 0


def test_loadgen_waits_for_a_healthy_server_and_grafana_for_prometheus(compose_file):
    assert services(compose_file)["loadgen"]["depends_on"] == {"server": {"condition": "service_healthy"}}
    assert services(compose_file)["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    health = " ".join(services(compose_file)["server"]["healthcheck"]["test"])
    assert "/dev/tcp/127.0.0.1/8000" in health and "/healthz" in health


def test_grafana_is_anonymous_viewer_only_with_the_admin_password_from_env(compose_file):
    env = services(compose_file)["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD")
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"


def test_datasource_points_at_the_prometheus_service_with_the_scrape_interval(
        datasource_file, prometheus_config, compose_file):
    (datasource,) = datasource_file["datasources"]
    assert datasource["uid"] == "lab-prometheus" and datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert "prometheus" in services(compose_file)
    assert datasource["jsonData"]["timeInterval"] == prometheus_config["global"]["scrape_interval"] == "1s"


def test_dashboard_provider_reads_the_mounted_dashboards_folder(repo, compose_file):
    provider = yaml.safe_load((repo / "grafana/provisioning/dashboards/large-request-lab.yml").read_text())
    (entry,) = provider["providers"]
    mounts = services(compose_file)["grafana"]["volumes"]
    assert f"./grafana/dashboards:{entry['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


def test_prometheus_scrapes_both_services_every_second(prometheus_config, compose_file):
    assert prometheus_config["global"]["scrape_interval"] == "1s"
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus_config["scrape_configs"]}
    assert targets == {"lab-server": ["server:8000"], "lab-loadgen": ["loadgen:9100"]}
    assert {"server", "loadgen"} <= set(services(compose_file))


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_accepts_prometheus_yml(repo):
    result = subprocess.run(["promtool", "check", "config", str(repo / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None and shutil.which("docker") is None,
                    reason="no docker compose")
def test_compose_accepts_the_file_alone_and_with_the_override(repo):
    from labtools.compose import compose_command

    base = compose_command() + ["-f", "docker-compose.yml"]
    for extra in ([], ["-f", "docker-compose.local.yml"]):
        result = subprocess.run(base + extra + ["config", "-q"], cwd=repo, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_histogram_quantile_interpolates_inside_the_bucket_like_promql():
    buckets = {0.1: 50.0, 0.2: 90.0, 0.4: 100.0, float("inf"): 100.0}
    assert histogram.quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram.quantile(0.7, buckets) == pytest.approx(0.15)
    assert histogram.quantile(0.95, buckets) == pytest.approx(0.3)
    assert histogram.count(buckets) == 100.0
    assert math.isnan(histogram.quantile(0.95, {0.1: 0.0, float("inf"): 0.0}))
    # A rank in the +Inf bucket reads as the last finite bound, as in Prometheus.
    assert histogram.quantile(0.99, {0.1: 50.0, float("inf"): 100.0}) == 0.1
