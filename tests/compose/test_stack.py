"""docker-stack.yml (the Swarm stack) runs docker-compose.yml's lab: the same images, commands,
environment, server settings, workload, healthchecks, prometheus.yml and Grafana files; it
differs only where a swarm needs it to (placement, dnsrr, configs, host-mode ports, a results
volume, the replica's name). Its CI override only swaps images and keeps Grafana off, and
deploy/prometheus-hosts.yml (the lab on hosts without Docker) keeps prometheus.yml's jobs."""

import re
import shutil
import subprocess

import pytest
import yaml

from labtools.compose import read_env_file

#: The services of the stack: compose's, without the fastapi profile.
STACK_SERVICES = {"server", "loadgen", "prometheus", "grafana"}
#: Each service's node label (docs/multi-host.md tells how to label nodes).
PLACEMENT = {
    "server": "node.labels.lab.server == true",
    "loadgen": "node.labels.lab.loadgen == true",
    "prometheus": "node.labels.lab.monitor == true",
    "grafana": "node.labels.lab.monitor == true",
}


@pytest.fixture(scope="module")
def stack(repo) -> dict:
    return yaml.safe_load((repo / "docker-stack.yml").read_text())


@pytest.fixture(scope="module")
def hosts_config(repo) -> dict:
    return yaml.safe_load((repo / "deploy/prometheus-hosts.yml").read_text())


def test_the_stack_runs_the_compose_lab_without_its_profile(stack, compose_file):
    default = {name for name, s in compose_file["services"].items() if "profiles" not in s}
    assert set(stack["services"]) == default == STACK_SERVICES


@pytest.mark.parametrize("name", sorted(STACK_SERVICES))
def test_same_image_command_user_healthcheck_and_stop_grace(stack, compose_file, name):
    ours, theirs = stack["services"][name], compose_file["services"][name]
    for key in ("image", "command", "user", "healthcheck", "stop_grace_period"):
        assert ours.get(key) == theirs.get(key), f"{name}.{key}"
    # What a swarm ignores or refuses is not in the stack.
    assert not {"build", "profiles", "depends_on"} & set(ours)


@pytest.mark.parametrize("name", sorted(STACK_SERVICES))
def test_same_environment_names_and_defaults(stack, compose_file, name):
    """The server settings, the workload and Grafana's settings, name for name and default
    for default; the loadgen's REPLICA is the task's slot instead of the container's name."""
    ours = dict(stack["services"][name].get("environment", {}))
    theirs = dict(compose_file["services"][name].get("environment", {}))
    if name == "loadgen":
        assert theirs.pop("REPLICA") == "@hostname"
        assert ours.pop("REPLICA") == "{{.Task.Slot}}"
    assert ours == theirs


def test_the_anchors_are_compose_s(repo):
    """Both files say their server settings and workload in the same anchors."""
    stack_text = (repo / "docker-stack.yml").read_text()
    assert stack_text.count("<<: *server-settings") == 1 and stack_text.count("<<: *workload") == 1


