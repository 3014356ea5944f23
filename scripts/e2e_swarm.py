#!/usr/bin/env python3
"""End-to-end check of the Swarm stack: `just e2e-swarm`.

It deploys the user's docker-stack.yml with docker-stack.local.yml swapping the images for the
local stand-ins of docker/build-local-images.sh (no registry is reachable here) and keeping
Grafana at zero replicas (its image cannot be pulled), on a one-node swarm it makes for the
purpose, and leaves the engine as it found it.

Steps (each prints a line; any failure stops the run, and everything is torn down anyway):
  1. refuse (exit 2) if the engine is already in a swarm: the check makes a swarm of its own
     and leaves it afterwards, and never leaves one it did not make
  2. cargo build --release of lab-server and lab-loadgen; the stand-in images (not FastAPI's)
  3. `docker swarm init --advertise-addr 127.0.0.1`; label the node lab.server, lab.loadgen
     and lab.monitor (one node plays every part)
  4. docker stack deploy with LOADGEN_REPLICAS=2 (at least 2), a bounded run (DURATION) with
     a short upload cycle (LARGE_ON/LARGE_OFF), and host ports of its own (18000, 19090;
     host mode publishes them on every interface of this machine while it runs)
  5. the server's /healthz answers; Prometheus scrapes the server and every loadgen replica:
     count(up{job="lab-loadgen"} == 1) equals the replicas; Prometheus answers PromQL on the
     name Grafana's datasource uses, from inside the stack's network
  6. the dashboard's small-request p95, histogram_quantile(0.95, sum by (le) (rate(
     lab_client_request_duration_seconds_bucket{class="small"}[...]))), returns a number,
     and every replica has small-request samples of its own; the share of scrapes that
     succeeded per target while the replicas run
  7. the loadgen tasks end (DURATION) and write their CSV files into the results volume: one
     run directory per replica, <run-id>-replica-<slot>, each with rows of both classes and
     a summary.csv, owned like the volume (RUN_AS_RESULTS_OWNER; read with a one-off
     container of the stand-in image); `lab-loadgen-merge` joins them in the volume, and the
     merged requests.csv holds every replica's rows
  8. prints the figures: rows per replica, scrape success, p95
  9. docker stack rm, wait until its containers and network are gone, remove its volumes,
     `docker swarm leave --force`, remove the docker_gwbridge network swarm made; then check
     that nothing of it is left (also on failure, Ctrl-C or SIGTERM; a second Ctrl-C does
     not cut the teardown short). The stand-in images stay (`just e2e` builds the same).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools.checks import CheckFailed, progress_log  # noqa: E402
from labtools.datasource import check_datasource_answers  # noqa: E402
from labtools.docker import docker, docker_lines as lines  # noqa: E402
from labtools.healthz import healthz  # noqa: E402
from labtools.images import add_skip_cargo_option, build_binaries_and_images  # noqa: E402
from labtools.interrupts import ignore_interrupts, sigterm_raises_interrupt  # noqa: E402
from labtools.prometheus import Prometheus, wait_for  # noqa: E402
from labtools.replicas import replica_of, small_p95_over_replicas  # noqa: E402
from labtools.scrapes import scrape_success, targets_up, wait_until_ready  # noqa: E402

STACK = "lab-e2e"
STACK_FILES = ["docker-stack.yml", "docker-stack.local.yml"]
RUNTIME_STANDIN = "lab-local/large-request-lab:e2e"
#: The network swarm init makes besides `ingress` and does not remove when the node leaves.
GWBRIDGE = "docker_gwbridge"
NODE_LABELS = ["lab.server=true", "lab.loadgen=true", "lab.monitor=true"]

log = progress_log("e2e-swarm")


def swarm_state() -> str:
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


# --- what the run leaves behind ------------------------------------------------------------


def stack_leftovers() -> dict[str, list[str]]:
    """Everything of the stack still in the engine, by kind (empty lists when all is gone)."""
    namespace = f"label=com.docker.stack.namespace={STACK}"
    found = {
        "containers": lines("ps", "-aq", "--filter", namespace),
        "networks": lines("network", "ls", "-q", "--filter", namespace),
        "volumes": lines("volume", "ls", "-q", "--filter", namespace),
    }
    if swarm_state() == "active":
        found["services"] = lines("service", "ls", "-q", "--filter", namespace)
        found["configs"] = lines("config", "ls", "-q", "--filter", namespace)
    return {kind: items for kind, items in found.items() if items}


class Swarm:
    """The one-node swarm this run makes, and its removal (only of what it made)."""

    def __init__(self):
        self.initialised = False
        self.gwbridge_existed = bool(lines("network", "ls", "-q", "--filter", f"name=^{GWBRIDGE}$"))

    def init(self) -> None:
        state = swarm_state()
        if state != "inactive":
            raise CheckFailed(
                f"this engine is already in a swarm (state {state!r}): e2e-swarm makes its own one-node "
                "swarm and leaves it afterwards, and it never leaves a swarm it did not make. Run it on "
                "an engine outside any swarm.")
        self.initialised = True  # from here on, an active swarm is ours (set before: Ctrl-C mid-init)
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
        label_args = [arg for label in NODE_LABELS for arg in ("--label-add", label)]
        docker("node", "update", *label_args, node)
        log(f"swarm initialised on 127.0.0.1, node {node[:12]} labelled {', '.join(NODE_LABELS)}")

    def deploy(self, env: dict[str, str]) -> None:
        files = [arg for name in STACK_FILES for arg in ("-c", name)]
        # --resolve-image never: the stand-ins exist on this node only, no registry to ask.
        docker("stack", "deploy", "--resolve-image", "never", *files, STACK, env=env, capture=False)

    def teardown(self) -> None:
        """docker stack rm, then everything it leaves (volumes, the swarm, docker_gwbridge).
        Nothing at all when this run did not make the swarm."""
        if not self.initialised:
            return
        if swarm_state() == "active":
            docker("stack", "rm", STACK, check=False, capture=False)
            try:
                # Services go at once; their containers stop (stop_grace_period) and the
                # network goes after them.
                wait_for("the stack's containers and network to go",
                         lambda: not {k: v for k, v in stack_leftovers().items()
                                      if k in ("containers", "networks", "services")},
                         timeout=90)
            except TimeoutError as error:
                log(f"{error}: removing what is left by force")
                for container in lines("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}"):
                    docker("rm", "-f", container, check=False)
        for volume in lines("volume", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}"):
            docker("volume", "rm", volume, check=False)
        if swarm_state() != "inactive":
            docker("swarm", "leave", "--force", check=False, capture=False)
            wait_for("the swarm to be left", lambda: swarm_state() == "inactive", timeout=30)
        if not self.gwbridge_existed:
            # Containers that were on it are gone; swarm leave keeps this bridge network.
            for _ in range(10):
                if not lines("network", "ls", "-q", "--filter", f"name=^{GWBRIDGE}$"):
                    break
                docker("network", "rm", GWBRIDGE, check=False)
                time.sleep(1)

    def check_clean(self) -> list[str]:
        """What is left that this run made (nothing, when the teardown worked)."""
        left = [f"{kind}: {items}" for kind, items in stack_leftovers().items()]
        if self.initialised and swarm_state() != "inactive":
            left.append(f"swarm state {swarm_state()}")
        if self.initialised and not self.gwbridge_existed and lines(
                "network", "ls", "-q", "--filter", f"name=^{GWBRIDGE}$"):
            left.append(f"network {GWBRIDGE}")
        return left


# --- steps -----------------------------------------------------------------------------------


def wait_for_scrapes(prom: Prometheus, replicas: int) -> dict:
    wait_until_ready(prom)

    def every_replica_up():
        server = prom.query('up{job="lab-server"} == 1')
        loadgens = targets_up(prom, "lab-loadgen")
        return server and loadgens == replicas and {"server": len(server), "loadgen_replicas_up": loadgens}

    seen = wait_for(f"Prometheus scraping the server and all {replicas} loadgen replicas",
                    every_replica_up, timeout=90)
    instances = sorted(t["labels"]["instance"] for t in prom.targets() if t["labels"]["job"] == "lab-loadgen")
    log(f"scraped: {seen}; loadgen instances {instances}")
    return seen


def check_datasource_name() -> None:
    """Grafana does not run here, but its datasource's URL (http://prometheus:9090) must answer
    PromQL from inside the stack's network: a one-off container joins it and asks."""
    url = check_datasource_answers(
        lambda probe: docker("run", "--rm", "--network", f"{STACK}_default", RUNTIME_STANDIN, "bash", "-c", probe,
                             check=False),
        "up", "the stack's network")
    log(f"Grafana's datasource URL {url} answers PromQL inside the stack's network")


