"""docker-compose.yml, its CI override, .env, prometheus.yml, the Grafana provisioning files and
the Dockerfiles agree with each other and with what the README promises users."""

import math
import re
import shutil
import subprocess

import pytest
import yaml

from labcontract import CONTRACT
from labtools import histogram
from labtools.compose import read_env_file


def services(compose_file):
    return compose_file["services"]


def test_the_override_only_swaps_images(repo, compose_file):
    override = yaml.safe_load((repo / "docker-compose.local.yml").read_text())
    assert set(override) == {"services"}
    for name, service in override["services"].items():
        assert set(service) == {"image"}, f"{name} sets more than its image: {set(service)}"
        assert service["image"].startswith("lab-local/")
    # Every service the e2e starts, the fastapi profile's included (Grafana cannot run here).
    assert set(override["services"]) == set(services(compose_file)) - {"grafana"}
    assert override["services"]["loadgen-fastapi"]["image"] == override["services"]["loadgen"]["image"]


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


def test_the_local_runtime_stand_in_holds_the_dockerfile_binaries(repo):
    """The binaries the Dockerfile builds and its runtime stage copies are the ones the e2e
    builds on the host (labtools.images), docker/build-local-images.sh copies and the stand-in
    holds: a binary added to the image is run by the e2e too (lab-probe, from the compose
    network)."""
    from labtools.images import RUNTIME_BINARIES

    dockerfile = (repo / "Dockerfile").read_text()
    built = re.findall(r"--bin (\S+)", dockerfile[dockerfile.index("cargo build --release"):])
    copied = re.findall(r"/out/(\S+)", dockerfile[dockerfile.index("COPY --from=builder /out/"):])
    local = (repo / "docker/runtime-local.Dockerfile").read_text()
    (stand_in,) = re.findall(r"^COPY ((?:lab-\S+ )+)/usr/local/bin/$", local, flags=re.M)
    script = (repo / "docker/build-local-images.sh").read_text()
    (listed,) = re.findall(r"^runtime_binaries=\(([^)]*)\)$", script, flags=re.M)
    assert "lab-probe" in RUNTIME_BINARIES
    assert built == copied == stand_in.split() == listed.split() == RUNTIME_BINARIES


def test_host_ports_are_bound_to_loopback(compose_file):
    for name, service in services(compose_file).items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port}"
    published = []
    for service in services(compose_file).values():
        for port in service.get("ports", []):
            # 127.0.0.1:${NAME:-8000}:8000 or a range, 127.0.0.1:${NAME:-9100-9104}:9100
            first, last = re.fullmatch(r"127\.0\.0\.1:\$\{[A-Z_]+:-(\d+)(?:-(\d+))?\}:\d+", port).groups()
            published += list(range(int(first), int(last or first) + 1))
    assert len(published) == len(set(published)), f"two services publish one host port: {published}"


def test_scaled_load_generators_each_get_a_host_port_of_their_own(compose_file):
    """`--scale loadgen=3`: a range of host ports, one per replica, never a single port."""
    for name in ("loadgen", "loadgen-fastapi"):
        (port,) = services(compose_file)[name]["ports"]
        assert re.fullmatch(r"127\.0\.0\.1:\$\{[A-Z_]+:-\d+-\d+\}:9100", port), f"{name}: {port}"


def test_workers_and_other_knobs_come_from_the_environment(compose_file):
    server = services(compose_file)["server"]["environment"]
    assert server["WORKERS"] == "${WORKERS:-1}"
    loadgen = services(compose_file)["loadgen"]["environment"]
    assert loadgen["TARGET_URL"] == "http://server:8000"
    assert loadgen["METRICS_BIND"] == "0.0.0.0:9100"
    assert loadgen["DURATION"] == "${DURATION:-0}"
    assert loadgen["RESULTS_DIR"] == "/results"
    assert "./results:/results" in services(compose_file)["loadgen"]["volumes"]


def test_the_loadgen_writes_results_as_the_owner_of_the_results_folder(compose_file, repo):
    """Root by default only to switch to the owner of /results; a fixed LAB_UID still wins."""
    loadgen = services(compose_file)["loadgen"]
    assert loadgen["user"] == "${LAB_UID:-0}:${LAB_GID:-0}"
    assert loadgen["environment"]["RUN_AS_RESULTS_OWNER"] == "true"
    assert loadgen["environment"]["REPLICA"] == "@hostname"
    # ./results comes with the repository, so a clone's ./results belongs to whoever cloned it.
    assert (repo / "results/README.md").is_file()