def test_every_variable_has_the_compose_default(repo):
    """docker stack deploy reads no .env: the stack's own defaults must be .env's."""
    stack_text = (repo / "docker-stack.yml").read_text()
    compose_defaults = dict(re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", (repo / "docker-compose.yml").read_text()))
    env = read_env_file(repo / ".env")
    for name, default in re.findall(r"\$\{([A-Z_]+):-([^}]*)\}", stack_text):
        if name == "LOADGEN_REPLICAS":  # the stack's own knob
            assert default == "1"
            continue
        if name in ("SERVER_PORT", "PROMETHEUS_PORT", "GRAFANA_PORT"):
            assert env[name] == default, name
            continue
        assert compose_defaults.get(name) == default, f"{name}: stack {default}, compose {compose_defaults.get(name)}"


def test_ports_are_published_in_host_mode_on_the_compose_ports(stack, compose_file):
    """Same container ports and the same host port variables as compose; host mode (dnsrr
    services cannot use the routing mesh). The loadgen's /metrics is not published: two
    replicas on one node would want the same host port."""
    for name in ("server", "prometheus", "grafana"):
        (port,) = stack["services"][name]["ports"]
        (compose_port,) = compose_file["services"][name]["ports"]
        variable, target = re.fullmatch(r"127\.0\.0\.1:(\$\{[A-Z_]+:-\d+\}):(\d+)", compose_port).groups()
        assert port == {"target": int(target), "published": variable, "protocol": "tcp", "mode": "host"}, name
    assert "ports" not in stack["services"]["loadgen"]


def test_every_service_is_dnsrr_and_placed_by_node_label(stack):
    for name, service in stack["services"].items():
        deploy = service["deploy"]
        assert deploy["endpoint_mode"] == "dnsrr", name
        assert deploy["placement"]["constraints"] == [PLACEMENT[name]], name
    loadgen = stack["services"]["loadgen"]["deploy"]
    assert loadgen["replicas"] == "${LOADGEN_REPLICAS:-1}"
    # A run that ended (DURATION) must not start again.
    assert loadgen["restart_policy"]["condition"] == "on-failure"


def test_the_loadgen_writes_into_a_results_volume_at_the_compose_path(stack, compose_file):
    (mount,) = stack["services"]["loadgen"]["volumes"]
    assert mount == "results:/results" and "./results:/results" in compose_file["services"]["loadgen"]["volumes"]
    assert stack["services"]["loadgen"]["environment"]["RESULTS_DIR"] == "/results"
    assert set(stack["volumes"]) == {"results"} | set(compose_file["volumes"])


def config_targets(stack: dict, service: str) -> dict[str, str]:
    """Container path -> repository file, for each swarm config a service mounts."""
    files = {name: config["file"].removeprefix("./") for name, config in stack["configs"].items()}
    return {entry["target"]: files[entry["source"]] for entry in stack["services"][service]["configs"]}


def compose_bind_mounts(compose_file: dict, service: str) -> dict[str, str]:
    """Repository path -> container path of a compose service's bind mounts."""
    mounts = {}
    for volume in compose_file["services"][service]["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[source.removeprefix("./")] = target
    return mounts


def test_prometheus_reads_the_same_prometheus_yml(stack, compose_file):
    binds = compose_bind_mounts(compose_file, "prometheus")
    assert config_targets(stack, "prometheus") == {binds["prometheus.yml"]: "prometheus.yml"}
    assert "prometheus-data:/prometheus" in stack["services"]["prometheus"]["volumes"]


def test_grafana_gets_every_provisioning_and_dashboard_file_where_compose_mounts_it(stack, compose_file, repo):
    """Compose mounts two folders; a swarm config is one file, so every file in them is a
    config, at its place under the folder's mount point. A file added to grafana/ must be
    added to the stack."""
    expected = {}
    for folder, target in compose_bind_mounts(compose_file, "grafana").items():
        for path in sorted((repo / folder).rglob("*")):
            if path.is_file():
                expected[f"{target}/{path.relative_to(repo / folder)}"] = str(path.relative_to(repo))
    assert config_targets(stack, "grafana") == expected
    assert "grafana-data:/var/lib/grafana" in stack["services"]["grafana"]["volumes"]


def test_every_config_file_exists_and_is_used(stack, repo):
    used = {entry["source"] for service in stack["services"].values() for entry in service.get("configs", [])}
    assert used == set(stack["configs"])
    for name, config in stack["configs"].items():
        assert (repo / config["file"]).is_file(), name


def test_the_local_override_only_swaps_images_and_keeps_grafana_off(repo, stack):
    override = yaml.safe_load((repo / "docker-stack.local.yml").read_text())
    compose_override = yaml.safe_load((repo / "docker-compose.local.yml").read_text())
    assert set(override) == {"version", "services"} and override["version"] == stack["version"]
    services = override["services"]
    assert services.pop("grafana") == {"deploy": {"replicas": 0}}
    assert set(services) == STACK_SERVICES - {"grafana"}
    for name, service in services.items():
        assert service == compose_override["services"][name], name


def test_the_stack_mentions_its_recipe(repo):
    assert "docs/multi-host.md" in (repo / "docker-stack.yml").read_text()
    page = (repo / "docs/multi-host.md").read_text()
    assert "LOADGEN_REPLICAS" in page and "lab-loadgen-merge" in page


def stack_config_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "stack", "config", "--help"], capture_output=True, text=True)
    return probe.returncode == 0


