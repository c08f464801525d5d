#!/usr/bin/env bash
# User-space instructions per request of one qpsbench binary, counted by callgrind: unlike CPU
# time on a shared 2-core VM, the count repeats to within a fraction of a percent, so it shows
# what a change to the per-request path saves. Prints the total per request and the top
# inclusive entries (ureq's share, the collector's, ...).
# Usage: scripts/instructions.sh BIN [REQUESTS] [URL]
# Start a target first (e.g. nginx with scripts/nginx.conf, or
# `qpsbench serve --addr 127.0.0.1:18089 --threads 1`). One user; bounded by REQUESTS
# (default 20000); loopback only. Needs valgrind (apt-get install valgrind).
set -euo pipefail
BIN=$1; N=${2:-20000}; URL=${3:-http://127.0.0.1:18089/}
case "$URL" in http://127.*|http://localhost*|http://\[::1\]*) ;; *) echo "loopback targets only" >&2; exit 2;; esac
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 2; }
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
timeout 600 valgrind --tool=callgrind --callgrind-out-file="$OUT" "$BIN" run -u "$URL" -c 1 -n "$N" -q >/dev/null 2>&1
callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | python3 -c '
import re, sys
n = int(sys.argv[1])
rows = []
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if m:
        rows.append((int(m.group(1).replace(",", "")), m.group(2)))
total = next(v for v, name in rows if "PROGRAM TOTALS" in name)
print(f"{total / n:,.0f} instructions per request ({n:,} requests, 1 user)")
want = ("User::run ", "User::read_body", "ureq::run::run ", "collector::collect ", "Builder::and_then", "memset", "memmove", "memcpy")
seen = set()
for v, name in rows:
    short = re.sub(r" \[.*", "", name.split(":", 1)[-1] if name.startswith("???") else name)
    key = next((w for w in want if w in name + " "), None)
    if key and key not in seen:
        seen.add(key)
        print(f"  {v / n:>9,.0f}  {short[:110]}")
' "$N"
