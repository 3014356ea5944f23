#!/usr/bin/env bash
# Unloaded small-request latency against a RUNNING lab-server, measured by lab-loadgen and by
# wrk, in the same connection mode and with the same kind of body, printed side by side.
#
# The lab's target: lab-loadgen's numbers within 10% of wrk's. Take them on a quiet machine.
#
#   scripts/compare-wrk.sh                    # against http://127.0.0.1:8000
#   TARGET_URL=http://127.0.0.1:18000 DURATION=30 scripts/compare-wrk.sh
#
# Knobs (environment):
#   TARGET_URL      server base URL                       (http://127.0.0.1:8000)
#   ENDPOINT        strategy endpoint                     (/ping)
#   DURATION        seconds per measurement               (20)
#   SMALL_INTERVAL  seconds between the open schedule's sends (0.002)
#   ROUNDS          rounds of wrk, lab-loadgen closed (and oha, when installed), interleaved (5)
#   LOADGEN         lab-loadgen binary; empty = `cargo build --release -p lab-loadgen`
#   OUT_DIR         where the runs' files go              (results/compare-wrk/<timestamp>)
#
# What is compared, and why it is fair:
# - Connection mode: wrk keeps its connections alive, so lab-loadgen runs CONNECTION=keepalive.
# - Body: a study-shaped 0.001 MB body (50 pairs of 10 random letters: int), POSTed as JSON.
# - wrk -t1 -c1 is a back-to-back closed loop on one connection (send, wait, send…) and times
#   each request from its send. lab-loadgen SCHEDULE=closed SMALL_INTERVAL=0 does exactly that,
#   so "lab-loadgen closed" vs "wrk" is the like-for-like pair (the 10% target). `oha -c 1`
#   (when installed: cargo install oha) is the same loop again, from a Rust client.
# - Rounds: on a shared machine one tool's run can land on a noisy second, so the tools take
#   turns (wrk, lab-loadgen, oha, wrk, ...) for ROUNDS rounds and each is summarized by the
#   median of its rounds; the ratios are taken between those medians.
# - "lab-loadgen open" is shown too: one request every SMALL_INTERVAL, timed from its scheduled
#   start, so it also includes the client's own wake-up lateness (sent_ms - scheduled_ms in its
#   requests.csv) and the cost of waking idle threads on both sides between requests.
# - LARGE_SIZE_MB=0: lab-loadgen runs without its large class, so only small requests are sent.
set -euo pipefail

TARGET_URL="${TARGET_URL:-http://127.0.0.1:8000}"
ENDPOINT="${ENDPOINT:-/ping}"
DURATION="${DURATION:-20}"
ROUNDS="${ROUNDS:-5}"
SMALL_INTERVAL="${SMALL_INTERVAL:-0.002}"
OUT_DIR="${OUT_DIR:-results/compare-wrk/$(date -u +%Y%m%d-%H%M%S)}"
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
if ! python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/healthz', timeout=3)" "$TARGET_URL" 2>/dev/null; then
    echo "no lab-server answers at $TARGET_URL/healthz; start one first, e.g.:" >&2
    echo "  cargo run --release -p lab-server -- --bind 127.0.0.1:8000" >&2
    exit 1
fi
if [[ -z "${LOADGEN:-}" ]]; then
    cargo build --release -p lab-loadgen >&2
    LOADGEN=target/release/lab-loadgen
fi
mkdir -p "$OUT_DIR"

# wrk's Lua script: POST the same kind of body, print exact percentiles (µs → ms) at the end.
python3 - "$OUT_DIR/wrk.lua" <<'PY'
import json, random, string, sys
rng = random.Random(1)
data = {"".join(rng.choice(string.ascii_lowercase) for _ in range(10)): rng.randint(1, 1_000_000)
        for _ in range(50)}  # 0.001 MB x 50,000 pairs per MB
