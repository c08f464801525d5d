#!/usr/bin/env bash
# Do two qpsbench builds write the same JSON report for the same seeded runs? For refactors
# that must not change behaviour (docs/ARCHITECTURE.md).
#
# Usage: scripts/same_report.sh OLD_BINARY NEW_BINARY
#
# Each binary runs the same runs against its own embedded target on 127.0.0.1 (one user, a
# fixed --requests count and --seed, so every count is deterministic): a --targets mix with
# --data, random order, --retries, --fail-on and a secret in a header and a query; and an
# --openai streaming run. The JSON reports are compared after masking what is timing, not
# behaviour: every floating-point number, the start time, the encoded histograms, the
# latency-histogram bins, the per-second rows (their number depends on how long the run took)
# and the evidence's timestamps (and the server's Date header). Exit code 0 when the rest is identical, byte for byte.
set -euo pipefail
old=$(realpath "$1")
new=$(realpath "$2")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
cat > targets.txt <<'T'
GET /mix/200,404,500,201 weight=2 name=mix

GET /bytes/{{n}}?token=s3cret weight=1

POST /flaky/503 weight=1
Content-Type: application/json
X-Api-Key: abc123
body {"user": {{user}}, "seq": {{seq}}}
T
printf 'n\n10\n20\n30\n' > data.csv

port=18555
for which in old new; do
  bin=${!which}
  timeout 60 "$bin" serve --addr 127.0.0.1:$port --threads 1 > /dev/null 2>&1 &
  server=$!
  for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  timeout 60 "$bin" run --url http://127.0.0.1:$port --targets targets.txt --targets-order random \
    --seed 7 --data data.csv --retries 1 --retry-backoff 1ms -c 1 -n 200 \
    --fail-on 'p99<10s,error-rate<1%' -H 'Authorization: Bearer hunter2' -q \
    --json "$which-traffic.json" > /dev/null 2>&1 || true
  timeout 60 "$bin" run --url http://127.0.0.1:$port/v1/chat/completions --openai sim \
    --max-tokens 7 --seed 7 -c 1 -n 20 -q --json "$which-llm.json" > /dev/null 2>&1 || true
  kill $server
  wait $server 2>/dev/null || true
done

python3 - "$work" <<'P'
import json, sys, pathlib
work = pathlib.Path(sys.argv[1])
MASKED = {"started_at", "started_at_unix_ms", "hdr", "hdr_latency_us", "latency_histogram",
          "seconds", "time", "elapsed_s"}
def norm(v, key=None):
    if key in MASKED:
        return "<masked>"
    if isinstance(v, dict):
        return {k: norm(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, float):
        return "<float>"
    if isinstance(v, str) and v.lower().startswith("date: "):
        return "date: <masked>"
    return v
ok = True
for run in ("traffic", "llm"):
    a = json.dumps(norm(json.loads((work / f"old-{run}.json").read_text())), indent=1)
    b = json.dumps(norm(json.loads((work / f"new-{run}.json").read_text())), indent=1)
    same = a == b
    ok &= same
    print(f"{run}: {'identical' if same else 'DIFFERENT'} ({len(a.splitlines())} lines compared)")
    if not same:
        import difflib
        print("\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "old", "new", lineterm="")))
sys.exit(0 if ok else 1)
P
