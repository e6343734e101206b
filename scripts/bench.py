#!/usr/bin/env python3
"""Side-by-side benchmark of ferredis against the real redis-server 7.0.15.

Usage: scripts/bench.sh [--quick]   (a thin wrapper around this file; see docs/benchmarks.md)

The machine this runs on is small (2 cores) and shared, so absolute numbers drift from one
minute to the next. Every comparison is therefore a ratio between two runs made back to back in
the same round (ferredis / redis), the order of the two servers alternating each round, and the
figure reported is the median of the per-round ratios. The server's CPU time per request is
reported next to the throughput because on 2 cores redis-benchmark itself is often the
bottleneck: requests/s then says little, CPU seconds spent by the server per request says more.

Python standard library only. Starts its own servers on free loopback ports and stops them on
exit, Ctrl-C or SIGTERM included.
"""
import argparse
import contextlib
import datetime
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FERREDIS_BIN = ROOT / "target" / "release" / "ferredis-server"
LATEST_REPORT = ROOT / "docs" / "benchmarks-latest.md"
CLK_TCK = os.sysconf("SC_CLK_TCK")
HZ = 10                      # Redis's default; passed explicitly to both servers
KEYSPACE = 100_000           # -r for the per-command tests
SIZE_KEYSPACE = 1_000        # -r for the value-size tests: 1000 x 100 KiB stays at ~100 MB
LIST_FOR_LRANGE = 600        # elements pushed to mylist before the lrange_* tests
BUSY_LOAD = 1.5              # a 1-minute load average above this means "noisy machine"


# ----------------------------------------------------------------------------------------------
# RESP client (just enough for control commands and pipelined loading)
# ----------------------------------------------------------------------------------------------

class RespError(Exception):
    """An error reply (-ERR ...) from the server."""


def encode(args):
    """One command as a RESP multibulk."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class Conn:
    """A blocking RESP2 connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        with contextlib.suppress(OSError):
            self.rfile.close()
            self.sock.close()

    def read_reply(self):
        """One reply; an error reply is returned as a RespError value, not raised, so that a
        pipeline stays in step with its replies."""
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self.rfile.read(size + 2)[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.read_reply() for _ in range(count)]
        raise ConnectionError(f"unexpected reply line {line[:80]!r}")

    def call(self, *args):
        self.sock.sendall(encode(args))
        reply = self.read_reply()
        if isinstance(reply, RespError):
            raise reply
        return reply

    def pipeline(self, encoded_commands):
        """Sends already-encoded commands in one write; returns the list of error replies."""
        self.sock.sendall(b"".join(encoded_commands))
        replies = [self.read_reply() for _ in encoded_commands]
        return [r for r in replies if isinstance(r, RespError)]


def info_field(conn, section, field):
    """One field of INFO <section> as a string, or None when the server does not report it."""
    text = conn.call("INFO", section).decode()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return value.strip()
    return None


def implemented(conn, command):
    """False when COMMAND INFO <command> answers a null entry (the command does not exist)."""
    reply = conn.call("COMMAND", "INFO", command)
    return bool(reply) and reply[0] is not None


# ----------------------------------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------------------------------

def proc_cpu_times(pid):
    """(utime, stime) in seconds of process pid, all threads, from /proc/<pid>/stat (fields 14
    and 15; the command name in brackets may hold spaces, so split after its closing ')')."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def free_port():
    """A loopback port nobody listens on right now: bind port 0 and let the kernel choose."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_args(port, maxclients, workdir):
    """The settings both servers run with: no persistence, same hz and maxclients."""
    return ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--hz", str(HZ), "--maxclients", str(maxclients), "--daemonize", "no",
            "--dir", str(workdir), "--logfile", str(Path(workdir) / "server.log")]


