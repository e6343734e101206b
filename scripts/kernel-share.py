#!/usr/bin/env python3
"""How much of each server's CPU per request is the kernel's: ferredis next to redis-server.

Issue 7 asks for server CPU per request <= 0.7 of Redis's at -P 16. Both servers make the same
system calls per request, so their system time per request is about equal and caps how far the
total ratio can fall. This script measures that, for a few redis-benchmark tests at -P 1 and
-P 16 (-c 50 -r 100000 -d 3), on one pair of servers started with scripts/bench.py's settings:

1. cpu: user and system CPU seconds per 1M requests of each server (utime / stime from
   /proc/PID/stat around each run) and redis-benchmark's own CPU (% of one core), servers
   alternating each round; medians over the rounds.
2. syscalls: system calls per request by type, two ways: `strace -c -f -p PID` attached during
   a fixed `redis-benchmark -n N` (ptrace slows the server, which changes how many clients one
   epoll_wait finds ready, so epoll_wait counts under strace are perturbed; read/write are not),
   and `perf stat -e syscalls:sys_enter_*` tracepoints (exact counts, little overhead).
3. perf: `perf record -e cpu-clock -g -p PID` during get -P 16: share of samples in the kernel
   and its top symbols, for both servers.

Usage: python3 scripts/kernel-share.py [--ferredis-bin PATH] [--rounds N] [--phases cpu,syscalls,perf]
Writes raw data as JSON (--json) and prints markdown tables. Python standard library only;
needs strace and perf for phases 2 and 3 (a phase whose tool is missing is reported as such).
"""
import argparse
import json
import os
import re
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness's Server, Case and run_once)

TESTS = ("ping_mbulk", "get", "set", "lpush")
PIPELINES = (1, 16)
CPU_REQUESTS = {1: 100_000, 16: 800_000}     # per measured run: ~3 s each at these rates
TRACE_REQUESTS = {1: 20_000, 16: 200_000}
PERF_REQUESTS = 1_000_000                     # get -P 16 under perf record
SYSCALLS = ("read", "write", "writev", "recvfrom", "sendto", "sendmsg", "epoll_wait", "epoll_pwait",
            "epoll_ctl", "accept", "accept4", "close", "setsockopt", "fcntl", "getpid", "openat",
            "futex", "madvise", "mmap", "munmap", "brk")


def case_for(test, pipeline):
    return bench.Case(test, [test], test=test, pipeline=pipeline)


def bench_argv(server, test, pipeline, requests):
    return case_for(test, pipeline).argv(server.port, requests) + ["-q"]


# ----------------------------------------------------------------------------------------------
# 1. user / system CPU per request, client CPU
# ----------------------------------------------------------------------------------------------

def cpu_phase(servers, rounds):
    samples = {}
    for rnd in range(rounds):
        order = ["redis", "ferredis"] if rnd % 2 == 0 else ["ferredis", "redis"]
        for pipeline in PIPELINES:
            for test in TESTS:
                for name in order:
                    run = bench.run_once(servers[name], case_for(test, pipeline), CPU_REQUESTS[pipeline], 600)
                    samples.setdefault(f"{test} -P {pipeline}", {}).setdefault(name, []).append(run)
        bench.progress(f"cpu round {rnd + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}")
    return samples


def med(runs, metric):
    return statistics.median(r[metric] for r in runs)


def ratio_med(pair, metric):
    ratios = [f[metric] / r[metric] for r, f in zip(pair["redis"], pair["ferredis"]) if r[metric] > 0]
    return statistics.median(ratios) if ratios else float("nan")


def needed_user_ratio(pair, target):
    """User-time ratio ferredis/redis that a total CPU ratio of `target` would need, given the
    measured system times: (target * (U_r + S_r) - S_f) / U_r."""
    u_r, s_r, s_f = med(pair["redis"], "user_per_m"), med(pair["redis"], "sys_per_m"), med(pair["ferredis"], "sys_per_m")
    return (target * (u_r + s_r) - s_f) / u_r


