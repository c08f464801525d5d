#!/usr/bin/env bash
# Run the timing-sensitive test binaries all at once on a loaded machine, ROUNDS times: two busy
# loops keep both cores saturated while the engine, cli, faults, reports, stream, signals and
# promises test binaries run in parallel, each with --test-threads 8. A test that passes only on an idle
# machine fails here. Bounded: each round has a 15-minute limit; the busy loops end with the
# script. Loopback traffic only (the tests' own servers).
#
# Usage: scripts/stress_tests.sh [ROUNDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BINS=(engine cli faults reports stream signals promises)

cargo test --locked --no-run --tests 2>/dev/null
declare -A exe
for b in "${BINS[@]}"; do
  exe[$b]=$(cargo test --locked --no-run --test "$b" --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])' | tail -1)
done

busy() { while :; do :; done; }
busy & b1=$!
busy & b2=$!
trap 'kill $b1 $b2 2>/dev/null || true' EXIT

logs=$(mktemp -d)
failed=0
for round in $(seq "$ROUNDS"); do
  start=$(date +%s)
  pids=()
  for b in "${BINS[@]}"; do
    timeout 900 "${exe[$b]}" --test-threads 8 > "$logs/$round-$b.log" 2>&1 &
    pids+=($!)
  done
  status=ok
  for i in "${!BINS[@]}"; do
    if ! wait "${pids[$i]}"; then
      status=FAILED
      failed=1
      echo "round $round: ${BINS[$i]} FAILED:"
      grep -E "^test .* FAILED|panicked at|^    [a-z_]+$" "$logs/$round-${BINS[$i]}.log" | head -20
    fi
  done
  echo "round $round: $status in $(( $(date +%s) - start )) s"
done
echo "logs in $logs"
exit $failed
