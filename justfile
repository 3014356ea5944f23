# large-request-lab tasks. `just` alone lists them.

# `docker compose` (v2 plugin) where it exists, else the older `docker-compose` (v1.29).
compose := `if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo "docker-compose"; fi`

# List the recipes
default:
    @just --list

# Start the whole lab in the background (builds the image); Grafana on http://localhost:3000
up *args:
    mkdir -p results
    {{compose}} up -d --build {{args}}
    @echo "Dashboard: http://localhost:${GRAFANA_PORT:-3000}   Prometheus: http://localhost:${PROMETHEUS_PORT:-9090}"
    @echo "Switch workers: WORKERS=4 just up   Stop: just down   CSV: ./results, just export"

# Stop the lab; the loadgen writes its CSV on the way out (`just down -v` also drops the Prometheus/Grafana volumes)
down *args:
    {{compose}} down --timeout 40 {{args}}

# Follow the logs of every service, or of some: `just logs loadgen`
logs *services:
    {{compose}} logs -f --tail 100 {{services}}

# End-to-end check with local stand-in images (what .ci/run runs): see scripts/e2e.py
e2e *args:
    python3 scripts/e2e.py {{args}}

# End-to-end check of the Swarm stack (docker-stack.yml): a one-node swarm of its own, 2 loadgen replicas, every one scraped, left as found; see scripts/e2e_swarm.py
e2e-swarm *args:
    python3 scripts/e2e_swarm.py {{args}}

# Join several load generators' run directories into one run, percentiles exact: `just merge --out results/merged results/<run-id>-replica-*`
merge *args:
    cargo run --release --quiet --bin lab-loadgen-merge -- {{args}}

# Export the last run's Prometheus series (every dashboard query) to CSV under results/
export *args:
    python3 scripts/export.py {{args}}

# The lab without Docker: release builds of lab-server and lab-loadgen, plus Prometheus if installed
demo:
    scripts/demo.sh

# Experiment matrix without Docker (lab-matrix starts lab-server, and the study's FastAPI server unless FASTAPI_PYTHON= is empty, per scenario), in MATRIX_REPS rounds of random order: matrix.csv, report.md and SVG plots in results/matrix/<timestamp>/; knobs MATRIX_REPS, MATRIX_DURATION, MATRIX_WORKERS, MATRIX_ENDPOINTS, MATRIX_PLACEMENT, MATRIX_ALLOCATORS (`just matrix --help`)
matrix *args: fastapi-venv
    # One build of both (lab-server's two binaries, lab-server and lab-server-jemalloc, and the
    # matrix): built apart, the shared dependencies' features differ and each build undoes the
    # other's.
    cargo build --release -p lab-server -p lab-matrix
    FASTAPI_PYTHON="${FASTAPI_PYTHON-.venv-fastapi/bin/python}" target/release/lab-matrix {{args}}

# Judge any server: its small requests alone, then beside uploads of each size of a ladder, in PROBE_REPS rounds of random order, with a verdict (TARGET_URL, SMALL_REQUEST, LARGE_REQUEST, LARGE_BODY, PROBE_SIZES_MB, PROBE_DURATION; `just probe --help`; docs/probe.md): report.md, probe.csv and small_p95.svg in results/probe/<timestamp>/
probe *args:
    # Built with lab-server, as `just matrix` builds it, so the two recipes share one build.
    cargo build --release -p lab-server -p lab-matrix
    target/release/lab-probe {{args}}

# Re-render the README's and docs/matrix.md's figures from the committed runs they name (`lab-matrix --docs write`; `just docs check` only compares; see docs/matrix.md#docs-that-cannot-drift)
docs mode="write":
    cargo build --release -p lab-server -p lab-matrix
    target/release/lab-matrix --docs {{mode}}

# Run lab-server in release (BIND, WORKERS, KEEP_ALIVE, MAX_BODY_MB, BLOCKING_THREADS…; `just server --help`)
server *args:
    cargo run --release -p lab-server -- {{args}}

# Run the study's FastAPI server natively, settings as env assignments: `just fastapi WORKERS=4 SERVER=gunicorn` (venv in .venv-fastapi; see services/fastapi/README.md)
fastapi *args: fastapi-venv
    env PYTHONPATH=services/fastapi {{args}} .venv-fastapi/bin/python -m labfastapi

# The FastAPI server's virtualenv (.venv-fastapi), made once from its pinned requirements
[private]
fastapi-venv:
    test -x .venv-fastapi/bin/python || (python3 -m venv .venv-fastapi && .venv-fastapi/bin/pip install --quiet --disable-pip-version-check -r services/fastapi/requirements.txt)

# Test the FastAPI server against the real thing started as subprocesses, and measured by lab-loadgen (pytest, in a venv under .e2e/; LAB_LOADGEN=<binary> measures with that lab-loadgen instead of building one)
test-fastapi:
    [ -n "${LAB_LOADGEN:-}" ] || cargo build -p lab-loadgen
    python3 -m venv .e2e/fastapi-venv
    .e2e/fastapi-venv/bin/pip install --quiet --disable-pip-version-check -r services/fastapi/requirements-dev.txt
    .e2e/fastapi-venv/bin/python -m pytest services/fastapi/tests -q

# Peak and idle RSS of lab-server under 4 and 30 concurrent 25 MB uploads per endpoint (WORKERS, BODY_BUDGET_MB from the env)
memory *args:
    cargo build --release -p lab-server
    python3 scripts/memory.py {{args}}

# The study's best Python parse (orjson loads + count + max + del) on the same 25 MB body as the benchmark: the reference (`just bench-python --runs 20`)
bench-python *args: fastapi-venv
    .venv-fastapi/bin/python scripts/bench_python.py {{args}}

# Criterion micro-benchmark: each strategy's parse + compute + drop of one 25 MB body
bench-server *args:
    cargo bench -p lab-server --bench parse_strategies {{args}}

# Run the load generator against a running lab-server (TARGET_URL, ENDPOINT, DURATION, CONNECTION, SCHEDULE…; `just loadgen --help`)
loadgen *args:
    cargo run --release -p lab-loadgen -- {{args}}

# Unloaded small-request latency, lab-loadgen vs wrk, keep-alive, against a running lab-server (TARGET_URL, DURATION)
compare-wrk:
    scripts/compare-wrk.sh

# Build the real Dockerfile with local stand-ins for its base images (slow; no registry needed)
verify-dockerfile:
    docker/verify-dockerfile.sh

# Run the Rust test suite
test:
    cargo test --workspace

# Check the dashboard, provisioning and compose files, every link and path the docs name, and the helpers the e2e checks share (pytest, in a venv under .e2e/)
test-lab:
    python3 -m venv .e2e/venv
    .e2e/venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    .e2e/venv/bin/python -m pytest tests/dashboard tests/compose tests/docs tests/layout tests/labtools tests/scripts -q
