#!/usr/bin/env bash
# Client CPU seconds per 1,000 requests of one qpsbench binary, for A/B runs of two builds.
# Usage: scripts/cpu_per_request.sh BIN USERS REQUESTS [URL [RUN FLAGS...]]
# (RUN FLAGS are added to the run, e.g. --samples /tmp/s.csv, to measure what a flag costs)
# Start a target first, pinned to CPU 0 (e.g. nginx with scripts/nginx.conf, or
# `taskset -c 0 qpsbench serve --addr 127.0.0.1:18089 --threads 1`); the client runs on CPU 1.
# Bounded by REQUESTS; loopback only.
set -euo pipefail
BIN=$1; USERS=$2; N=$3; URL=${4:-http://127.0.0.1:18089/}
shift $(( $# < 4 ? $# : 4 ))
case "$URL" in http://127.*|http://localhost*|http://\[::1\]*) ;; *) echo "loopback targets only" >&2; exit 2;; esac
T=$(mktemp); J=$(mktemp)
trap 'rm -f "$T" "$J"' EXIT
/usr/bin/time -o "$T" -f "%U %S %M" taskset -c 1 "$BIN" run -u "$URL" -c "$USERS" -n "$N" -q --json "$J" "$@" >/dev/null 2>&1
python3 - "$(tail -1 "$T")" "$J" <<'PY'
import json, sys
u, s, m = sys.argv[1].split()
t = json.load(open(sys.argv[2]))["total"]
print(f"cpu/1k={(float(u) + float(s)) / t['requests'] * 1000:.4f} user={u} sys={s} "
      f"rss={int(m) // 1024}MiB qps={t['qps']:.0f} p99={t['latency_ms']['p99']}")
PY
