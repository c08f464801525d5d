#!/usr/bin/env bash
# Peak RSS of qpsbench per user: N users, each holding a keep-alive connection to the embedded
# target on loopback, paced at --rps 2N (each user sends about 10 requests in 5 s and is idle
# the rest of the time), for a few user counts.
# Usage: scripts/memory.sh [users...]   (default: 1 1000 5000). Bounded: 5 s per run, 3 runs each.
# Traffic goes to 127.0.0.1 only. Target pinned to CPU 0, client to CPU 1 when taskset exists.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=target/release/qpsbench
PORT=${PORT:-18081}
RUNS=${RUNS:-3}
USERS=("$@"); [ ${#USERS[@]} -gt 0 ] || USERS=(1 1000 5000)
PIN0=(); PIN1=()
if command -v taskset >/dev/null; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi

"${PIN0[@]}" "$BIN" serve --addr "127.0.0.1:$PORT" --threads 1 >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| users | peak RSS (KiB, median of $RUNS) | RSS per user above 1 user (KiB) | requests |"
echo "|---|---|---|---|"
base=""
for n in "${USERS[@]}"; do
  rss=()
  for _ in $(seq "$RUNS"); do
    out=$( { /usr/bin/time -f "RSS %M" "${PIN1[@]}" "$BIN" run --url "http://127.0.0.1:$PORT/" --users "$n" \
             --rps $(( n < 100 ? 200 : 2 * n )) --duration 5 --quiet --json - 2>&1 1>/tmp/qpsbench-mem.json; } )
    rss+=("$(echo "$out" | awk '/^RSS/ {print $2}')")
  done
  m=$(printf '%s\n' "${rss[@]}" | median)
  reqs=$(python3 -c 'import json;print(json.load(open("/tmp/qpsbench-mem.json"))["total"]["requests"])')
  [ -n "$base" ] || base=$m
  per=$([ "$n" -gt 1 ] && awk -v m="$m" -v b="$base" -v n="$n" 'BEGIN {printf "%.1f", (m-b)/(n-1)}' || echo "-")
  echo "| $n | $m | $per | $reqs |"
done
