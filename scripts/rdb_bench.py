#!/usr/bin/env python3
"""SAVE, BGSAVE and start-up load times of ferredis next to the real redis-server 7.0.15.

Usage: scripts/rdb-bench.sh [--rounds N] [--n N] [--scenarios strings,list,...] [--output FILE]
(a thin wrapper around this file; the results live in docs/benchmarks.md, section
"RDB: SAVE, BGSAVE and load").

Scenarios, each on a fresh pair of servers with the same settings (save "", appendonly no,
rdbcompression yes, rdbchecksum yes, default encodings thresholds):
  strings  N string keys from DEBUG POPULATE N (key:i -> value:i)
  list     one list of N elements    (RPUSH, 1000 elements per command, pipelined)
  hash     one hash of N fields      (HSET)
  set      one set of N members      (SADD; non-integer members, so a hashtable)
  zset     one zset of N members     (ZADD; fractional scores, so a skiplist)
Both servers are filled by the same commands and their DEBUG DIGEST must agree.

Measured, per round, ferredis and redis one after the other (the order alternating each round):
  SAVE    the SAVE command, client side (send to +OK)
  BGSAVE  from sending BGSAVE to the log line "Background saving terminated with success"
          (its millisecond timestamp; the parent notices the child's exit in serverCron, at
          hz 10 on both servers, so up to 100 ms of that is the cron period)
  load    "DB loaded from disk: X seconds" from the log of a restart on the dump
  start   from exec of that restart to the first PING answered with PONG
The report gives each server's median over the rounds and the median of the per-round ratios
ferredis / redis (below 1: ferredis faster). Python standard library only; the servers this
starts are stopped on exit, Ctrl-C and SIGTERM included.
"""
import argparse
import datetime
import os
import re
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
OPS = ("SAVE", "BGSAVE", "load", "start")
SCENARIOS = ("strings", "list", "hash", "set", "zset")
BATCH = 1000            # elements per RPUSH/HSET/SADD/ZADD command
PIPELINE = 50           # commands per pipelined write while filling
WAIT_LIMIT = 600        # seconds any single wait may take before the run is abandoned

STARTED = []            # every server process this script started, stopped at exit


# ----------------------------------------------------------------------------------------------
# RESP client
# ----------------------------------------------------------------------------------------------

class RespError(Exception):
    """An error reply from the server."""


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=WAIT_LIMIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass

    def read_reply(self):
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

    def pipeline(self, encoded):
        """Sends pre-encoded commands PIPELINE at a time; raises on the first error reply."""
        for start in range(0, len(encoded), PIPELINE):
            chunk = encoded[start:start + PIPELINE]
            self.sock.sendall(b"".join(chunk))
            for _ in chunk:
                reply = self.read_reply()
                if isinstance(reply, RespError):
                    raise reply


def info_field(conn, name):
    for line in conn.call("INFO", "persistence").decode().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise RuntimeError(f"no {name} in INFO persistence")


# ----------------------------------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------------------------------

def free_port():
    """A random port in 40000-49999 that nothing listens on (wildcard and loopback)."""
    import random
    for _ in range(1000):
        port = random.randint(40000, 49999)
        try:
            for host in ("127.0.0.1", "0.0.0.0"):
                with socket.socket() as s:
                    s.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port in 40000-49999")