def test_env_file_documents_every_variable_with_the_same_default(repo):
    text = (repo / "docker-compose.yml").read_text()
    env = read_env_file(repo / ".env")
    documented = set(env) | set(re.findall(r"^# ([A-Z_]+)=", (repo / ".env").read_text(), flags=re.M))
    for name, default in re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", text):
        if name in ("LAB_UID", "LAB_GID"):
            assert name in documented, f"{name} is not in .env"
            continue
        assert name in env, f"{name} is not in .env"
        assert env[name] == default, f"{name}: .env says {env[name]}, compose defaults to {default}"
    pass_through = re.findall(r"^\s+([A-Z_]+):\s*$", text, flags=re.M)
    assert {"EXTRA_CLASSES", "RUN_ID"} <= set(pass_through)
    for name in pass_through:
        assert name in documented, f"pass-through {name} is not documented in .env"


def test_large_uploads_cycle_on_and_off_by_default(repo):
    env = read_env_file(repo / ".env")
    assert float(env["LARGE_ON"]) > 0 and float(env["LARGE_OFF"]) > 0


def test_loadgen_waits_for_a_healthy_server_and_grafana_for_prometheus(compose_file):
    assert services(compose_file)["loadgen"]["depends_on"] == {"server": {"condition": "service_healthy"}}
    assert services(compose_file)["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    health = " ".join(services(compose_file)["server"]["healthcheck"]["test"])
    assert "/dev/tcp/127.0.0.1/8000" in health and CONTRACT.http.health_path in health


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


def test_prometheus_scrapes_the_lab_services_every_second(prometheus_config, compose_file):
    assert prometheus_config["global"]["scrape_interval"] == "1s"
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    static = {name: job["static_configs"][0]["targets"] for name, job in jobs.items() if "static_configs" in job}
    assert static == {"lab-server": ["server:8000"]}
    assert {"server", "loadgen"} <= set(services(compose_file))


def job_target_label(job: dict) -> str:
    """The `target` label a scrape job gives its series: a static label, or set by relabelling."""
    labels = {config.get("labels", {}).get("target") for config in job.get("static_configs", [])}
    for rule in job.get("relabel_configs", []):
        if rule.get("target_label") == "target" and not rule.get("source_labels"):
            labels.add(rule["replacement"])
    labels.discard(None)
    assert len(labels) == 1, f"{job['job_name']}: target labels {labels}"
    return labels.pop()


def test_every_scrape_job_carries_the_target_it_measures(prometheus_config):
    """Servers and their load generators alike: `actix` for lab-server, `fastapi` for FastAPI."""
    targets = {job["job_name"]: job_target_label(job) for job in prometheus_config["scrape_configs"]}
    assert targets == {"lab-server": "actix", "lab-loadgen": "actix",
                       "fastapi": "fastapi", "loadgen-fastapi": "fastapi"}


def test_the_load_generators_and_fastapi_are_found_by_dns(prometheus_config, compose_file):
    """Found by DNS (the compose service names, on their container ports): a scaled service's
    name resolves to every replica, and without the profile the fastapi names do not resolve
    and those jobs have no targets, instead of targets shown down."""
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    for job_name, service, port in [("fastapi", "fastapi", 8000), ("loadgen-fastapi", "loadgen-fastapi", 9100),
                                    ("lab-loadgen", "loadgen", 9100)]:
        (dns,) = jobs[job_name]["dns_sd_configs"]
        assert dns["names"] == [service] and dns["type"] == "A" and dns["port"] == port
        assert "static_configs" not in jobs[job_name]
        if service != "loadgen":
            assert services(compose_file)[service]["profiles"] == ["fastapi"]
        published = services(compose_file)[service]["ports"][0]
        assert published.endswith(f":{port}"), f"{service} does not listen on {port}: {published}"


# --- the fastapi profile ------------------------------------------------------------------


def test_the_fastapi_profile_adds_two_services_and_nothing_else(compose_file):
    profiled = {name: s["profiles"] for name, s in services(compose_file).items() if "profiles" in s}
    assert profiled == {"fastapi": ["fastapi"], "loadgen-fastapi": ["fastapi"]}
    # Without the profile the lab is what it was: these four, none depending on the profile.
    default = {name for name, s in services(compose_file).items() if "profiles" not in s}
    assert default == {"server", "loadgen", "prometheus", "grafana"}
    for name in default:
        assert not set(services(compose_file)[name].get("depends_on", {})) & set(profiled), name


def test_the_fastapi_server_is_built_from_its_dockerfile_and_checked_without_curl(compose_file, repo):
    fastapi = services(compose_file)["fastapi"]
    assert fastapi["build"] == {"context": "services/fastapi", "dockerfile": "Dockerfile"}
    assert (repo / "services/fastapi/Dockerfile").is_file()
    assert fastapi["image"] == "large-request-lab-fastapi:local"
    assert fastapi["environment"]["BIND"] == "0.0.0.0:8000"
    assert fastapi["environment"]["WORKERS"] == "${FASTAPI_WORKERS:-1}"
    assert fastapi["ports"] == ["127.0.0.1:${FASTAPI_PORT:-8001}:8000"]
    health = fastapi["healthcheck"]["test"]
    assert health[:2] == ["CMD", "python"] and f"http://127.0.0.1:8000{CONTRACT.http.health_path}" in health[-1]
    assert "curl" not in " ".join(health)


def test_both_servers_share_their_settings_through_one_anchor(compose_file, repo):
    server = services(compose_file)["server"]["environment"]
    fastapi = services(compose_file)["fastapi"]["environment"]
    shared = {"KEEP_ALIVE", "MAX_BODY_MB", "BLOCKING_THREADS", "OFFLOAD_MIN_KB"}
    assert {k: server[k] for k in shared} == {k: fastapi[k] for k in shared}
    text = (repo / "docker-compose.yml").read_text()
    assert text.count("<<: *server-settings") == 2


def test_both_loadgens_run_one_workload_from_one_anchor(compose_file, repo):
    """The same workload, merged from one anchor so it cannot drift; only the target and the
    results folder differ (its own subfolder: the run folders are named alike)."""
    loadgen = services(compose_file)["loadgen"]
    fastapi = services(compose_file)["loadgen-fastapi"]
    text = (repo / "docker-compose.yml").read_text()
    assert text.count("<<: *workload") == 2 and text.count("<<: *loadgen") == 2
    differ = {k for k in set(loadgen["environment"]) | set(fastapi["environment"])
              if loadgen["environment"].get(k) != fastapi["environment"].get(k)}
    assert differ == {"TARGET_URL", "RESULTS_DIR"}
    assert fastapi["environment"]["TARGET_URL"] == "http://fastapi:8000"
    assert fastapi["environment"]["RESULTS_DIR"].startswith(loadgen["environment"]["RESULTS_DIR"] + "/")
    assert fastapi["environment"]["METRICS_BIND"] == "0.0.0.0:9100"
    assert fastapi["depends_on"] == {"fastapi": {"condition": "service_healthy"}}
    for key in ("image", "build", "command", "user", "volumes", "stop_grace_period"):
        assert fastapi[key] == loadgen[key], key
    assert fastapi["ports"] == ["127.0.0.1:${LOADGEN_FASTAPI_METRICS_PORTS:-9105-9109}:9100"]


def dockerfile_instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined and spaces collapsed."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def test_the_local_fastapi_stand_in_matches_the_fastapi_dockerfile(repo):
    """Same user, paths, port, environment, healthcheck and command; only the base and where the
    packages come from differ (Debian's python3 and pre-downloaded wheels)."""
    keep = ("RUN useradd", "USER", "WORKDIR", "EXPOSE", "ENV PYTHON", "ENV BIND", "HEALTHCHECK", "CMD",
            "COPY requirements.txt", "COPY labfastapi")
    real = [i for i in dockerfile_instructions((repo / "services/fastapi/Dockerfile").read_text()) if i.startswith(keep)]
    local_text = (repo / "docker/fastapi-local.Dockerfile").read_text()
    local = [i for i in dockerfile_instructions(local_text) if i.startswith(keep)]
    assert real == local
    assert "pip install --no-index --find-links" in local_text and "requirements.txt" in local_text


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
        for profile in ([], ["--profile", "fastapi"]):
            result = subprocess.run(base + extra + profile + ["config", "-q"], cwd=repo,
                                    capture_output=True, text=True)
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