def cpu_tables(samples):
    rows = ["| test | user s/1M r / f | user ratio | sys s/1M r / f | sys ratio | total ratio "
            "| sys share r / f | user ratio needed for total 0.7 / 0.9 | client CPU r / f | rps r / f |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, pair in samples.items():
        r, f = pair["redis"], pair["ferredis"]
        rows.append(
            f"| {key} | {med(r, 'user_per_m'):.2f} / {med(f, 'user_per_m'):.2f} | {ratio_med(pair, 'user_per_m'):.2f} "
            f"| {med(r, 'sys_per_m'):.2f} / {med(f, 'sys_per_m'):.2f} | {ratio_med(pair, 'sys_per_m'):.2f} "
            f"| {ratio_med(pair, 'cpu_per_m'):.2f} "
            f"| {med(r, 'sys_share') * 100:.0f}% / {med(f, 'sys_share') * 100:.0f}% "
            f"| {needed_user_ratio(pair, 0.7):.2f} / {needed_user_ratio(pair, 0.9):.2f} "
            f"| {med(r, 'client_cpu') * 100:.0f}% / {med(f, 'client_cpu') * 100:.0f}% "
            f"| {med(r, 'rps') / 1000:.0f}k / {med(f, 'rps') / 1000:.0f}k |")
    return rows


# ----------------------------------------------------------------------------------------------
# 2. system calls per request
# ----------------------------------------------------------------------------------------------

def attach(argv, ready_after=1.0):
    """Starts a tracer (strace / perf) on a server and gives it time to attach."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(ready_after)
    if proc.poll() is not None:
        raise RuntimeError(f"{argv[0]} exited: {proc.stderr.read()[-300:]}")
    return proc


def detach(proc):
    """SIGINT makes strace and perf stop, detach and write their summary."""
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def run_load(server, test, pipeline, requests):
    done = subprocess.run(bench_argv(server, test, pipeline, requests), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"redis-benchmark exit {done.returncode}: {done.stderr[-300:]}")


def parse_strace_summary(text):
    """calls per syscall name from `strace -c` output (columns: % time, seconds, usecs/call,
    calls, [errors], syscall)."""
    calls = {}
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) in (5, 6) and re.fullmatch(r"[\d.]+", tokens[0]) and tokens[-1] != "total":
            calls[tokens[-1]] = int(tokens[3])
    return calls


def strace_counts(server, test, pipeline, workdir):
    out = Path(workdir) / f"strace-{server.name}-{test}-{pipeline}.txt"
    proc = attach(["strace", "-c", "-f", "-p", str(server.proc.pid), "-o", str(out)])
    try:
        run_load(server, test, pipeline, TRACE_REQUESTS[pipeline])
    finally:
        detach(proc)
    return parse_strace_summary(out.read_text())


def perf_stat_counts(server, test, pipeline, workdir):
    out = Path(workdir) / f"perfstat-{server.name}-{test}-{pipeline}.csv"
    events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{name}" for name in SYSCALLS]
    proc = attach(["perf", "stat", "-x", ",", "-o", str(out), "-e", ",".join(events), "-p", str(server.proc.pid)])
    try:
        run_load(server, test, pipeline, TRACE_REQUESTS[pipeline])
    finally:
        detach(proc)
    calls = {}
    for line in out.read_text().splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].strip().isdigit():
            name = fields[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "ALL")
            calls[name] = int(fields[0])
    return calls


def syscall_phase(servers, tools, workdir):
    counts = {}
    for pipeline in PIPELINES:
        for test in TESTS:
            for name, server in servers.items():
                for tool in tools:
                    fn = strace_counts if tool == "strace" else perf_stat_counts
                    counts.setdefault(tool, {}).setdefault(f"{test} -P {pipeline}", {})[name] = \
                        fn(server, test, pipeline, workdir)
            bench.progress(f"syscalls: {test} -P {pipeline} done")
    return counts


def syscall_table(counts):
    rows = []
    for tool, per_test in counts.items():
        rows += ["", f"System calls per request ({tool}), redis / ferredis; only calls with >= 0.005 per request:", "",
                 "| test | " + ("all | " if tool != "strace" else "") + "calls per request by type |",
                 "|---|" + ("---:|" if tool != "strace" else "") + "---|"]
        for key, pair in per_test.items():
            requests = TRACE_REQUESTS[int(key.rsplit(" ", 1)[1])]
            names = sorted({n for calls in pair.values() for n in calls if n != "ALL"},
                           key=lambda n: -max(c.get(n, 0) for c in pair.values()))
            cells = [f"{n} {pair['redis'].get(n, 0) / requests:.3f} / {pair['ferredis'].get(n, 0) / requests:.3f}"
                     for n in names if max(c.get(n, 0) for c in pair.values()) / requests >= 0.005]
            total = ""
            if tool != "strace":
                total = f"{pair['redis'].get('ALL', 0) / requests:.3f} / {pair['ferredis'].get('ALL', 0) / requests:.3f} | "
            rows.append(f"| {key} | {total}{'; '.join(cells)} |")
    return rows


# ----------------------------------------------------------------------------------------------
# 3. perf record: the kernel's share of samples and its top symbols
# ----------------------------------------------------------------------------------------------

def perf_report(data, sort):
    done = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "-g", "none",
                           "--sort", sort, "--percent-limit", "0.5"], capture_output=True, text=True)
    rows = []
    for line in done.stdout.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(.*\S)", line)
        if match:
            rows.append((float(match.group(1)), re.sub(r"\s+", " ", match.group(2))))
    return rows


def perf_phase(servers, workdir):
    result = {}
    for name, server in servers.items():
        data = Path(workdir) / f"perf-{name}.data"
        proc = attach(["perf", "record", "-e", "cpu-clock", "-g", "-o", str(data), "-p", str(server.proc.pid)])
        try:
            run_load(server, "get", 16, PERF_REQUESTS)
        finally:
            detach(proc)
        result[name] = {"dso": perf_report(data, "dso"), "sym": perf_report(data, "dso,sym")}
        bench.progress(f"perf: {name} done")
    return result


def perf_tables(result):
    rows = []
    for name, rep in result.items():
        rows += ["", f"{name}, get -P 16, perf record -e cpu-clock: samples by DSO, then top symbols", "",
                 "| % samples | DSO |", "|---:|---|"]
        rows += [f"| {pct:.1f} | {what} |" for pct, what in rep["dso"][:6]]
        rows += ["", "| % samples | DSO / symbol |", "|---:|---|"]
        rows += [f"| {pct:.1f} | {what} |" for pct, what in rep["sym"][:25]]
    return rows


# ----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ferredis-bin", default=str(bench.FERREDIS_BIN))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--phases", default="cpu,syscalls,perf")
    ap.add_argument("--syscall-tools", default="strace,perf", help="strace and/or perf (perf stat tracepoints)")
    ap.add_argument("--json", help="write the raw data here")
    args = ap.parse_args()
    phases = args.phases.split(",")
    binaries = {"redis": shutil.which("redis-server"), "ferredis": args.ferredis_bin}
    maxclients = bench.pick_maxclients()
    workdir = tempfile.mkdtemp(prefix="kernel-share-")
    data = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "load_start": os.getloadavg()}
    lines = []
    servers = {name: bench.Server(name, binaries[name], maxclients) for name in ("redis", "ferredis")}
    try:
        for server in servers.values():
            server.start()
        if "cpu" in phases:
            data["cpu"] = cpu_phase(servers, args.rounds)
            lines += ["", f"CPU per request, medians of {args.rounds} rounds:", ""] + cpu_tables(data["cpu"])
        if "syscalls" in phases:
            tools = [t for t in args.syscall_tools.split(",") if shutil.which(t)]
            data["syscalls"] = syscall_phase(servers, tools, workdir)
            lines += syscall_table(data["syscalls"])
        if "perf" in phases and shutil.which("perf"):
            data["perf"] = perf_phase(servers, workdir)
            lines += perf_tables(data["perf"])
    finally:
        for server in servers.values():
            server.stop()
    data["ended"], data["load_end"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), os.getloadavg()
    header = [f"kernel-share: {data['started']} to {data['ended']}; load average (1/5/15 min) at start "
              f"{' '.join(f'{v:.2f}' for v in data['load_start'])}, at end {' '.join(f'{v:.2f}' for v in data['load_end'])}; "
              f"ferredis {binaries['ferredis']}; raw files in {workdir}"]
    print("\n".join(header + lines))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1, default=str))


if __name__ == "__main__":
    main()