def small_p95(prom: Prometheus, window: str) -> dict:
    """The dashboard's small-request p95 over all replicas, and each replica's small samples."""
    p95 = small_p95_over_replicas(prom, window)
    per_replica = {
        series["metric"].get("instance", "?"): float(series["value"][1])
        for series in prom.query('sum by (instance) (lab_client_request_duration_seconds_count{class="small"})')
    }
    return {"p95": p95, "per_replica": per_replica}


def wait_for_p95(prom: Prometheus, replicas: int, window: str) -> dict:
    def ready():
        result = small_p95(prom, window)
        p95 = result["p95"]
        if p95 is None or not math.isfinite(p95):
            return None
        if len([v for v in result["per_replica"].values() if v > 0]) < replicas:
            return None
        return result

    result = wait_for(f"a small-request p95 and samples from all {replicas} replicas", ready, timeout=60)
    log(f"small-request p95 over {window} (all replicas): {result['p95'] * 1000:.1f} ms; small requests "
        f"per replica so far: {json.dumps({k: int(v) for k, v in sorted(result['per_replica'].items())})}")
    return result


def wait_for_runs_to_end(timeout: float) -> None:
    def ended():
        states = lines("service", "ps", "--format", "{{.DesiredState}} {{.CurrentState}}", f"{STACK}_loadgen")
        running = [s for s in states if s.startswith("Running")]
        return states and not running and states

    states = wait_for("the loadgen runs to end (DURATION) and their tasks to stop", ended, timeout=timeout, poll=2)
    log(f"loadgen tasks: {states}")


