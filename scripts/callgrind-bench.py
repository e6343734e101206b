#!/usr/bin/env python3
"""Instructions per request, ferredis next to redis-server 7.0.15, counted by callgrind.

Usage: scripts/callgrind-bench.py [--no-build] [--requests N] [--only TEST]... [--pipelines 1,16]
                                  [--keep DIR] [--ferredis-bin PATH] [--serial]

Wall-clock CPU time on a small shared machine swings by +-30 % from run to run; the number of
instructions a server executes for a fixed number of requests repeats to a fraction of a percent.
For each pipeline depth, each server (ferredis and the real redis-server) runs under
`valgrind --tool=callgrind` with the same settings as scripts/bench.py. For each test of that
harness (the same redis-benchmark command lines: -c 50 -d 3 -r 100000, lrange_N as
`LRANGE mylist 0 N-1` on a 600-element list, XADD as a custom command), this script
  1. runs a warm-up of the test (tables, buffers and the client connections' structures grown),
  2. zeroes callgrind's counters (`callgrind_control -z`),
  3. runs the measured redis-benchmark with a fixed -n,
  4. dumps the counters (`callgrind_control -d`) and reads the total instruction count
     (all threads: Redis's jemalloc and bio threads are counted like its main thread).
Instructions per request = the dump's Ir / -n. The two servers run at the same time (one
thread each here; `--serial` runs one after the other). The dumps are kept (`--keep DIR`,
default a new /tmp directory, printed at the end) for `callgrind_annotate`:
  callgrind_annotate --inclusive=yes DIR/ferredis-P16.cg.N | head -60
The file DIR/index.txt says which dump belongs to which test.

What the count includes: everything the server does while the measured redis-benchmark runs:
accepting and closing its 50 connections, reading, parsing, executing, replying, the cron
(hz 10) and the event loop. Under valgrind the server is ~50x slower than natively, so the
client is always ahead: every loop turn finds many clients ready (at -P 1, most of the 50).
Python standard library only.
"""
import argparse
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness: same test list, same server settings)

ROOT = bench.ROOT
DEFAULT_REQUESTS = 20_000     # per measured run; a multiple of -c 50 x -P 16
WARMUP_REQUESTS = 4_000
LRANGE_DIVISOR = 4            # lrange_N runs cost 10-100x a GET: N / 4 requests is plenty
SERVER_START_TIMEOUT = 120    # valgrind's start-up is slow on a loaded machine


