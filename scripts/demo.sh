#!/usr/bin/env bash
# `just demo`: the lab without Docker. Builds lab-server and lab-loadgen in release mode, starts
# the server on 127.0.0.1, starts Prometheus (Debian's `prometheus` package, if installed) with
# the lab's scrape jobs pointed at 127.0.0.1 (from deploy/prometheus-hosts.yml), and runs the
# load generator in the foreground until Ctrl-C or DURATION. Settings come from the
# environment, then from .env, like compose.
#
#   just demo
#   WORKERS=4 DURATION=120 just demo
#
# Grafana is not started (install it yourself and import grafana/dashboards/*.json, or use
# Prometheus's own graph page). The CSV lands in results/<run-id>/; `just export` pulls the
# dashboard's series from this Prometheus into CSV as well.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# .env defaults for every variable the shell did not set (the shell wins, as with compose).
while IFS= read -r line; do
    [[ "$line" =~ ^[A-Z_][A-Z0-9_]*= ]] || continue
    key="${line%%=*}"
    [ -n "${!key+set}" ] || export "$line"
done < .env

server_port="${SERVER_PORT:-8000}"
metrics_port="${LOADGEN_METRICS_PORT:-9100}"
prometheus_port="${PROMETHEUS_PORT:-9090}"
scratch="$repo/.e2e/demo"
mkdir -p "$scratch" results

cargo build --release -p lab-server -p lab-loadgen

# Prometheus's config for a native run: deploy/prometheus-hosts.yml (prometheus.yml's jobs and
# target labels, every target listed, as on hosts without Docker) with its placeholder hosts
# on loopback ports, without its optional FastAPI jobs. prometheus.yml itself finds the
# loadgens by Docker's DNS, which a native run does not have. Arguments: server port, loadgen
# metrics port. (tests/compose/test_stack.py runs this function.)
demo_prometheus_config() {
    echo "# made by scripts/demo.sh from deploy/prometheus-hosts.yml"
    sed -e '/^  # --- optional: the study/,$d' -e '/^#/d' \
        -e "s/server-host:8000/127.0.0.1:$1/" \
        -e "s/loadgen-host:9100/127.0.0.1:$2/" deploy/prometheus-hosts.yml
}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

BIND="127.0.0.1:$server_port" target/release/lab-server &
pids+=($!)

for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$server_port/healthz" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$server_port/healthz" || { echo "demo: lab-server did not become healthy" >&2; exit 1; }
echo

if command -v prometheus >/dev/null 2>&1; then
    demo_prometheus_config "$server_port" "$metrics_port" > "$scratch/prometheus.yml"
    prometheus --config.file="$scratch/prometheus.yml" --storage.tsdb.path="$scratch/prometheus-data" \
        --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn &
    pids+=($!)
    echo "demo: Prometheus on http://127.0.0.1:$prometheus_port (try: histogram_quantile(0.95, sum by (le) (rate(lab_client_request_duration_seconds_bucket{class=\"small\"}[5s]))))"
else
    echo "demo: prometheus not installed (apt-get install prometheus): running without it"
fi

echo "demo: lab-loadgen -> http://127.0.0.1:$server_port (ENDPOINT=$ENDPOINT WORKERS=$WORKERS LARGE_ON=$LARGE_ON LARGE_OFF=$LARGE_OFF DURATION=$DURATION); Ctrl-C stops it and writes the CSV"
TARGET_URL="http://127.0.0.1:$server_port" METRICS_BIND="127.0.0.1:$metrics_port" RESULTS_DIR="$repo/results" \
    target/release/lab-loadgen || status=$?
exit "${status:-0}"