class Server:
    """One server process we started (so one we may stop), with a control connection."""

    def __init__(self, name, binary, maxclients, extra_args=()):
        self.name, self.binary, self.maxclients = name, str(binary), maxclients
        # Appended after the common settings (e.g. replication directives); empty by default.
        self.extra_args = [str(a) for a in extra_args]
        self.proc = self.ctl = self.port = self.workdir = None

    def command_line(self):
        """For the report: the exact command with the port left as a placeholder."""
        args = server_args("PORT", self.maxclients, "DIR") + self.extra_args
        return " ".join([self.binary] + [a if a else '""' for a in args])

    def start(self):
        self.workdir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        self.port = free_port()
        argv = [self.binary] + server_args(self.port, self.maxclients, self.workdir) + self.extra_args
        # A session of its own: Ctrl-C reaches this script, which then stops the server cleanly.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.ctl = self._connect_to_own_process()
        return self

    def _connect_to_own_process(self):
        """Waits for PING and checks INFO's process_id, so we never talk to someone else's server
        that happened to grab the port first."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.workdir}/server.log")
            with contextlib.suppress(OSError):
                conn = Conn(self.port)
                if conn.call("PING") == "PONG":
                    pid = info_field(conn, "server", "process_id")
                    if pid != str(self.proc.pid):
                        conn.close()
                        raise RuntimeError(f"port {self.port} answered with pid {pid}, not ours")
                    return conn
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer PING on port {self.port}")

    def stop(self):
        if self.ctl:
            self.ctl.close()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.proc = self.ctl = None

    def cpu_times(self):
        """(utime, stime) of the whole process (all threads) from /proc/<pid>/stat, in seconds.
        stime is the kernel's work on the server's behalf: socket reads and writes, epoll."""
        return proc_cpu_times(self.proc.pid)

    def cpu_seconds(self):
        """utime + stime of the whole process (all threads)."""
        return sum(self.cpu_times())

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS line")

    def error_replies(self):
        return int(info_field(self.ctl, "stats", "total_error_replies") or 0)


@contextlib.contextmanager
def running(server):
    server.start()
    try:
        yield server
    finally:
        server.stop()


def pick_maxclients():
    """maxclients for both servers: room for -c 1000 plus slack, within the fd limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 10_032 and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = 10_032 if hard == resource.RLIM_INFINITY else min(hard, 10_032)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return max(64, min(10_000, soft - 32))


# ----------------------------------------------------------------------------------------------
# redis-benchmark runs
# ----------------------------------------------------------------------------------------------

class Case:
    """One redis-benchmark configuration: a built-in test (-t) or a custom command."""

    def __init__(self, label, needs, test=None, command=None, clients=50, pipeline=1,
                 datasize=3, keyspace=KEYSPACE, setup=None):
        self.label, self.needs, self.test, self.command = label, needs, test, command
        self.clients, self.pipeline, self.datasize, self.keyspace = clients, pipeline, datasize, keyspace
        self.setup = setup

    def argv(self, port, requests):
        argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
                "-c", str(self.clients), "-P", str(self.pipeline), "-d", str(self.datasize),
                "-r", str(self.keyspace)]
        return argv + (["-t", self.test] if self.test else list(self.command))

    def shown_argv(self):
        shown = [a if a != "*" else "'*'" for a in self.argv("PORT", "N")]
        return " ".join(shown)


def fill_list_for_lrange(server):
    """lrange_N tests read mylist's first N elements: give it 600 elements of 3 bytes."""
    server.ctl.call("DEL", "mylist")
    server.ctl.call("RPUSH", "mylist", *(["xxx"] * LIST_FOR_LRANGE))


class BenchFailure(Exception):
    """redis-benchmark failed, timed out, or printed something we cannot parse."""