def round_requests(n, pipeline, clients=50):
    """A multiple of clients x pipeline, so every client sends whole pipelines."""
    step = clients * pipeline
    return max(step, n // step * step)


class CallgrindServer(bench.Server):
    """A bench.Server run under callgrind, with counter control through callgrind_control."""

    def __init__(self, name, binary, maxclients, outdir, pipeline):
        super().__init__(name, binary, maxclients)
        self.outdir, self.pipeline = Path(outdir), pipeline
        self.prefix = self.outdir / f"{name}-P{pipeline}.cg"
        self.dumps = 0

    def start(self):
        self.workdir = tempfile.mkdtemp(prefix=f"cgbench-{self.name}-")
        self.port = bench.free_port()
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.prefix}",
                "--log-file=" + str(Path(self.workdir) / "valgrind.log"), self.binary]
        argv += bench.server_args(self.port, self.maxclients, self.workdir)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.ctl = self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.workdir}")
            with contextlib.suppress(OSError):
                conn = bench.Conn(self.port, timeout=600)
                if conn.call("PING") == "PONG":
                    pid = bench.info_field(conn, "server", "process_id")
                    if pid != str(self.proc.pid):
                        conn.close()
                        raise RuntimeError(f"port {self.port} answered with pid {pid}, not ours")
                    return conn
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer PING on port {self.port}")

    def callgrind_control(self, *args):
        subprocess.run(["callgrind_control", *args, str(self.proc.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)

    def measure(self, case, requests):
        """Zero, run the case, dump: returns (Ir, dump file)."""
        self.callgrind_control("-z")
        run_benchmark(self, case, requests)
        self.callgrind_control("-d")
        self.dumps += 1
        dump = Path(f"{self.prefix}.{self.dumps}")
        return read_total_ir(dump), dump


def run_benchmark(server, case, requests):
    proc = subprocess.run(case.argv(server.port, requests), capture_output=True, text=True,
                          timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"redis-benchmark exit {proc.returncode}: {proc.stderr[-300:]}")


def read_total_ir(dump):
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary line in {dump}")


# A test that reads what another writes: --only brings the writer along.
WRITERS = {"get": "set", "lpop": "lpush", "rpop": "rpush", "spop": "sadd", "zpopmin": "zadd"}


def cases_for(pipeline, only):
    cases = bench.command_cases(pipeline)
    if not only:
        return cases
    wanted = set(only) | {WRITERS[t] for t in only if t in WRITERS}
    return [c for c in cases if c.label in wanted]


def requests_for(case, requests, pipeline):
    n = requests // LRANGE_DIVISOR if case.label.startswith("lrange") else requests
    return round_requests(n, pipeline, case.clients)


def run_server(name, binary, maxclients, outdir, pipeline, cases, requests, results, index):
    """All cases on one fresh server of one kind, in the harness's order (later tests read what
    earlier ones wrote: GET after SET, LPOP after LPUSH, SPOP after SADD ...)."""
    server = CallgrindServer(name, binary, maxclients, outdir, pipeline)
    with bench.running(server):
        for case in cases:
            if case.setup:
                case.setup(server)
            n = requests_for(case, requests, pipeline)
            run_benchmark(server, case, round_requests(WARMUP_REQUESTS, pipeline, case.clients))
            ir, dump = server.measure(case, n)
            results[(name, pipeline, case.label)] = ir / n
            index.append(f"{dump.name}\t{case.label}\t-P {pipeline}\t-n {n}\tIr {ir}")
            bench.progress(f"{name} -P {pipeline} {case.label}: {ir / n:,.0f} instructions/request")


def run_all(args, binaries, outdir):
    maxclients = bench.pick_maxclients()
    results, index, errors = {}, [], []

    def job(name, pipeline, cases):
        try:
            run_server(name, binaries[name], maxclients, outdir, pipeline, cases, args.requests,
                       results, index)
        except Exception as err:  # reported, and the other server's thread goes on
            errors.append(f"{name} -P {pipeline}: {err}")

    for pipeline in args.pipelines:
        cases = {name: cases_for(pipeline, args.only) for name in binaries}
        threads = [threading.Thread(target=job, args=(name, pipeline, cases[name]))
                   for name in args.servers]
        for t in threads:
            t.start()
            if args.serial:
                t.join()
        for t in threads:
            t.join()
    (outdir / "index.txt").write_text("\n".join(sorted(index)) + "\n")
    return results, errors


def table(results, pipelines, only):
    lines = []
    for pipeline in pipelines:
        lines += ["", f"### -c 50 -P {pipeline} -d 3 -r 100000", "",
                  "| test | redis instr/req | ferredis instr/req | ratio f/r |", "|---|---:|---:|---:|"]
        ratios = []
        for case in cases_for(pipeline, only):
            r = results.get(("redis", pipeline, case.label))
            f = results.get(("ferredis", pipeline, case.label))
            if r is None or f is None:
                shown = [f"{v:,.0f}" if v is not None else "n/a" for v in (r, f)]
                lines.append(f"| {case.label} | {shown[0]} | {shown[1]} | n/a |")
                continue
            ratios.append(f / r)
            lines.append(f"| {case.label} | {r:,.0f} | {f:,.0f} | {f / r:.3f} |")
        if ratios:
            geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            lines += ["", f"geometric mean of {len(ratios)} ratios: **{geo:.3f}**; "
                      f"highest: {max(ratios):.3f}"]
    return lines


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-build", action="store_true", help="use the existing release binary")
    ap.add_argument("--ferredis-bin", help="measure this ferredis-server (implies --no-build)")
    ap.add_argument("--redis-bin", default=shutil.which("redis-server"))
    ap.add_argument("--requests", type=int, default=DEFAULT_REQUESTS,
                    help=f"measured requests per test (default {DEFAULT_REQUESTS}; lrange_N: / {LRANGE_DIVISOR})")
    ap.add_argument("--only", action="append", help="run only this test (repeatable): set, lrange_100, xadd ...")
    ap.add_argument("--pipelines", default="1,16", help="comma-separated -P values (default 1,16)")
    ap.add_argument("--keep", help="directory for the callgrind dumps (default: a new /tmp dir)")
    ap.add_argument("--serial", action="store_true", help="run redis, then ferredis (not side by side)")
    ap.add_argument("--servers", default="redis,ferredis",
                    help="which servers to measure (default redis,ferredis; e.g. ferredis alone to compare builds)")
    args = ap.parse_args()
    args.pipelines = [int(p) for p in args.pipelines.split(",")]
    args.servers = [s for s in args.servers.split(",") if s]
    if not set(args.servers) <= {"redis", "ferredis"}:
        ap.error("--servers takes redis and/or ferredis")
    return args


def raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, raise_interrupt)
    for tool in ("valgrind", "callgrind_control", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"callgrind-bench: {tool} missing (apt-get install valgrind; scripts/install-peers.sh)")
    if not args.no_build and not args.ferredis_bin:
        bench.build_ferredis()
    binaries = {"redis": args.redis_bin, "ferredis": args.ferredis_bin or str(bench.FERREDIS_BIN)}
    outdir = Path(args.keep or tempfile.mkdtemp(prefix="callgrind-bench-"))
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results, errors = run_all(args, binaries, outdir)
    lines = ["## Instructions per request (callgrind)", "",
             f"- ferredis: {binaries['ferredis']}; redis: {binaries['redis']}",
             f"- measured requests per test: {args.requests} (lrange_N: {args.requests // LRANGE_DIVISOR}), "
             f"after a warm-up of {WARMUP_REQUESTS}",
             f"- dumps: {outdir} (index.txt); wall time {(time.monotonic() - started) / 60:.1f} min"]
    lines += table(results, args.pipelines, args.only)
    lines += [f"- ERROR {e}" for e in errors]
    print("\n".join(lines))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("callgrind-bench: interrupted; servers stopped")