@pytest.mark.skipif(not stack_config_available(), reason="no `docker stack config` (docker CLI 26 or later)")
def test_docker_accepts_the_stack_alone_and_with_the_override(repo):
    for files in (["docker-stack.yml"], ["docker-stack.yml", "docker-stack.local.yml"]):
        args = [arg for name in files for arg in ("-c", name)]
        result = subprocess.run(["docker", "stack", "config", *args], cwd=repo, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        merged = yaml.safe_load(result.stdout)
        assert merged["services"]["loadgen"]["environment"]["REPLICA"] == "{{.Task.Slot}}"


# --- deploy/prometheus-hosts.yml: the lab on hosts without Docker --------------------------


def job_labels(config: dict) -> dict[str, str]:
    """Job name -> the `target` label it gives its series (static or by relabelling)."""
    labels = {}
    for job in config["scrape_configs"]:
        found = {c.get("labels", {}).get("target") for c in job.get("static_configs", [])}
        found |= {r["replacement"] for r in job.get("relabel_configs", [])
                  if r.get("target_label") == "target" and not r.get("source_labels")}
        found.discard(None)
        assert len(found) == 1, f"{job['job_name']}: target labels {found}"
        labels[job["job_name"]] = found.pop()
    return labels


def test_the_hosts_config_has_prometheus_yml_s_jobs_and_labels(hosts_config, prometheus_config):
    assert job_labels(hosts_config) == job_labels(prometheus_config)
    assert hosts_config["global"] == prometheus_config["global"]
    for job in hosts_config["scrape_configs"]:
        assert "dns_sd_configs" not in job and job["static_configs"], job["job_name"]
        for config in job["static_configs"]:
            for target in config["targets"]:
                assert re.fullmatch(r"[\w.-]+:\d+", target), target


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_accepts_the_hosts_config(repo):
    result = subprocess.run(["promtool", "check", "config", str(repo / "deploy/prometheus-hosts.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_makes_its_prometheus_config_from_the_hosts_config(repo):
    """`just demo` rewrites the hosts config's placeholders to loopback ports (prometheus.yml
    finds the loadgens by Docker's DNS, which a native run does not have)."""
    demo = (repo / "scripts/demo.sh").read_text()
    assert "deploy/prometheus-hosts.yml" in demo and "prometheus.yml >" not in demo
    hosts = (repo / "deploy/prometheus-hosts.yml").read_text()
    for placeholder in re.findall(r"s/(\w[\w-]*-host):\d+/", demo):
        assert placeholder in hosts, placeholder


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_the_demo_config_is_valid_and_scrapes_loopback(repo, tmp_path):
    """The config demo.sh writes, made by its own function, passes promtool and names only
    127.0.0.1 targets, the server and the loadgen."""
    out = tmp_path / "prometheus.yml"
    script = (f'source <(sed -n "/^demo_prometheus_config()/,/^}}/p" scripts/demo.sh); '
              f'demo_prometheus_config 8123 9123 > "{out}"')
    subprocess.run(["bash", "-c", script], cwd=repo, check=True)
    config = yaml.safe_load(out.read_text())
    targets = {job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
               for job in config["scrape_configs"]}
    assert targets == {"lab-server": ["127.0.0.1:8123"], "lab-loadgen": ["127.0.0.1:9123"]}
    result = subprocess.run(["promtool", "check", "config", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