def parse_benchmark_output(text):
    """rps, p50, p99 (latency summary) and p99.9 (percentile distribution) from the full
    output of one redis-benchmark 7.0 test."""
    text = text.replace("\r", "\n")
    rps = re.search(r"throughput summary: ([\d.]+) requests per second", text)
    summary = re.search(r"avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.\s]+)\n", text)
    points = [(float(pct), float(ms), int(count)) for pct, ms, count in re.findall(
        r"([\d.]+)% <= ([\d.]+) milliseconds \(cumulative count (\d+)\)",
        text.split("Cumulative distribution of latencies")[0])]
    if not (rps and summary and points):
        raise BenchFailure("cannot parse redis-benchmark output: " + text[-400:])
    values = [float(v) for v in summary.group(1).split()]
    total = points[-1][2]
    p999 = next(ms for _, ms, count in points if count >= math.ceil(0.999 * total))
    return {"rps": float(rps.group(1)), "p50": values[2], "p99": values[4], "p999": p999}


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(server, case, requests, timeout):
    """One redis-benchmark run against one server, with the server's CPU time around it."""
    errors_before, (user_before, sys_before) = server.error_replies(), server.cpu_times()
    client_before, started = children_cpu_seconds(), time.monotonic()
    try:
        proc = subprocess.run(case.argv(server.port, requests), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchFailure(f"redis-benchmark timed out after {timeout:.0f}s") from None
    wall = time.monotonic() - started
    user_after, sys_after = server.cpu_times()
    user, system = user_after - user_before, sys_after - sys_before
    cpu = user + system
    client_cpu = children_cpu_seconds() - client_before
    if proc.returncode != 0:
        raise BenchFailure(f"redis-benchmark exit {proc.returncode}: {proc.stderr[-300:]}")
    errors = server.error_replies() - errors_before
    if errors:
        raise BenchFailure(f"{errors} error replies from {server.name}")
    sample = parse_benchmark_output(proc.stdout)
    sample.update(cpu_per_m=cpu / requests * 1e6, user_per_m=user / requests * 1e6,
                  sys_per_m=system / requests * 1e6, sys_share=system / cpu if cpu > 0 else 0.0,
                  server_cpu=cpu / wall, client_cpu=client_cpu / wall, wall=wall)
    return sample


def run_case(servers, case, plan):
    """All rounds of one case on both servers; returns a result dict with a status."""
    result = {"case": case, "rounds": [], "n": None}
    try:
        missing = [c for c in case.needs if not implemented(servers["ferredis"].ctl, c)]
        if missing:
            result["status"] = "n/a (not implemented: " + ", ".join(m.upper() for m in missing) + ")"
            return result
        for server in servers.values():
            if case.setup:
                case.setup(server)
        requests = plan.requests_for(servers, case)
        result["n"] = requests
        for rnd in range(plan.rounds):
            order = ["redis", "ferredis"] if rnd % 2 == 0 else ["ferredis", "redis"]
            result["rounds"].append({name: run_once(servers[name], case, requests, plan.timeout())
                                     for name in order})
        result["status"] = "ok"
    except (BenchFailure, RespError, ConnectionError, OSError) as err:
        result["status"] = f"error: {err}"
    return result


class Plan:
    """How many requests and rounds. Full runs calibrate -n so that each run lasts about
    target seconds; quick runs use small fixed counts and one round."""

    def __init__(self, quick, rounds=None):
        self.quick = quick
        self.rounds = rounds or (1 if quick else 5)
        self.target_seconds = 1.5

    def base_requests(self, case):
        if self.quick:
            return max(2 * case.clients, 20_000 if case.pipeline > 1 else 2_000)
        if case.datasize >= 100_000:
            return 1_000
        return max(4 * case.clients, 20_000 if case.pipeline > 1 else 5_000)

    def requests_for(self, servers, case):
        """Quick: fixed. Full: one short calibration run per server (also a warm-up), then
        n = geometric mean of the two rates x target seconds, rounded to a multiple of c*P."""
        base = self.base_requests(case)
        if self.quick:
            return base
        rates = [run_once(s, case, base, 300)["rps"] for s in servers.values()]
        requests = math.sqrt(rates[0] * rates[1]) * self.target_seconds
        step = case.clients * case.pipeline
        return int(max(base, min(requests, 20_000_000)) // step * step) or step

    def timeout(self):
        return 300 if self.quick else 600


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------

BUILTIN_TESTS = [("ping_inline", ["ping"]), ("ping_mbulk", ["ping"]), ("set", ["set"]),
                 ("get", ["get"]), ("incr", ["incr"]), ("lpush", ["lpush"]), ("rpush", ["rpush"]),
                 ("lpop", ["lpop"]), ("rpop", ["rpop"]), ("sadd", ["sadd"]), ("hset", ["hset"]),
                 ("spop", ["spop"]), ("zadd", ["zadd"]), ("zpopmin", ["zpopmin"])]


def command_cases(pipeline):
    """redis-benchmark's own tests at -c 50. lrange_N runs as the custom command
    LRANGE mylist 0 N-1 (what the built-in test sends) on a prepared 600-element list: the
    built-in test would first run an LPUSH phase in the same process and its CPU would be
    counted with LRANGE's."""
    cases = [Case(name, needs, test=name, pipeline=pipeline) for name, needs in BUILTIN_TESTS]
    for count in (100, 300, 500, 600):
        cases.append(Case(f"lrange_{count}", ["lrange", "rpush"], pipeline=pipeline,
                          command=["LRANGE", "mylist", "0", str(count - 1)],
                          setup=fill_list_for_lrange))
    cases.append(Case("mset", ["mset"], test="mset", pipeline=pipeline))
    cases.append(Case("xadd", ["xadd"], command=["XADD", "mystream", "*", "field", "value"],
                      pipeline=pipeline))
    return cases


def connection_cases():
    return [Case(f"{t.upper()} -c {c}", [t], test=t, clients=c) for c in (1, 50, 1000) for t in ("set", "get")]


def size_cases():
    return [Case(f"{t.upper()} -d {d}", [t], test=t, datasize=d, keyspace=SIZE_KEYSPACE)
            for d in (3, 1024, 102400) for t in ("set", "get")]


# ----------------------------------------------------------------------------------------------
# Resize latency probe (reuses scripts/latency_probe.py, as scripts/resize-latency.sh does)
# ----------------------------------------------------------------------------------------------

def probe_sizes(quick):
    """(-r, -n) of the key-growth probe. Issue 7 asks for the worst probe latency while 5M keys
    are inserted: n random keys out of r give r * (1 - exp(-n/r)) distinct ones, 5.18M for
    -r 20M -n 6M (the report's DBSIZE row gives the real count)."""
    return (200_000, 400_000) if quick else (20_000_000, 6_000_000)


def expected_distinct(keyspace, requests):
    return keyspace * (1 - math.exp(-requests / keyspace))


def probe_argv(port, keyspace, requests):
    return ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set",
            "-r", str(keyspace), "-n", str(requests), "-P", "32", "-q"]


def probe_once(server, keyspace, requests):
    """Fresh server: a PING every ms on one connection while redis-benchmark inserts keys."""
    until = Path(server.workdir) / "done"
    probe = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "latency_probe.py"),
                              "--port", str(server.port), "--until", str(until)],
                             stdout=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        bench = subprocess.run(probe_argv(server.port, keyspace, requests), capture_output=True,
                               text=True, timeout=1800)
        load_seconds = time.monotonic() - started
    finally:
        until.touch()
        out, _ = probe.communicate(timeout=60)
    if bench.returncode != 0:
        raise BenchFailure(f"redis-benchmark exit {bench.returncode}: {bench.stderr[-300:]}")
    fields = dict(kv.split("=") for kv in out.split())
    return {"keys": server.ctl.call("DBSIZE"), "load_s": load_seconds,
            "max_ms": float(fields["max_ms"]), "avg_ms": float(fields["avg_ms"]),
            "samples": int(fields["samples"])}