def read_results(run_id: str) -> dict[str, dict]:
    """Each run directory of this run in the results volume: its requests.csv rows by class,
    whether summary.csv is there, and whether its files belong to the owner of the volume's
    root, as RUN_AS_RESULTS_OWNER promises (a one-off container of the stand-in image reads
    them)."""
    script = (
        f'cd /r && for d in {run_id}*/; do d=${{d%/}}; [ -d "$d" ] || continue; '
        'owner=$( [ "$(stat -c %u:%g "$d/requests.csv")" = "$(stat -c %u:%g /r)" ] && echo owner || echo other); '
        'echo "== $d $owner $( [ -f "$d/summary.csv" ] && echo summary || echo no-summary)"; '
        'cut -d, -f3 "$d/requests.csv" 2>/dev/null | sort | uniq -c; done'
    )
    result = docker("run", "--rm", "--user", "0:0", "-v", f"{STACK}_results:/r:ro", RUNTIME_STANDIN,
                    "bash", "-c", script)
    runs: dict[str, dict] = {}
    current = None
    for line in result.stdout.splitlines():
        if line.startswith("== "):
            name, owner, summary = line[3:].rsplit(" ", 2)
            current = runs.setdefault(name, {"summary": summary == "summary", "owner": owner == "owner",
                                             "rows": {}})
        elif current is not None and line.strip():
            count, cls = line.split(None, 1)
            if cls != "class":  # the header
                current["rows"][cls] = int(count)
    return runs


