#!/usr/bin/env bash
# Bisect the CPU per request between the thread-per-user floor and qpsbench (issue 12): run
# examples/bisect.rs at each step, and qpsbench itself, against one target, under
# `perf stat -e task-clock,context-switches` (user and system time from GNU time as well), and
# print a table of microseconds of client CPU per request. The target (nginx with
# scripts/nginx.conf when installed, else `qpsbench serve --threads 1`) runs on CPU 0, each
# client on CPU 1; each client runs SECONDS, REPS times, interleaved; medians are printed.
# Loopback only; every run is bounded by SECONDS. Do not run it while a build runs.
#
# Usage: scripts/bisect.sh [USERS] [SECONDS] [REPS] [RPS]      (default 50 5 3, no RPS)
# With RPS every client is paced at RPS requests/s (qpsbench --rps, oha -q, bisect's floor steps
# with their own slot clock); the steps from proto on are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-50}; SECONDS_=${2:-5}; REPS=${3:-3}; RPS=${4:-}
PORT=18099
echo "> building the release binary and examples/bisect ..." >&2
cargo build --release --bin qpsbench --example bisect >&2
BIN=target/release/qpsbench; BISECT=target/release/examples/bisect
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 2; }
work=$(mktemp -d)
cleanup() { [ -n "${tpid:-}" ] && kill "$tpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
if command -v nginx >/dev/null; then
  mkdir -p "$work"/{body,proxy,fastcgi,uwsgi,scgi}
  sed "s|PREFIX|$work|g; s|PORT|$PORT|g" scripts/nginx.conf > "$work/nginx.conf"
  taskset -c 0 nginx -p "$work" -c "$work/nginx.conf" & tpid=$!
  target="nginx (1 worker, CPU 0)"
else
  taskset -c 0 "$BIN" serve --addr 127.0.0.1:$PORT --threads 1 > /dev/null 2>&1 & tpid=$!
  target="qpsbench serve --threads 1 (CPU 0)"
fi
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
URL=http://127.0.0.1:$PORT/

measure() { # name argv... -> "name requests task_clock_ms user_s sys_s ctx rps"
  local name=$1; shift
  local out
  out=$(/usr/bin/time -f "TIME %U %S" perf stat -x, -e task-clock,context-switches \
        taskset -c 1 "$@" 2>&1 >"$work/stdout")
  python3 - "$name" "$work/stdout" <<PY "$out"
import json, re, sys
name, path, err = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
if name == "qpsbench":
    total = json.loads(text)["total"]
    requests, rps = total["requests"], total["qps"]
elif name == "oha":
    j = json.loads(text)
    requests = sum(j.get("statusCodeDistribution", {}).values()) + sum(j.get("errorDistribution", {}).values())
    rps = j["summary"]["requestsPerSec"]
else:
    line = json.loads(text.strip().splitlines()[-1])
    requests, rps = line["requests"], line["rps"]
clock = float(re.search(r"^([0-9.]+),msec,task-clock", err, re.M).group(1))
ctx = float(re.search(r"^([0-9.]+),,context-switches", err, re.M).group(1))
user, sys_ = map(float, re.search(r"TIME ([0-9.]+) ([0-9.]+)", err).groups())
print(name, requests, clock, user, sys_, ctx, rps)
PY
}

steps=(floor timestamps collector proto ureq agent traffic)
pace_bisect=(); pace_qps=(); pace_oha=()
if [ -n "$RPS" ]; then
  steps=(floor timestamps collector)
  pace_bisect=("$RPS"); pace_qps=(--rps "$RPS"); pace_oha=(-q "$RPS")
fi
results="$work/results"
: > "$results"
for rep in $(seq "$REPS"); do
  for step in "${steps[@]}"; do
    measure "$step" "$BISECT" "$step" "$URL" "$USERS" "$SECONDS_" "${pace_bisect[@]}" >> "$results"
  done
  measure qpsbench "$BIN" run --url "$URL" -c "$USERS" --duration "$SECONDS_" "${pace_qps[@]}" -q --json - >> "$results"
  # The async peer, same target, same core, same perf stat: the row the targets compare with.
  if command -v oha >/dev/null; then
    measure oha oha -z "${SECONDS_}s" -c "$USERS" "${pace_oha[@]}" --no-tui --output-format json "$URL" >> "$results"
  fi
done
command -v oha >/dev/null || echo "> oha is missing (cargo install --locked oha): no oha row" >&2

python3 - "$results" "$USERS" "$SECONDS_" "$REPS" "$target" <<'PY'
import statistics, sys
path, users, secs, reps, target = sys.argv[1:]
rows = {}
for line in open(path):
    name, req, clock, user, sys_, ctx, rps = line.split()
    req = int(req)
    rows.setdefault(name, []).append((float(clock) * 1e3 / req, (float(user)) * 1e6 / req,
                                       float(sys_) * 1e6 / req, float(ctx) / req, float(rps)))
order = ["floor", "timestamps", "collector", "proto", "ureq", "agent", "traffic", "qpsbench", "oha"]
print(f"\n{users} users, {secs} s per run, median of {reps}; target {target}, client on CPU 1\n")
print("| step | task-clock µs/req | user µs/req | sys µs/req | ctx switches/req | req/s | step adds µs |")
print("|---|---|---|---|---|---|---|")
prev = None
for name in order:
    if name not in rows:
        continue
    med = [statistics.median(v[i] for v in rows[name]) for i in range(5)]
    add = "" if prev is None or name == "oha" else f"{med[0] - prev:+.2f}"
    print(f"| {name} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | {med[3]:.2f} | {med[4]:,.0f} | {add} |")
    prev = med[0]
PY
