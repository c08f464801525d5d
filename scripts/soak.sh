#!/usr/bin/env bash
# Bounded soak test (not run in CI): qpsbench against `qpsbench serve` on 127.0.0.1 for a while,
# sampling the client's resident memory, then checking that
#   1. memory is flat: the RSS at the end is within SOAK_RSS_SLACK_KIB of the RSS once warmed up
#      (after the first fifth of the run), and the growth per minute is printed;
#   2. no sample was lost: the requests the server counted (GET /__stats) equal the requests the
#      tool reported plus those it reported still in flight at the end.
#
# Usage: scripts/soak.sh [DURATION]      DURATION as qpsbench reads it; default 5m (e.g. 60s).
# Environment: SOAK_USERS (default 50), SOAK_RPS (default 2000), SOAK_EVERY (sample period,
# seconds, default 5), SOAK_RSS_SLACK_KIB (default 8192), PORT (default 18082).
# Traffic goes to 127.0.0.1 only. Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-5m}
USERS=${SOAK_USERS:-50}
RPS=${SOAK_RPS:-2000}
EVERY=${SOAK_EVERY:-5}
SLACK=${SOAK_RSS_SLACK_KIB:-8192}
PORT=${PORT:-18082}
OUT=$(mktemp -d)
BIN=target/release/qpsbench

cargo build --release --quiet

SERVER=""
CLIENT=""
cleanup() {
  [ -n "$CLIENT" ] && kill "$CLIENT" 2>/dev/null || true
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$BIN" serve --addr "127.0.0.1:$PORT" --threads 1 >"$OUT/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

stats() { # requests counted by the server so far
  python3 - "$PORT" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/__stats", timeout=10) as r:
    print(json.load(r)["requests"])
EOF
}
before=$(stats)

"$BIN" run --url "http://127.0.0.1:$PORT/" --users "$USERS" --rps "$RPS" --duration "$DURATION" \
  --timeout 10s --quiet --json "$OUT/soak.json" >"$OUT/summary.txt" 2>"$OUT/stderr.txt" &
CLIENT=$!

echo "soak: $USERS users at $RPS req/s for $DURATION against 127.0.0.1:$PORT (samples every ${EVERY}s)"
echo "seconds,rss_kib" >"$OUT/rss.csv"
t=0
# Bounded: the client ends by itself at DURATION; the loop ends with it.
while kill -0 "$CLIENT" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$CLIENT/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$t,$rss" >>"$OUT/rss.csv"
  sleep "$EVERY"
  t=$((t + EVERY))
done
set +e
wait "$CLIENT"
code=$?
set -e
CLIENT=""
after=$(stats)

python3 - "$OUT" "$code" "$before" "$after" "$SLACK" <<'EOF'
import csv, json, sys
out, code, before, after, slack = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [(int(r["seconds"]), int(r["rss_kib"])) for r in csv.DictReader(open(f"{out}/rss.csv"))]
report = json.load(open(f"{out}/soak.json"))
t = report["total"]
ok = True
print(f"exit code {code}")
if code != 0:
    ok = False
    print(open(f"{out}/stderr.txt").read())
print(f"requests: {t['requests']} ({t['ok']} ok, {t['errors']} errors, {t['failures']} failures), "
      f"{t['qps']:.1f} req/s, in flight at end {report['in_flight_at_end']}")
if t["requests"] != t["ok"] + t["errors"] + t["failures"]:
    ok = False
    print("FAIL: requests != ok + errors + failures")
server = after - before
tool = t["requests"] + report["in_flight_at_end"]
# A reconnect's first send went over a connection the server had closed: it may or may not
# have been counted there, so each one widens the window by one.
reconnects = t.get("reconnects", 0)
print(f"server counted {server}; tool reported {t['requests']} + {report['in_flight_at_end']} in flight = {tool}"
      f" (+ up to {reconnects} reconnects)")
if not tool <= server <= tool + reconnects:
    ok = False
    print("FAIL: lost or invented samples")
if len(rows) >= 3:
    warm = rows[len(rows) // 5]
    last = rows[-1]
    minutes = max((last[0] - warm[0]) / 60, 1e-9)
    growth = last[1] - warm[1]
    print(f"RSS: {rows[0][1]} KiB at {rows[0][0]}s, {warm[1]} KiB at {warm[0]}s (warm), "
          f"{last[1]} KiB at {last[0]}s; max {max(r[1] for r in rows)} KiB; "
          f"growth after warm-up {growth} KiB ({growth / minutes:.0f} KiB/min)")
    if growth > slack:
        ok = False
        print(f"FAIL: RSS grew by more than {slack} KiB after warm-up")
else:
    print("too few RSS samples for a verdict (run longer)")
print(f"samples: {out}/rss.csv")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
