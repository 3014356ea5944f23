#!/usr/bin/env bash
# What OFFLOAD_NICE buys: lab-server (release, WORKERS=1) with OFFLOAD_NICE=$1 on 127.0.0.1:$2,
# then 20 s of the study's workload on /offload; prints each class's percentiles and the
# event-loop lag total. Run it alternately with 0 and 10 on a quiet machine:
#   cargo build --release -p lab-server -p lab-loadgen
#   for n in 0 10 0 10; do scripts/offload-nice-ab.sh $n 18800; done
set -u
nice_value=$1; port=$2
cd "$(dirname "$0")/.."
OFFLOAD_NICE=$nice_value WORKERS=1 BIND=127.0.0.1:$port RUST_LOG=warn ./target/release/lab-server & pid=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.1; done
./target/release/lab-loadgen --target-url http://127.0.0.1:$port --endpoint /offload --duration 20 --results-dir "${TMPDIR:-/tmp}/offload-nice-ab" --quiet --json 2>/dev/null | python3 -c "
import json,sys; r=json.load(sys.stdin)
for c in r['classes']: print('nice=$nice_value', c['class'], 'count',c['count'],'err',c['errors'],'p50',c['median_ms'],'p95',c['p95_ms'],'p99',c['p99_ms'])"
curl -s http://127.0.0.1:$port/metrics | grep -E '^lab_server_event_loop_lag_seconds_(sum|count)' | tr '\n' ' '; echo
kill -TERM $pid; wait $pid