def check_results(run_id: str, replicas: int) -> dict[str, dict]:
    """Every replica's run directories, by slot: `<run-id>-replica-<slot>`, and
    `<run-id>-replica-<slot>-<n>` if lab-loadgen split its run (it opens a new run directory
    when the server's /healthz changes). Returns slot -> rows by class over its directories."""
    runs = wait_for("every replica's requests.csv and summary.csv in the results volume",
                    lambda: (lambda r: r if len(r) >= replicas and all(v["summary"] for v in r.values()) else None)(
                        read_results(run_id)), timeout=60, poll=3)
    by_slot: dict[str, dict] = {}
    for name, run in sorted(runs.items()):
        slot_name = replica_of(name, run_id)
        if slot_name is None or not slot_name.isdigit():
            raise CheckFailed(f"run directory {name} is not <run-id>-replica-<slot>")
        log(f"results volume: {name}: {sum(run['rows'].values())} rows {json.dumps(run['rows'], sort_keys=True)}, "
            "summary.csv written" + (", as the volume's owner" if run["owner"] else ", NOT as the volume's owner"))
        if not run["owner"]:
            raise CheckFailed(f"{name}: files not written as the owner of the results volume (RUN_AS_RESULTS_OWNER)")
        slot = by_slot.setdefault(slot_name, {"dirs": [], "rows": {}})
        slot["dirs"].append(name)
        for cls, count in run["rows"].items():
            slot["rows"][cls] = slot["rows"].get(cls, 0) + count
    expected = {str(slot) for slot in range(1, replicas + 1)}
    if set(by_slot) != expected:
        raise CheckFailed(f"run directories {sorted(runs)}: replicas {sorted(by_slot)}, expected {sorted(expected)}")
    for slot, found in sorted(by_slot.items()):
        if not {"small", "large"} <= set(found["rows"]):
            raise CheckFailed(f"replica {slot}: rows by class {found['rows']}: not both classes")
    return by_slot


