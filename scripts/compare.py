#!/usr/bin/env python3
"""qpsbench against its peers, side by side, on one loopback target (issue 6's harness).

The target (nginx with scripts/nginx.conf when installed, else `qpsbench serve --threads 1`) is
pinned to CPU 0 and each load generator to CPU 1 with taskset, so a client's own CPU cost is
measured apart from the server's. Every run is bounded (--duration seconds, a watchdog kills a
client that overruns by 30 s) and sends traffic to 127.0.0.1 only. Nothing is installed: a
missing peer is named with the command that installs it, and skipped.

Sections (pick with --only, default all):
  compare   qpsbench, wrk, oha, hey, ab, h2load, aiohttp at 1, 50 and 500 users, and the floor of
            the thread-per-user model: examples/std_threads.rs (plain std threads and sockets,
            no HTTP library), so the cost of the model and the cost of the work are told apart
  accuracy  --rps 1000/10000/30000 with 50 users: achieved rate and p99 send lag (qpsbench, oha)
  scale     1,000 and 10,000 users at a low rate: start-up time, RSS, RSS per user
  soak      RSS at 10 s and 120 s of a full-speed run; one million requests

Usage: scripts/compare.py [--only compare,accuracy] [--duration 10] [--reps 2] [--users 1,50,500]
"""
import argparse
import csv
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QPS = os.path.join(ROOT, "target", "release", "qpsbench")
FLOOR = os.path.join(ROOT, "target", "release", "examples", "std_threads")
PORT = 18088
URL = f"http://127.0.0.1:{PORT}/"
TARGET_CPU, CLIENT_CPU = "0", "1"

INSTALL = {
    "wrk": "apt-get install wrk",
    "hey": "apt-get install hey",
    "ab": "apt-get install apache2-utils",
    "h2load": "apt-get install nghttp2-client",
    "oha": "cargo install oha",
    "aiohttp": "pip install aiohttp uvloop",
    "nginx": "apt-get install nginx",
}


def pin(cpu, argv):
    return ["taskset", "-c", cpu, *argv] if shutil.which("taskset") else argv


def have(tool):
    if tool == "aiohttp":
        return subprocess.run([sys.executable, "-c", "import aiohttp"], capture_output=True).returncode == 0
    return shutil.which(tool) is not None


def proc_cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