def run_probe(binaries, maxclients, quick, rounds_wanted=None):
    keyspace, requests = probe_sizes(quick)
    rounds = []
    for rnd in range(rounds_wanted or (1 if quick else 3)):
        order = ["redis", "ferredis"] if rnd % 2 == 0 else ["ferredis", "redis"]
        one = {}
        for name in order:
            with running(Server(name, binaries[name], maxclients)) as server:
                one[name] = probe_once(server, keyspace, requests)
        rounds.append(one)
    return {"keyspace": keyspace, "requests": requests, "rounds": rounds}


# ----------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------

def median_of(rounds, name, metric):
    return statistics.median(r[name][metric] for r in rounds)


def ratio_cell(rounds, metric):
    """Median of per-round ferredis/redis ratios, with the range when there are several."""
    ratios = [r["ferredis"][metric] / r["redis"][metric] for r in rounds if r["redis"][metric] > 0]
    if not ratios:
        return "—"
    mid = statistics.median(ratios)
    return f"{mid:.2f}" if len(ratios) == 1 else f"{mid:.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def pair_cell(rounds, metric, fmt):
    return f"{fmt(median_of(rounds, 'redis', metric))} / {fmt(median_of(rounds, 'ferredis', metric))}"


def fmt_rps(v):
    return f"{v / 1000:.1f}k" if v < 1e6 else f"{v / 1e6:.2f}M"