body = json.dumps({"name": "small", "data": data}, separators=(",", ":"))
with open(sys.argv[1], "w") as lua:
    lua.write(f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{body}]]
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("WRK requests=%d errors=%d mean_ms=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\\n",
    summary.requests, errors, latency.mean / 1000, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
""")
PY

if command -v oha >/dev/null; then OHA=oha; else OHA=; fi
python3 -c 'import sys; open(sys.argv[2], "w").write(open(sys.argv[1]).read().split("wrk.body = [[")[1].split("]]")[0])' \
    "$OUT_DIR/wrk.lua" "$OUT_DIR/body.json"

echo "measuring ${TARGET_URL}${ENDPOINT}: ${ROUNDS} rounds of ${DURATION}s each (wrk, lab-loadgen closed${OHA:+, oha}), then lab-loadgen open" >&2
loadgen() {  # loadgen <schedule> <interval> <run id>
    TARGET_URL="$TARGET_URL" ENDPOINT="$ENDPOINT" DURATION="$DURATION" CONNECTION=keepalive \
    SCHEDULE="$1" SMALL_SIZE_MB=0.001 SMALL_INTERVAL="$2" \
    LARGE_SIZE_MB=0 EXTRA_CLASSES= RESULTS_DIR="$OUT_DIR" RUN_ID="$3" \
    METRICS_BIND= "$LOADGEN" --json --quiet > "$OUT_DIR/$3.json"
}
for round in $(seq 1 "$ROUNDS"); do
    wrk -t1 -c1 -d"${DURATION}s" --timeout 5s -s "$OUT_DIR/wrk.lua" "${TARGET_URL}${ENDPOINT}" > "$OUT_DIR/wrk-$round.txt"
    loadgen closed 0 "loadgen-closed-$round"
    if [[ -n "$OHA" ]]; then
        oha -z "${DURATION}s" -c 1 --no-tui --output-format json -m POST -H "content-type: application/json" \
            -D "$OUT_DIR/body.json" "${TARGET_URL}${ENDPOINT}" > "$OUT_DIR/oha-$round.json"
    fi
done
loadgen open "$SMALL_INTERVAL" loadgen-open

python3 - "$OUT_DIR" "$ROUNDS" <<'PY'
import glob, json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def wrk(i):
    line = next(l for l in open(f"{out}/wrk-{i}.txt") if l.startswith("WRK "))
    wrk = {k: float(v) for k, v in (part.split("=") for part in line.split()[1:])}
    return wrk["requests"], wrk["errors"], wrk["mean_ms"], wrk["p50_ms"], wrk["p90_ms"], wrk["p99_ms"]
def loadgen(run_id):
    report = json.load(open(f"{out}/{run_id}.json"))
    small = next(c for c in report["classes"] if c["class"] == "small")
    return (small["count"], small["errors"], small["mean_ms"], small["median_ms"], small["p90_ms"],
            small["p99_ms"])
def oha(i):
    report = json.load(open(f"{out}/oha-{i}.json"))
    p = report["latencyPercentiles"]
    count = sum(report.get("statusCodeDistribution", {}).values())
    return (count, sum(report.get("errorDistribution", {}).values()), report["summary"]["average"] * 1000,
            p["p50"] * 1000, p["p90"] * 1000, p["p99"] * 1000)
tools = [("wrk -t1 -c1 (back-to-back, from send)", wrk),
         ("lab-loadgen closed (back-to-back, from send)", lambda i: loadgen(f"loadgen-closed-{i}"))]
if glob.glob(f"{out}/oha-1.json"):
    tools.append(("oha -c 1 (back-to-back, from send)", oha))
print(f"{'tool':46} {'round':>5} {'requests':>9} {'errors':>7} {'mean_ms':>8} {'p50_ms':>8} {'p90_ms':>8} {'p99_ms':>8}")
def row(name, label, values):
    count, errors, *ms = values
    print(f"{name:46} {label:>5} {int(count):>9} {int(errors):>7} " + " ".join(f"{v:>8.3f}" for v in ms))
medians = {}
for name, read in tools:
    runs = [read(i) for i in range(1, rounds + 1)]
    for i, values in enumerate(runs, 1):
        row(name, str(i), values)
    medians[name] = [statistics.median(column) for column in zip(*runs)]
    row(name, "med", medians[name])
row("lab-loadgen open (paced, from schedule)", "1", loadgen("loadgen-open"))
ours = medians[tools[1][0]]
for name, _ in tools[::2]:
    for label, index in (("p50", 3), ("mean", 2)):
        ratio = ours[index] / medians[name][index]
        verdict = "within 10%" if abs(ratio - 1) <= 0.10 else "NOT within 10%"
        print(f"lab-loadgen closed / {name.split(' (')[0]}, median {label} of {rounds} rounds: {ratio:.2f} ({verdict})")
print(f"files: {out}")
PY