class Target:
    """The server under load, pinned to CPU 0."""

    def __init__(self, kind):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix="qpsbench-target-")
        if kind == "nginx":
            with open(os.path.join(ROOT, "scripts", "nginx.conf")) as f:
                conf = f.read().replace("PREFIX", self.dir).replace("PORT", str(PORT))
            path = os.path.join(self.dir, "nginx.conf")
            with open(path, "w") as f:
                f.write(conf)
            argv = ["nginx", "-p", self.dir, "-c", path]
        else:
            argv = [QPS, "serve", "--addr", f"127.0.0.1:{PORT}", "--threads", "1"]
        self.proc = subprocess.Popen(pin(TARGET_CPU, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(URL, timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"compare.py: the {kind} target did not start on {URL}")

    def pids(self):
        pids = [self.proc.pid]
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
            pids += [int(p) for p in out.split()]
        except OSError:
            pass
        return pids

    def stop(self):
        self.proc.send_signal(signal.SIGTERM if self.kind != "nginx" else signal.SIGQUIT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_client(argv, budget_s, target):
    """Run one client to the end; returns (stdout, cpu_s, max_rss_kib, wall_s, target_cpu_s).

    GNU time measures the client (user+sys CPU and peak RSS, children included); `timeout`
    kills a client that overruns its budget by 30 s. Both are small C programs, so their own
    memory does not hide the client's (a fork of this Python process would)."""
    t_cpu0 = proc_cpu_seconds(target.pids()) if target else 0.0
    with tempfile.NamedTemporaryFile() as out_file, tempfile.NamedTemporaryFile(mode="r") as usage:
        full = ["/usr/bin/time", "-o", usage.name, "-f", "%U %S %M", "timeout", "-s", "KILL", str(int(budget_s + 30)), *pin(CLIENT_CPU, argv)]
        start = time.monotonic()
        subprocess.run(full, stdout=out_file, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wall = time.monotonic() - start
        out_file.seek(0)
        out = out_file.read().decode(errors="replace")
        fields = usage.read().split()[-3:]
    user, sys_, rss = float(fields[0]), float(fields[1]), int(fields[2])
    t_cpu = (proc_cpu_seconds(target.pids()) - t_cpu0) if target else 0.0
    return out, user + sys_, rss, wall, t_cpu


def ms(value, unit):
    factor = {"us": 1e-3, "ms": 1.0, "s": 1e3, "secs": 1e3}[unit]
    return float(value) * factor


def parse_qpsbench(out):
    j = json.loads(out)
    t = j["total"]
    return t["requests"], t["qps"], t["latency_ms"]["p50"], t["latency_ms"]["p99"]


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    pct = {m.group(1): ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", out, re.M)}
    return reqs, rps, pct.get("50"), pct.get("99")


def parse_oha(out):
    j = json.loads(out)
    s = j["summary"]
    p = j.get("latencyPercentiles", {})
    reqs = sum(j.get("statusCodeDistribution", {}).values()) + sum(j.get("errorDistribution", {}).values())
    return reqs, s["requestsPerSec"], (p.get("p50") or 0) * 1e3, (p.get("p99") or 0) * 1e3


def parse_hey(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = sum(int(n) for n in re.findall(r"\[\d+\]\s+(\d+) responses", out))
    pct = {m.group(1): ms(m.group(2), "s") for m in re.finditer(r"^\s+(50|99)%+ in ([\d.]+) secs", out, re.M)}
    return reqs, rps, pct.get("50"), pct.get("99")


def parse_ab(out):
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    pct = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\d+)", out, re.M)}
    return reqs, rps, pct.get("50"), pct.get("99")


def parse_h2load(out):
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    reqs = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", out).group(1))
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    return reqs, float(m.group(1)), (ms(mean.group(1), mean.group(2)) if mean else None), None


def clients(users, seconds):
    d = str(seconds)
    return {
        "qpsbench": ([QPS, "run", "--url", URL, "--users", str(users), "--duration", d, "--quiet", "--json", "-"], parse_qpsbench),
        "wrk": (["wrk", "-t1", f"-c{users}", f"-d{d}s", "--latency", URL], parse_wrk),
        "oha": (["oha", "-z", f"{d}s", "-c", str(users), "--no-tui", "--output-format", "json", URL], parse_oha),
        "hey": (["hey", "-z", f"{d}s", "-c", str(users), URL], parse_hey),
        "ab": (["ab", "-k", "-q", "-c", str(users), "-t", d, "-n", "100000000", URL], parse_ab),
        "h2load": (["h2load", "--h1", "-t", "1", "-c", str(users), "-D", d, URL], parse_h2load),
        "aiohttp": ([sys.executable, os.path.join(ROOT, "scripts", "aio_client.py"), URL, str(users), d], parse_line),
        "std-threads": ([FLOOR, URL, str(users), d], parse_line),
    }


def parse_line(out):
    j = json.loads(out)
    return j["requests"], j["rps"], j["p50_ms"], j["p99_ms"]


def fmt(x, digits=2):
    return "-" if x is None else f"{x:,.{digits}f}"


def section_compare(args, target):
    names = ["qpsbench", "wrk", "oha", "hey", "ab", "h2load", "aiohttp", "std-threads"]
    present = [n for n in names if n in ("qpsbench", "std-threads") or have(n)]
    for n in names:
        if n not in present:
            print(f"> {n} is missing, skipped: {INSTALL[n]}", file=sys.stderr)
    print(f"\n### Clients side by side ({args.duration} s per run, median of {args.reps}; target {target.kind} on CPU {TARGET_CPU}, client on CPU {CLIENT_CPU})\n")
    print("| users | client | req/s | p50 ms | p99 ms | client CPU s per 1k req | vs oha | peak RSS MiB | target CPU % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for users in args.users:
        rows = {}
        # Repetitions interleave the clients (a, b, c, a, b, c ...), so that a slow spell of
        # this shared machine lands on every client alike instead of on one client's runs.
        all_runs = {name: [] for name in present}
        for _ in range(args.reps):
            for name in present:
                argv, parse = clients(users, args.duration)[name]
                out, cpu, rss, wall, tcpu = run_client(argv, args.duration, target)
                try:
                    reqs, rps, p50, p99 = parse(out)
                except (ValueError, AttributeError, KeyError, TypeError) as e:
                    print(f"> {name} at {users} users: could not read its output ({e!r})", file=sys.stderr)
                    continue
                all_runs[name].append((rps, p50, p99, cpu / max(reqs, 1) * 1000, rss / 1024, tcpu / wall * 100))
        for name in present:
            runs = all_runs[name]
            if runs:
                rows[name] = [statistics.median([r[i] for r in runs if r[i] is not None]) if any(r[i] is not None for r in runs) else None for i in range(6)]
        oha = rows.get("oha", [None] * 6)[3]
        for name, (rps, p50, p99, cpu_k, rss, tshare) in rows.items():
            ratio = f"{cpu_k / oha:.2f}x" if oha else "-"
            print(f"| {users} | {name} | {fmt(rps, 0)} | {fmt(p50)} | {fmt(p99)} | {fmt(cpu_k, 4)} | {ratio} | {fmt(rss, 1)} | {fmt(tshare, 0)} |")
        sys.stdout.flush()


def section_accuracy(args, target):
    print(f"\n### Open-model pacing accuracy (50 users, {args.duration} s, median of {args.reps})\n")
    print("| target req/s | client | achieved req/s | achieved / target | p99 send lag ms | late slots | client CPU s |")
    print("|---|---|---|---|---|---|---|")
    for rate in (1000, 10000, 30000):
        runs = []
        for _ in range(args.reps):
            out, cpu, _, _, _ = run_client([QPS, "run", "--url", URL, "--users", "50", "--rps", str(rate), "--duration", str(args.duration), "--quiet", "--json", "-"], args.duration, target)
            t = json.loads(out)["total"]
            runs.append((t["qps"], t["send_lag_ms"]["p99"], t["late_slots"], cpu))
        med = [statistics.median(r[i] for r in runs) for i in range(4)]
        print(f"| {rate} | qpsbench | {fmt(med[0], 0)} | {med[0] / rate:.4f} | {fmt(med[1], 3)} | {med[2]:,.0f} | {fmt(med[3])} |")
        if have("oha"):
            runs = []
            for _ in range(args.reps):
                out, cpu, _, _, _ = run_client(["oha", "-z", f"{args.duration}s", "-c", "50", "-q", str(rate), "--no-tui", "--output-format", "json", URL], args.duration, target)
                try:
                    runs.append((parse_oha(out)[1], cpu))
                except (ValueError, KeyError):
                    pass
            if runs:
                rps, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
                print(f"| {rate} | oha | {fmt(rps, 0)} | {rps / rate:.4f} | - | - | {fmt(cpu)} |")
        sys.stdout.flush()


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def section_scale(args, target):
    print("\n### Many users at a low rate (qpsbench serve as the target holds idle connections cheaply)\n")
    print("| users | start-up s (`--requests 1` wall time) | peak RSS MiB (10 s at 1,000 req/s) | RSS per user KiB |")
    print("|---|---|---|---|")
    base = None
    for users in (1, 1000, 10000):
        _, _, _, wall, _ = run_client([QPS, "run", "--url", URL, "--users", str(users), "--requests", "1", "--quiet", "--json", "-"], 30, None)
        _, _, rss, _, _ = run_client([QPS, "run", "--url", URL, "--users", str(users), "--rps", "1000", "--duration", "10", "--quiet", "--json", "-"], 10, None)
        base = base if base is not None else rss
        per = (rss - base) / (users - 1) if users > 1 else None
        print(f"| {users} | {wall:.2f} | {rss / 1024:.1f} | {fmt(per, 1)} |")
        sys.stdout.flush()


def section_soak(args, target):
    print("\n### Soak: memory over time at full speed (50 users)\n")
    # --csv, not --json: the JSON report keeps every second's histogram for `merge`, which is
    # memory that grows with the run; the soak measures the run itself.
    proc = subprocess.Popen(pin(CLIENT_CPU, [QPS, "run", "--url", URL, "--users", "50", "--duration", "125", "--quiet", "--csv", "-"]), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    samples = {}
    start = time.monotonic()
    for mark in (10, 30, 60, 90, 120):
        while time.monotonic() - start < mark:
            time.sleep(0.2)
        samples[mark] = rss_kib(proc.pid)
    out, _ = proc.communicate(timeout=60)
    rows = list(csv.DictReader(io.StringIO(out)))
    row = next(r for r in rows if r.get("stage") == "total")
    total = {"requests": int(row["requests"]), "qps": float(row["qps"])}
    print("| at | RSS MiB |")
    print("|---|---|")
    for mark, kib in samples.items():
        print(f"| {mark} s | {fmt((kib or 0) / 1024, 1)} |")
    growth = (samples[120] - samples[10]) / samples[10] * 100 if samples.get(10) and samples.get(120) else None
    print(f"\nRSS from 10 s to 120 s: {fmt(growth, 1)}% ({total['requests']:,} requests, {total['qps']:,.0f} req/s)\n")
    out, cpu, rss, wall, _ = run_client([QPS, "run", "--url", URL, "--users", "50", "--requests", "1000000", "--quiet", "--json", "-"], 600, None)
    t = json.loads(out)["total"]
    print(f"One million requests (`--users 50 --requests 1000000`): {t['requests']:,} requests in {wall:.1f} s wall, {t['qps']:,.0f} req/s, peak RSS {rss / 1024:.1f} MiB, client CPU {cpu:.1f} s.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="compare,accuracy,scale,soak")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--users", default="1,50,500")
    ap.add_argument("--target", choices=["auto", "nginx", "qpsbench"], default="auto")
    args = ap.parse_args()
    args.users = [int(u) for u in args.users.split(",")]
    args.duration = max(1, min(args.duration, 120))
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("compare.py needs GNU time for CPU and memory figures: apt-get install time")
    # Say so before the build: a first release build takes minutes on two cores and would
    # otherwise look like a hang. Cargo's own progress goes to stderr.
    print("> building qpsbench and examples/std_threads (release; minutes on a first build) ...",
          file=sys.stderr, flush=True)
    t0 = time.monotonic()
    subprocess.run(["cargo", "build", "--release", "--bin", "qpsbench", "--example", "std_threads"], cwd=ROOT, check=True)
    print(f"> built in {time.monotonic() - t0:.0f} s; measuring (sections: {args.only})", file=sys.stderr, flush=True)
    only = set(args.only.split(","))
    kind = args.target if args.target != "auto" else ("nginx" if have("nginx") else "qpsbench")
    if kind == "nginx" and not have("nginx"):
        print(f"> nginx is missing: {INSTALL['nginx']}; using qpsbench serve", file=sys.stderr)
        kind = "qpsbench"
    print(f"Machine: {os.cpu_count()} CPUs; {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
    if only & {"compare", "accuracy"}:
        target = Target(kind)
        try:
            if "compare" in only:
                section_compare(args, target)
            if "accuracy" in only:
                section_accuracy(args, target)
        finally:
            target.stop()
    if only & {"scale", "soak"}:
        target = Target("qpsbench" if "scale" in only else kind)
        try:
            if "scale" in only:
                section_scale(args, target)
            if "soak" in only:
                section_soak(args, target)
        finally:
            target.stop()


if __name__ == "__main__":
    main()