def fmt_ms(v):
    return f"{v:.3f}"


def fmt_cpu(v):
    return f"{v:.2f}"


def fmt_pct(v):
    return f"{v * 100:.0f}%"


def case_table(results, columns, first="test"):
    """One row per case: `columns` are (header, alignment, cell(result)) triples; a case that
    did not run shows its status in the first data column."""
    rows = [f"| {first} | " + " | ".join(h for h, _, _ in columns) + " |",
            "|---|" + "|".join(a for _, a, _ in columns) + "|"]
    for res in results:
        label, rounds = res["case"].label, res["rounds"]
        if res["status"] != "ok":
            rows.append(f"| {label} | {res['status']} |" + " |" * (len(columns) - 1))
            continue
        rows.append(f"| {label} | " + " | ".join(cell(res) for _, _, cell in columns) + " |")
    return rows


def throughput_table(results):
    return case_table(results, [
        ("n", "---:", lambda res: str(res["n"])),
        ("rps redis / ferredis", "---:", lambda res: pair_cell(res["rounds"], "rps", fmt_rps)),
        ("rps ratio f/r", "---:", lambda res: ratio_cell(res["rounds"], "rps")),
        ("server CPU s per 1M req r / f", "---:", lambda res: pair_cell(res["rounds"], "cpu_per_m", fmt_cpu)),
        ("CPU ratio f/r", "---:", lambda res: ratio_cell(res["rounds"], "cpu_per_m")),
        ("server CPU use r / f", "---:", lambda res: pair_cell(res["rounds"], "server_cpu", fmt_pct)),
        ("client CPU use r / f", "---:", lambda res: pair_cell(res["rounds"], "client_cpu", fmt_pct)),
    ])


def cpu_split_table(results):
    """Server CPU per request split into user and system (kernel) time, with the kernel's share
    of each server's CPU: equal system time caps how far the total ratio can fall."""
    return case_table(results, [
        ("user s per 1M r / f", "---:", lambda res: pair_cell(res["rounds"], "user_per_m", fmt_cpu)),
        ("user ratio f/r", "---:", lambda res: ratio_cell(res["rounds"], "user_per_m")),
        ("system s per 1M r / f", "---:", lambda res: pair_cell(res["rounds"], "sys_per_m", fmt_cpu)),
        ("system ratio f/r", "---:", lambda res: ratio_cell(res["rounds"], "sys_per_m")),
        ("system share of server CPU r / f", "---:", lambda res: pair_cell(res["rounds"], "sys_share", fmt_pct)),
        ("client CPU use r / f", "---:", lambda res: pair_cell(res["rounds"], "client_cpu", fmt_pct)),
    ])


def latency_columns(metric, label):
    """The two columns of one percentile: both servers' medians in ms, then the ratio."""
    return [(f"{label} ms r / f", "---:", lambda res: pair_cell(res["rounds"], metric, fmt_ms)),
            (f"{label} ratio", "---:", lambda res: ratio_cell(res["rounds"], metric))]


def latency_table(results):
    return case_table(results, latency_columns("p50", "p50") + latency_columns("p99", "p99")
                      + latency_columns("p999", "p99.9"))


def compact_table(results):
    return case_table(results, [
        ("n", "---:", lambda res: str(res["n"])),
        ("rps r / f", "---:", lambda res: pair_cell(res["rounds"], "rps", fmt_rps)),
        ("rps ratio", "---:", lambda res: ratio_cell(res["rounds"], "rps")),
        ("p50 ms r / f", "---:", lambda res: pair_cell(res["rounds"], "p50", fmt_ms)),
        ("p99 ms r / f", "---:", lambda res: pair_cell(res["rounds"], "p99", fmt_ms)),
        ("p99 ratio", "---:", lambda res: ratio_cell(res["rounds"], "p99")),
        ("CPU s/1M r / f", "---:", lambda res: pair_cell(res["rounds"], "cpu_per_m", fmt_cpu)),
        ("CPU ratio", "---:", lambda res: ratio_cell(res["rounds"], "cpu_per_m")),
    ], first="case")