def check_merge(run_id: str, by_slot: dict[str, dict]) -> int:
    """docs/multi-host.md's merge step on the volume: lab-loadgen-merge joins every replica's
    run directories into one, whose requests.csv has all their rows."""
    dirs = [f"/r/{name}" for found in by_slot.values() for name in found["dirs"]]
    merged = f"/r/{run_id}-merged"
    script = f'lab-loadgen-merge --out {merged} {" ".join(dirs)} >/dev/null && tail -n +2 {merged}/requests.csv | wc -l'
    result = docker("run", "--rm", "-v", f"{STACK}_results:/r", RUNTIME_STANDIN, "bash", "-c", script, check=False)
    if result.returncode != 0:
        raise CheckFailed(f"lab-loadgen-merge failed: {result.stdout[-300:]} {result.stderr[-300:]}")
    rows = int(result.stdout.strip())
    expected = sum(sum(found["rows"].values()) for found in by_slot.values())
    if rows != expected:
        raise CheckFailed(f"lab-loadgen-merge wrote {rows} rows, the replicas {expected}")
    log(f"lab-loadgen-merge joined {len(dirs)} run directories: {rows} rows, every replica's")
    return rows


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_skip_cargo_option(parser)
    parser.add_argument("--skip-images", action="store_true", help="use the existing stand-in images")
    parser.add_argument("--replicas", type=int, default=2, help="loadgen replicas (at least 2; default 2)")
    parser.add_argument("--duration", type=int, default=40, help="seconds each loadgen runs (default 40)")
    parser.add_argument("--large-on", type=int, default=6, help="seconds of uploads per cycle (default 6)")
    parser.add_argument("--large-off", type=int, default=6, help="seconds of pause per cycle (default 6)")
    parser.add_argument("--large-size-mb", default="5", help="upload size in MB (default 5: two replicas share one 1-worker server)")
    parser.add_argument("--server-port", type=int, default=18000, help="host port of the server (default 18000)")
    parser.add_argument("--prometheus-port", type=int, default=19090, help="host port of Prometheus (default 19090)")
    args = parser.parse_args()
    if args.replicas < 2:
        parser.error("--replicas must be at least 2: the point is one scrape target per replica")

    sigterm_raises_interrupt()
    total = time.monotonic()
    state = swarm_state()
    if state != "inactive":  # asked again right before `swarm init`
        log(f"REFUSED: this engine is already in a swarm (state {state!r}); e2e-swarm makes a one-node "
            "swarm of its own and leaves it afterwards, and never leaves one it did not make")
        return 2
    if not args.skip_images:
        build_binaries_and_images(args.skip_cargo, log, fastapi=False)

    run_id = f"e2e-swarm-{time.strftime('%Y%m%dT%H%M%S')}"
    env = dict(
        os.environ,
        LOADGEN_REPLICAS=str(args.replicas), WORKERS="1", ENDPOINT="/ping",
        DURATION=str(args.duration), LARGE_ON=str(args.large_on), LARGE_OFF=str(args.large_off),
        LARGE_SIZE_MB=args.large_size_mb, SERVER_PORT=str(args.server_port),
        PROMETHEUS_PORT=str(args.prometheus_port), RUN_ID=run_id,
    )

    prom = Prometheus(f"http://127.0.0.1:{args.prometheus_port}")
    swarm = Swarm()
    ok = interrupted = False
    figures: dict = {}
    try:
        swarm.init()
        log(f"deploy stack {STACK}: {args.replicas} loadgen replicas, DURATION={args.duration} "
            f"LARGE_ON={args.large_on} LARGE_OFF={args.large_off} LARGE_SIZE_MB={args.large_size_mb} "
            f"WORKERS=1 ENDPOINT=/ping, run id {run_id}")
        deployed, deployed_at = time.monotonic(), time.time()
        swarm.deploy(env)
        health = wait_for("the server's /healthz",
                          lambda: healthz(f"http://127.0.0.1:{args.server_port}"), timeout=120)
        log(f"server /healthz after {time.monotonic() - deployed:.0f} s: {health}")
        first_scrape = time.time()
        figures["scraped"] = wait_for_scrapes(prom, args.replicas)
        log(f"every replica scraped {time.monotonic() - deployed:.0f} s after deploy")
        check_datasource_name()
        # Two upload cycles' worth of data before the p95 is read over one cycle.
        cycle = args.large_on + args.large_off
        window = f"{max(cycle, 10)}s"
        time.sleep(max(0.0, min(cycle, args.duration - (time.monotonic() - deployed) - 5)))
        p95 = wait_for_p95(prom, args.replicas, window)
        figures["small_p95_ms"] = round(p95["p95"] * 1000, 2)
        # Scrape success while every replica runs: from the first scrape of all of them to
        # just before their DURATION ends (a target that ends drops out of DNS, not down).
        last_running = deployed_at + args.duration - 2
        time.sleep(max(0.0, last_running - time.time()))
        at = min(time.time(), max(last_running, first_scrape + 1))
        figures["scrape_success"] = {
            f"{job} {instance}": round(share, 3) for (job, instance), share in scrape_success(
                prom, ["lab-server", "lab-loadgen"], f"{max(1, int(at - first_scrape))}s", at=at).items()}
        log(f"share of scrapes that succeeded over {at - first_scrape:.0f} s: {json.dumps(figures['scrape_success'])}")
        wait_for_runs_to_end(timeout=args.duration + 90)
        runs = check_results(run_id, args.replicas)
        figures["rows_per_replica"] = {slot: sum(found["rows"].values()) for slot, found in sorted(runs.items())}
        figures["merged_rows"] = check_merge(run_id, runs)
        ok = True
    except KeyboardInterrupt:
        log("interrupted")
        interrupted = True
    except (CheckFailed, TimeoutError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        log(f"FAILED: {error}")
        if isinstance(error, subprocess.CalledProcessError) and error.stderr:
            print(error.stderr, flush=True)
    finally:
        # A second Ctrl-C must not cut the teardown short.
        ignore_interrupts()
        if not ok and not interrupted and swarm.initialised and swarm_state() == "active":
            docker("service", "ps", "--no-trunc", f"{STACK}_loadgen", f"{STACK}_server", f"{STACK}_prometheus",
                   check=False, capture=False)
            for service in ("server", "loadgen", "prometheus"):
                docker("service", "logs", "--tail", "30", f"{STACK}_{service}", check=False, capture=False)
        if swarm.initialised:
            log("tearing down: stack rm, volumes, swarm leave")
        teardown_started = time.monotonic()
        swarm.teardown()
        left = swarm.check_clean()
        if left:
            log(f"LEFT BEHIND: {left}")
            ok = False
        elif swarm.initialised:
            log(f"engine as found (no stack, volumes, configs, swarm or {GWBRIDGE} of this run) "
                f"after {time.monotonic() - teardown_started:.0f} s")
    if ok:
        log("figures: " + json.dumps(figures, sort_keys=True))
    log(f"{'PASSED' if ok else 'INTERRUPTED' if interrupted else 'FAILED'} in {time.monotonic() - total:.0f} s")
    return 0 if ok else 130 if interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
