#!/usr/bin/env python3
"""The asyncio peer for scripts/compare.py: N concurrent keep-alive users with aiohttp (on uvloop
when installed) hitting one URL for D seconds; prints one JSON line with requests, rps, p50, p99.

Usage: aio_client.py URL USERS SECONDS. Bounded by SECONDS; loopback targets only."""
import asyncio
import json
import sys
import time
from urllib.parse import urlparse

import aiohttp


async def user(session, url, deadline, lat):
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        try:
            async with session.get(url) as resp:
                await resp.read()
            lat.append(time.perf_counter() - t0)
        except aiohttp.ClientError:
            lat.append(-1.0)


async def main(url, users, seconds):
    conn = aiohttp.TCPConnector(limit=users, force_close=False)
    lat = []
    async with aiohttp.ClientSession(connector=conn) as session:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(user(session, url, deadline, lat) for _ in range(users)))
        elapsed = time.perf_counter() - start
    ok = sorted(x for x in lat if x >= 0)
    pct = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))] * 1e3 if ok else None
    print(json.dumps({"requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": pct(0.50),
                      "p99_ms": pct(0.99), "uvloop": UVLOOP}))


if __name__ == "__main__":
    url, users, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    host = urlparse(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit("aio_client.py: loopback targets only")
    try:
        import uvloop
        UVLOOP = True
        uvloop.install()
    except ImportError:
        UVLOOP = False
    asyncio.run(main(url, users, min(seconds, 600.0)))