def geomean_line(results, metric, what):
    ratios = []
    for res in results:
        per_round = [r["ferredis"][metric] / r["redis"][metric] for r in res["rounds"] if r["redis"][metric] > 0]
        if res["status"] == "ok" and per_round and statistics.median(per_round) > 0:
            ratios.append(statistics.median(per_round))
    if not ratios:
        return f"- {what}: no test measured"
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    return f"- {what}: geometric mean of the per-test median ratios over {len(ratios)} tests = **{geo:.2f}**"


def status_line(results):
    ok = sum(r["status"] == "ok" for r in results)
    na = sum(r["status"].startswith("n/a") for r in results)
    failed = len(results) - ok - na
    return f"- cases: {len(results)}; measured: {ok}; n/a (not implemented): {na}; errors: {failed}"


def probe_table(probe):
    rows = ["| | redis | ferredis | ratio f/r |", "|---|---:|---:|---:|"]
    rounds = probe["rounds"]
    for metric, label, fmt in (("keys", "keys inserted (DBSIZE)", str), ("load_s", "load time s", lambda v: f"{v:.1f}"),
                               ("avg_ms", "probe avg RTT ms", fmt_ms), ("max_ms", "probe max RTT ms", fmt_ms)):
        rows.append(f"| {label} (median of {len(rounds)}) | {fmt(median_of(rounds, 'redis', metric))} "
                    f"| {fmt(median_of(rounds, 'ferredis', metric))} | {ratio_cell(rounds, metric)} |")
    per_round = ", ".join(f"{r['redis']['max_ms']:.1f} / {r['ferredis']['max_ms']:.1f}" for r in rounds)
    rows.append("")
    rows.append(f"Probe max RTT per round, redis / ferredis (ms): {per_round}")
    return rows