class Server:
    """One server (ferredis or redis) with its own port, directory and log file; restartable
    on the same dump."""

    def __init__(self, name, program, workdir):
        self.name, self.program = name, program
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "log"
        self.port = free_port()
        self.proc = None

    def args(self):
        return [self.program, "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--rdbcompression", "yes", "--rdbchecksum", "yes", "--dir", str(self.dir),
                "--dbfilename", "dump.rdb", "--logfile", str(self.log),
                "--enable-debug-command", "yes", "--hz", "10"]

    def start(self):
        """Starts the process; returns seconds from exec to the first PONG (not -LOADING)."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        STARTED.append(self.proc)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            if self.ping():
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > WAIT_LIMIT:
                raise RuntimeError(f"{self.name} not answering PING after {WAIT_LIMIT} s")
            time.sleep(0.002)

    def ping(self):
        try:
            conn = Conn(self.port, timeout=5)
        except OSError:
            return False
        try:
            conn.sock.sendall(encode(["PING"]))
            return conn.read_reply() == "PONG"
        except (OSError, ConnectionError):
            return False
        finally:
            conn.close()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            conn = Conn(self.port, timeout=10)
            conn.sock.sendall(encode(["SHUTDOWN", "NOSAVE"]))
            conn.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def conn(self):
        return Conn(self.port)

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def dump_size(self):
        return (self.dir / "dump.rdb").stat().st_size


def stop_all(*_):
    for proc in STARTED:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


# ----------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------

def fill_commands(scenario, n):
    """The pre-encoded commands that build `scenario` (None for strings: DEBUG POPULATE)."""
    if scenario == "strings":
        return None
    out = []
    for start in range(0, n, BATCH):
        idx = range(start, min(start + BATCH, n))
        if scenario == "list":
            args = ["RPUSH", "biglist"] + [b"element:%d" % i for i in idx]
        elif scenario == "hash":
            args = ["HSET", "bighash"] + [x for i in idx for x in (b"field:%d" % i, b"value:%d" % i)]
        elif scenario == "set":
            args = ["SADD", "bigset"] + [b"member:%d" % i for i in idx]
        else:
            args = ["ZADD", "bigzset"] + [x for i in idx for x in (repr(i * 0.37).encode(), b"member:%d" % i)]
        out.append(encode(args))
    return out


def fill(server, scenario, n, commands):
    conn = server.conn()
    if commands is None:
        conn.call("DEBUG", "POPULATE", n)
    else:
        conn.pipeline(commands)
    size = conn.call("DBSIZE")
    digest = conn.call("DEBUG", "DIGEST")
    conn.close()
    return size, digest


# ----------------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------------

LOG_TIME = re.compile(r"^\d+:[A-Z] (\d+ \w+ \d+ \d+:\d+:\d+\.\d+) ")


def log_time(line):
    """The wall-clock time of a Redis-format log line, as a Unix timestamp."""
    match = LOG_TIME.match(line)
    if not match:
        raise RuntimeError(f"no timestamp in log line {line!r}")
    return datetime.datetime.strptime(match.group(1), "%d %b %Y %H:%M:%S.%f").timestamp()


def lines_with(server, needle):
    return [line for line in server.log_text().splitlines() if needle in line]


def time_save(server):
    conn = server.conn()
    t0 = time.perf_counter()
    reply = conn.call("SAVE")
    elapsed = time.perf_counter() - t0
    conn.close()
    assert reply == "OK", reply
    return elapsed


def time_bgsave(server):
    done = "Background saving terminated with success"
    before = len(lines_with(server, done))
    conn = server.conn()
    t0 = time.time()
    reply = conn.call("BGSAVE")
    assert reply == "Background saving started", reply
    deadline = time.perf_counter() + WAIT_LIMIT
    while info_field(conn, "rdb_bgsave_in_progress") != "0" or len(lines_with(server, done)) <= before:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{server.name}: BGSAVE not finished after {WAIT_LIMIT} s")
        time.sleep(0.005)
    status = info_field(conn, "rdb_last_bgsave_status")
    conn.close()
    if status != "ok":
        raise RuntimeError(f"{server.name}: rdb_last_bgsave_status {status}")
    return log_time(lines_with(server, done)[before]) - t0


def time_load(server, digest):
    """Restarts the server on its dump: (log's load seconds, exec-to-PONG seconds)."""
    loaded = "DB loaded from disk: "
    before = len(lines_with(server, loaded))
    server.stop()
    start = server.start()
    lines = lines_with(server, loaded)
    if len(lines) <= before:
        raise RuntimeError(f"{server.name}: no '{loaded}' line after restart")
    seconds = float(lines[before].split(loaded, 1)[1].split()[0])
    conn = server.conn()
    again = conn.call("DEBUG", "DIGEST")
    conn.close()
    if again != digest:
        raise RuntimeError(f"{server.name}: digest after reload {again} != {digest}")
    return seconds, start


# ----------------------------------------------------------------------------------------------
# A scenario
# ----------------------------------------------------------------------------------------------

def run_scenario(scenario, n, rounds, programs, workdir):
    """Times of every op for both servers: {op: {name: [seconds per round]}}, dump sizes."""
    servers = [Server(name, program, Path(workdir) / scenario) for name, program in programs]
    times = {op: {s.name: [] for s in servers} for op in OPS}
    try:
        commands = fill_commands(scenario, n)
        filled = {}
        for server in servers:
            server.start()
            filled[server.name] = fill(server, scenario, n, commands)
        (size_a, digest_a), (size_b, digest_b) = filled.values()
        if digest_a != digest_b or size_a != size_b:
            raise RuntimeError(f"{scenario}: datasets differ: {filled}")
        progress(f"{scenario}: filled ({size_a} keys), digest {digest_a}")
        for r in range(rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for server in order:
                times["SAVE"][server.name].append(time_save(server))
            for server in order:
                times["BGSAVE"][server.name].append(time_bgsave(server))
            for server in order:
                load, start = time_load(server, digest_a)
                times["load"][server.name].append(load)
                times["start"][server.name].append(start)
            progress(f"{scenario}: round {r + 1}/{rounds} " + round_summary(times, r))
        sizes = {s.name: s.dump_size() for s in servers}
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(Path(workdir) / scenario, ignore_errors=True)
    return times, sizes


def round_summary(times, r):
    parts = []
    for op in OPS:
        pair = " / ".join(f"{times[op][name][r]:.3f}" for name in times[op])
        parts.append(f"{op} {pair}")
    return "; ".join(parts)


def progress(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

LABELS = {
    "strings": "{n} string keys (DEBUG POPULATE)",
    "list": "1 list of {n} elements",
    "hash": "1 hash of {n} fields",
    "set": "1 set of {n} members",
    "zset": "1 zset of {n} members",
}


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs (nproc), {model}, Linux {os.uname().release}"


def table(results, n):
    rows = ["| Dataset | Dump size ferredis / redis | Op | ferredis median (s) | redis median (s) "
            "| ratio ferredis/redis (median of per-round ratios) | ferredis rounds | redis rounds |",
            "|---|---|---|---:|---:|---:|---|---|"]
    for scenario, (times, sizes) in results.items():
        label = LABELS[scenario].format(n=f"{n:,}")
        size = " / ".join(f"{sizes[name] / 1e6:.1f} MB" for name in sizes)
        for op in OPS:
            f, r = times[op]["ferredis"], times[op]["redis"]
            ratio = statistics.median(a / b for a, b in zip(f, r)) if all(r) else float("nan")
            rows.append(f"| {label} | {size} | {op} | {statistics.median(f):.3f} | {statistics.median(r):.3f} "
                        f"| **{ratio:.2f}** | {fmt(f)} | {fmt(r)} |")
    return "\n".join(rows)


def fmt(values):
    return " ".join(f"{v:.3f}" for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=1_000_000, help="keys / elements per dataset")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--ferredis", default=str(FERREDIS_BIN))
    parser.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    parser.add_argument("--output", help="also write the markdown report to this file")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    programs = [("ferredis", args.ferredis), ("redis", args.redis)]
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    results = {}
    with tempfile.TemporaryDirectory(prefix="ferredis-rdb-bench-") as workdir:
        try:
            for scenario in scenarios:
                results[scenario] = run_scenario(scenario, args.n, args.rounds, programs, workdir)
        finally:
            stop_all()
    report = "\n".join([
        f"Run {started}: `scripts/rdb-bench.sh {' '.join(sys.argv[1:])}`".rstrip(),
        f"Machine: {machine()}; load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}",
        f"Servers: {version(args.ferredis)} and {version(args.redis)}, both with save \"\", appendonly no, "
        f"rdbcompression yes, rdbchecksum yes, hz 10; {args.rounds} rounds, order alternating.",
        "",
        table(results, args.n),
        "",
    ])
    print(report)
    if args.output:
        Path(args.output).write_text(report)


def version(program):
    out = subprocess.run([program, "--version"], capture_output=True, text=True).stdout.strip()
    return f"{Path(program).name} ({out.split(' sha=')[0]})"


if __name__ == "__main__":
    main()