def run_text(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return "?"


def machine_description(binaries):
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    commit = run_text(["git", "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "diff-index", "--quiet", "HEAD", "--"], cwd=ROOT).returncode != 0
    built = datetime.datetime.fromtimestamp(Path(binaries["ferredis"]).stat().st_mtime).isoformat(timespec="seconds")
    return [f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
            f"- machine: {os.cpu_count()} CPUs (nproc {run_text(['nproc'])}), model name: {model}, "
            f"kernel {platform.release()}",
            f"- redis-server: {run_text([binaries['redis'], '--version'])}",
            f"- redis-benchmark: {run_text(['redis-benchmark', '--version'])}",
            f"- ferredis: commit {commit}{' + uncommitted changes in the working tree' if dirty else ''}, "
            f"binary {binaries['ferredis']} built {built}"]


def load_line(label):
    one, five, fifteen = os.getloadavg()
    return f"- load average {label}: {one:.2f} {five:.2f} {fifteen:.2f}"


def header(args, binaries, maxclients, started_load, rounds):
    lines = ["# ferredis vs redis-server 7.0.15: benchmark results", ""]
    if args.quick:
        lines += ["> **SMOKE RUN (`--quick`)**: tiny request counts and a single round. These numbers only "
                  "show that the harness works; they are not a measurement. (CPU time is read in "
                  f"clock ticks of {1000 // CLK_TCK} ms, so at these request counts the CPU columns are mostly rounding.)", ""]
    if started_load >= BUSY_LOAD:
        lines += [f"> **Loaded machine**: the 1-minute load average was {started_load:.2f} at the start "
                  f"(threshold {BUSY_LOAD}). Other work competed for the 2 cores; treat every figure as noisy.", ""]
    lines += ["Ratios are ferredis / redis: above 1 means ferredis is higher (better for rps, worse for "
              "latency and CPU). Each ratio is the median of per-round ratios (range in brackets); the "
              "absolute figures are per-server medians, for orientation only.", ""]
    lines += ["## Machine", ""] + machine_description(binaries)
    lines += [f"- rounds: {rounds} (servers alternate A B / B A each round), "
              f"hz {HZ}, maxclients {maxclients}, ulimit -n {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}, "
              f"clock ticks/s {CLK_TCK}",
              f"- load average at the start (1 min): {started_load:.2f}"]
    return lines


def commands_section(servers, probe_keyspace, probe_requests):
    example = Case("x", [], test="set")
    custom = Case("x", [], command=["XADD", "mystream", "*", "field", "value"])
    lrange = Case("x", [], command=["LRANGE", "mylist", "0", "99"])
    return ["## Exact commands", "", "```",
            "scripts/bench.sh            # full run (this file is docs/benchmarks-latest.md)",
            "scripts/bench.sh --quick    # smoke run",
            "# servers (each on a free loopback port, fresh temp dir):",
            servers["redis"].command_line(), servers["ferredis"].command_line(),
            "# per test (TEST in ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd hset spop zadd zpopmin mset; P in 1 16):",
            example.shown_argv().replace("-t set", "-t TEST").replace("-P 1", "-P P"),
            "# custom commands:", custom.shown_argv(),
            lrange.shown_argv() + "   # after DEL mylist + RPUSH mylist with 600 x 'xxx'; also 0 299, 0 499, 0 599",
            "# connection scaling: -t set|get -c 1|50|1000 -P 1 -d 3 -r 100000",
            f"# value sizes: -t set|get -c 50 -P 1 -d 3|1024|102400 -r {SIZE_KEYSPACE}",
            "# resize latency (fresh server each run) while running scripts/latency_probe.py --port PORT:",
            " ".join(probe_argv("PORT", probe_keyspace, probe_requests)),
            "# server CPU: utime and stime from /proc/PID/stat before and after each redis-benchmark run",
            "```"]


def build_ferredis():
    print("bench: cargo build --release --bin ferredis-server", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--bin", "ferredis-server"], cwd=ROOT, check=True)


def progress(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def all_sections():
    """(key, cases) of the redis-benchmark sections; `--only-cases` matches "KEY/label"."""
    return (("P1", command_cases(1)), ("P16", command_cases(16)),
            ("connections", connection_cases()), ("sizes", size_cases()))


def selected(only, name):
    """True when no --only-cases was given or its regex matches the qualified name."""
    return only is None or re.search(only, name) is not None


def run_sections(servers, plan, only=None):
    """Runs every selected case; a section with no selected case is left out of the result."""
    sections = {}
    for key, cases in all_sections():
        for case in cases:
            if selected(only, f"{key}/{case.label}"):
                progress(f"{key}: {case.label}")
                sections.setdefault(key, []).append(run_case(servers, case, plan))
    return sections


def report(args, binaries, maxclients, started_load, servers, sections, probe, memory, elapsed, rounds):
    lines = header(args, binaries, maxclients, started_load, rounds)
    lines.append(load_line("at the end"))
    lines.append(f"- wall time: build {elapsed[0] / 60:.1f} min, benchmarks {elapsed[1] / 60:.1f} min")
    if args.only_cases is not None:
        lines.append(f"- subset: only the cases matching `--only-cases {args.only_cases}`")
    for key, pipeline in (("P1", "-P 1"), ("P16", "-P 16")):
        if key not in sections:
            continue
        results = sections[key]
        lines += ["", f"## redis-benchmark tests, -c 50 {pipeline}", "", status_line(results),
                  geomean_line(results, "rps", "requests/s"),
                  geomean_line(results, "cpu_per_m", "server CPU per request"),
                  geomean_line(results, "user_per_m", "server user CPU per request"),
                  geomean_line(results, "sys_per_m", "server system CPU per request"), ""]
        lines += ["### Throughput and server CPU", ""] + throughput_table(results)
        lines += ["", "### Server CPU split: user and system time", ""] + cpu_split_table(results)
        lines += ["", "### Latency (p99 and p99.9 are the tail under load at -c 50)", ""] + latency_table(results)
    if "connections" in sections:
        lines += ["", "## Connection scaling (SET/GET, -P 1, -d 3)", "", status_line(sections["connections"]), ""]
        lines += compact_table(sections["connections"])
    if "sizes" in sections:
        lines += ["", f"## Value sizes (SET/GET, -c 50, -P 1, -r {SIZE_KEYSPACE})", "", status_line(sections["sizes"]), ""]
        lines += compact_table(sections["sizes"])
    lines += ["", f"## Latency while the keyspace grows (-r {probe['keyspace']} -n {probe['requests']} -P 32, "
              f"{expected_distinct(probe['keyspace'], probe['requests']):,.0f} distinct keys expected; "
              "1-ms PING probe)", ""]
    lines += probe_table(probe) if probe.get("rounds") else [f"- {probe.get('status', 'not run')}"]
    lines += ["", "## Memory", ""] + (memory or ["- not run (`--quick`, `--skip-mem` or `--only-cases`); "
                                                 "see scripts/mem_bench.py"])
    lines += [""] + commands_section(servers, probe["keyspace"], probe["requests"])
    return "\n".join(lines) + "\n"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small -n, one round, no memory test")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binary")
    ap.add_argument("--skip-mem", action="store_true", help="do not run scripts/mem_bench.py")
    ap.add_argument("--output", default=str(LATEST_REPORT), help="markdown file to write")
    ap.add_argument("--ferredis-bin", help="benchmark this ferredis-server binary (implies --no-build)")
    ap.add_argument("--rounds", type=positive_int,
                    help="rounds per case (default 5, 1 with --quick); also the probe's rounds")
    ap.add_argument("--only-cases", metavar="REGEX",
                    help="run only the cases whose qualified name matches REGEX (re.search): "
                         "P1/TEST, P16/TEST (TEST as in the report, e.g. get, lrange_100), "
                         "'connections/SET -c 50', 'sizes/GET -d 1024', probe, memory")
    args = ap.parse_args()
    if args.only_cases is not None:
        try:
            re.compile(args.only_cases)
        except re.error as err:
            ap.error(f"--only-cases: {err}")
    return args


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, raise_interrupt)
    started, started_load = time.monotonic(), os.getloadavg()[0]
    if started_load >= BUSY_LOAD:
        progress(f"WARNING: load average {started_load:.2f} >= {BUSY_LOAD}: results will be noisy")
    if not args.no_build and not args.ferredis_bin:
        build_ferredis()
    build_seconds, started = time.monotonic() - started, time.monotonic()
    binaries = {"redis": shutil.which("redis-server"), "ferredis": args.ferredis_bin or str(FERREDIS_BIN)}
    if not binaries["redis"] or not shutil.which("redis-benchmark"):
        sys.exit("bench: redis-server/redis-benchmark missing: run scripts/install-peers.sh")
    maxclients = pick_maxclients()
    plan = Plan(args.quick, args.rounds)
    servers = {name: Server(name, binaries[name], maxclients) for name in ("redis", "ferredis")}
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(running(server))
        sections = run_sections(servers, plan, args.only_cases)
    keyspace, requests = probe_sizes(args.quick)
    probe = {"keyspace": keyspace, "requests": requests, "status": "not run (--only-cases)"}
    if selected(args.only_cases, "probe"):
        progress("resize latency probe")
        try:
            probe = run_probe(binaries, maxclients, args.quick, args.rounds)
        except (BenchFailure, RespError, ConnectionError, OSError, RuntimeError) as err:
            probe = {"keyspace": keyspace, "requests": requests, "status": f"error: {err}"}
    memory = None
    if not (args.quick or args.skip_mem) and selected(args.only_cases, "memory"):
        progress("memory (scripts/mem_bench.py)")
        sys.dont_write_bytecode = True  # no __pycache__ in scripts/
        import mem_bench
        memory = mem_bench.run(binaries, maxclients, quick=False)
    text = report(args, binaries, maxclients, started_load, servers, sections, probe, memory,
                  (build_seconds, time.monotonic() - started), plan.rounds)
    Path(args.output).write_text(text)
    print(text)
    progress(f"written to {args.output}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("bench: interrupted; servers stopped")
