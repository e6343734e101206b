#!/usr/bin/env python3
"""Replication side by side: full-sync time and replication lag, ferredis vs redis-server 7.0.15.

Usage: scripts/repl-bench.sh [--quick] [--rounds N] [--keys N] [--requests N] [--no-mixed]
                             [--output FILE]
(a thin wrapper around this file; results and how to read them: docs/benchmarks.md, section
"Replication: full sync and lag").

Pairs: a ferredis master with a ferredis replica, and a redis-server master with a
redis-server replica, every server started by scripts/bench.py's Server (free loopback port,
fresh temp dir, process-ownership check by INFO's process_id) with bench.py's common settings
(save "", appendonly no, hz 10) plus REPL_ARGS (repl-diskless-sync-delay 0, a backlog large
enough for the lag test, DEBUG enabled). Each round runs, for one implementation and then the
other (the order alternating A B / B A):

  strings   a master filled by DEBUG POPULATE <keys> (key:N -> value:N, same on both: the
            masters' DEBUG DIGEST must agree across implementations), then
            - disk:     repl-diskless-sync no; a fresh replica; REPLICAOF; timed (see below)
            - diskless: CONFIG SET repl-diskless-sync yes; another fresh replica; timed
            - lag:      on the diskless pair, redis-benchmark writes to the master while a
                        sampler reads both offsets every SAMPLE_S (see below)
  mixed     a fresh master holding one list, one hash, one set and one zset of <keys>
            elements each (scripts/rdb_bench.py's datasets), then disk and diskless as above.

Full sync, timed from sending REPLICAOF to the replica until its INFO shows
master_link_status:up and slave_repl_offset equal to the master's master_repl_offset (both
polled every POLL_S). The replica's log gives the phases (millisecond timestamps):
  handshake  REPLICAOF -> "Full resync from master" (connect, handshake, PSYNC; the master
             forks before it answers +FULLRESYNC)
  snapshot   -> "MASTER <-> REPLICA sync: receiving" (disk: the master's BGSAVE, plus up to one
             serverCron period (100 ms at hz 10) until the parent notices the child's exit;
             diskless: ~0, the snapshot streams during the transfer)
  transfer   -> "MASTER <-> REPLICA sync: Loading DB in memory" (payload to the temp file)
  load       -> "MASTER <-> REPLICA sync: Finished with success" (the replica's load time)
plus the master's latest_fork_usec. The replica's DEBUG DIGEST must equal the master's.

Lag: `redis-benchmark -t set,incr,lpush,hset,zadd -c 50 -P 16 -n N -r 100000` against the
master; every SAMPLE_S the sampler sends INFO replication to both servers at once and records
master_repl_offset - slave_repl_offset (bytes). Reported: median, p99 and max of those
samples during the load, the catch-up time from redis-benchmark's exit until the offsets are
equal (polled every CATCHUP_POLL_S), and the CPU time (utime+stime, /proc/PID/stat) the
replica and the master spent per MB of replication stream (the master's offset delta) over
the whole window. A replica that loses its link or is fully resynced fails the round.

Every ratio is the median of the per-round ratios ferredis / redis (below 1: ferredis is
faster / lags less). Python standard library only; servers are stopped on exit, Ctrl-C and
SIGTERM included.
"""
import argparse
import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # importing bench/rdb_bench must not leave a __pycache__ in scripts/
import bench
from bench import Case, RespError, Server, encode, pair_cell, ratio_cell
import rdb_bench

ROOT = bench.ROOT
BACKLOG = "1gb"            # larger than the whole lag test's stream: the link never needs a resync
REPL_ARGS = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0",
             "--repl-diskless-load", "disabled", "--repl-backlog-size", BACKLOG]
LAG_TESTS = "set,incr,lpush,hset,zadd"
LAG_KEYSPACE = 100_000
POLL_S = 0.015             # full-sync poll period
SAMPLE_S = 0.010           # lag sampler period
CATCHUP_POLL_S = 0.001     # offsets poll period after the load stopped
WAIT_LIMIT = 600           # seconds any single wait may take
PIPELINE = 50              # commands per write while filling the mixed dataset
MIXED = ("list", "hash", "set", "zset")
NAMES = ("redis", "ferredis")

PHASES = (("handshake", "Full resync from master"),
          ("snapshot", "MASTER <-> REPLICA sync: receiving"),
          ("transfer", "MASTER <-> REPLICA sync: Loading DB in memory"),
          ("load", "MASTER <-> REPLICA sync: Finished with success"))


class RoundFailure(Exception):
    """A measurement could not be made (link lost, digests differ, timeout...)."""


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] repl-bench: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Small helpers around bench.py's Conn and Server
# ----------------------------------------------------------------------------------------------

def parse_info(payload):
    """INFO's bulk reply as {field: value}."""
    out = {}
    for line in payload.decode().splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name] = value.strip()
    return out


def info_map(conn, section):
    return parse_info(conn.call("INFO", section))


def info_both(master, replica):
    """INFO replication of both servers, asked at the same moment (both requests written
    before either reply is read), so the two offsets are close in time."""
    request = encode(["INFO", "replication"])
    master.ctl.sock.sendall(request)
    replica.ctl.sock.sendall(request)
    replies = [master.ctl.read_reply(), replica.ctl.read_reply()]
    for reply in replies:
        if isinstance(reply, RespError):
            raise RoundFailure(f"INFO replication: {reply}")
    return parse_info(replies[0]), parse_info(replies[1])


def offsets(master, replica):
    """(master_repl_offset, the replica's slave_repl_offset, link up?)."""
    m, r = info_both(master, replica)
    return int(m["master_repl_offset"]), int(r.get("slave_repl_offset", -1)), r.get("master_link_status") == "up"


def log_lines(server):
    try:
        return (Path(server.workdir) / "server.log").read_text(errors="replace").splitlines()
    except OSError:
        return []


def start_server(name, binary, maxclients, diskless):
    extra = ["--repl-diskless-sync", "yes" if diskless else "no"] + REPL_ARGS
    return Server(name, binary, maxclients, extra).start()


def stop_servers(*servers):
    for server in servers:
        if server is not None:
            server.stop()


def digest(server):
    return server.ctl.call("DEBUG", "DIGEST")


# ----------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------

def mixed_commands(n):
    """One list, hash, set and zset of n elements each: rdb_bench.py's datasets."""
    return [cmd for kind in MIXED for cmd in rdb_bench.fill_commands(kind, n)]


def fill(master, dataset, keys, commands):
    if dataset == "strings":
        master.ctl.call("DEBUG", "POPULATE", keys)
        expected = keys
    else:
        for start in range(0, len(commands), PIPELINE):
            errors = master.ctl.pipeline(commands[start:start + PIPELINE])
            if errors:
                raise RoundFailure(f"fill: {errors[0]}")
        expected = len(MIXED)
    size = master.ctl.call("DBSIZE")
    if size != expected:
        raise RoundFailure(f"{master.name}: DBSIZE {size} after filling, expected {expected}")
    return digest(master)


# ----------------------------------------------------------------------------------------------
# Full sync
# ----------------------------------------------------------------------------------------------

def wait_synced(master, replica, limit=WAIT_LIMIT, period=POLL_S):
    """Polls until the replica's link is up with its offset equal to the master's."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if replica.proc.poll() is not None or master.proc.poll() is not None:
            raise RoundFailure("a server exited during the sync; see its server.log")
        m_off, r_off, up = offsets(master, replica)
        if up and m_off == r_off:
            return
        time.sleep(period)
    raise RoundFailure(f"replica not in sync after {limit} s")


def phase_times(replica, t0):
    """Seconds of each phase from the replica's log (timestamps in ms, wall clock)."""
    lines = log_lines(replica)
    out, previous = {}, t0
    for phase, needle in PHASES:
        line = next((ln for ln in lines if needle in ln), None)
        if line is None:
            raise RoundFailure(f"{replica.name}: no '{needle}' line in the replica's log")
        when = rdb_bench.log_time(line)
        out[phase] = max(0.0, when - previous)
        previous = when
    out["finished_wall"] = previous
    return out


def full_sync(master, binary, maxclients, diskless, master_digest):
    """A fresh replica of `master`, timed from REPLICAOF to offsets equal. Returns (metrics,
    replica) with the replica still running."""
    replica = start_server(master.name, binary, maxclients, diskless)
    try:
        forks_before = int(info_map(master.ctl, "stats")["total_forks"])
        t0_wall, t0 = time.time(), time.perf_counter()
        replica.ctl.call("REPLICAOF", "127.0.0.1", master.port)
        wait_synced(master, replica)
        total = time.perf_counter() - t0
        stats = info_map(master.ctl, "stats")
        if int(stats["total_forks"]) != forks_before + 1:
            raise RoundFailure(f"{master.name}: {int(stats['total_forks']) - forks_before} forks for one sync")
        phases = phase_times(replica, t0_wall)
        got = digest(replica)
        if got != master_digest:
            raise RoundFailure(f"{master.name}: replica digest {got} != master {master_digest}")
    except BaseException:
        replica.stop()
        raise
    metrics = {"total": total, "fork_ms": int(stats["latest_fork_usec"]) / 1000}
    metrics.update((p, phases[p]) for p, _ in PHASES)
    metrics["tail"] = max(0.0, t0_wall + total - phases["finished_wall"])
    return metrics, replica


# ----------------------------------------------------------------------------------------------
# Lag under a write load
# ----------------------------------------------------------------------------------------------

def lag_case():
    return Case("lag", [], test=LAG_TESTS, clients=50, pipeline=16, keyspace=LAG_KEYSPACE)


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def sample_during(master, replica, proc):
    """Lag samples (bytes) every SAMPLE_S until redis-benchmark exits."""
    samples, tick = [], time.perf_counter()
    while proc.poll() is None:
        m_off, r_off, up = offsets(master, replica)
        if not up:
            raise RoundFailure(f"{master.name}: the replica's link went down during the load")
        samples.append(m_off - r_off)
        tick += SAMPLE_S
        time.sleep(max(0.0, tick - time.perf_counter()))
    return samples


def lag_test(master, replica, requests):
    syncs_before = info_map(master.ctl, "stats")["sync_full"]
    off0 = offsets(master, replica)[0]
    cpu0 = (replica.cpu_seconds(), master.cpu_seconds())
    out_path = Path(master.workdir) / "redis-benchmark.out"
    t0 = time.perf_counter()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(lag_case().argv(master.port, requests) + ["-q"], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            samples = sample_during(master, replica, proc)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    load_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RoundFailure(f"redis-benchmark exit {proc.returncode}: {out_path.read_text()[-300:]}")
    t_end = time.perf_counter()
    wait_synced(master, replica, limit=WAIT_LIMIT, period=CATCHUP_POLL_S)
    catchup = time.perf_counter() - t_end
    cpu_r, cpu_m = replica.cpu_seconds() - cpu0[0], master.cpu_seconds() - cpu0[1]
    stream_mb = (offsets(master, replica)[0] - off0) / 1e6
    if info_map(master.ctl, "stats")["sync_full"] != syncs_before:
        raise RoundFailure(f"{master.name}: the replica was fully resynced during the load")
    if not samples:
        raise RoundFailure("no lag sample taken (the load ended too fast)")
    if digest(replica) != digest(master):
        raise RoundFailure(f"{master.name}: replica digest differs from the master's after the load")
    return {"lag_p50": statistics.median(samples), "lag_p99": percentile(samples, 99),
            "lag_max": max(samples), "catchup_ms": catchup * 1000,
            "replica_cpu_per_mb": cpu_r / stream_mb, "master_cpu_per_mb": cpu_m / stream_mb,
            "rps": requests * len(LAG_TESTS.split(",")) / load_s, "stream_mb": stream_mb,
            "samples": len(samples)}


# ----------------------------------------------------------------------------------------------
# One implementation's share of a round
# ----------------------------------------------------------------------------------------------

def run_strings(name, binary, plan, sink):
    master = replica = None
    try:
        master = start_server(name, binary, plan.maxclients, diskless=False)
        master_digest = fill(master, "strings", plan.keys, None)
        sink["digest:strings"] = master_digest
        with_case(sink, "strings disk", lambda: sync_and_stop(master, binary, plan, False, master_digest))
        master.ctl.call("CONFIG", "SET", "repl-diskless-sync", "yes")
        metrics, replica = full_sync(master, binary, plan.maxclients, True, master_digest)
        sink["strings diskless"] = metrics
        progress(f"{name}: strings diskless {summary(metrics)}")
        with_case(sink, "lag", lambda: lag_test(master, replica, plan.requests))
    except (RoundFailure, RespError, ConnectionError, OSError, RuntimeError) as err:
        for case in ("strings disk", "strings diskless", "lag"):
            sink.setdefault(case, f"error: {err}")
    finally:
        stop_servers(replica, master)


def run_mixed(name, binary, plan, commands, sink):
    master = None
    try:
        master = start_server(name, binary, plan.maxclients, diskless=False)
        master_digest = fill(master, "mixed", plan.keys, commands)
        sink["digest:mixed"] = master_digest
        with_case(sink, "mixed disk", lambda: sync_and_stop(master, binary, plan, False, master_digest))
        master.ctl.call("CONFIG", "SET", "repl-diskless-sync", "yes")
        with_case(sink, "mixed diskless", lambda: sync_and_stop(master, binary, plan, True, master_digest))
    except (RoundFailure, RespError, ConnectionError, OSError, RuntimeError) as err:
        sink.setdefault("mixed disk", f"error: {err}")
        sink.setdefault("mixed diskless", f"error: {err}")
    finally:
        stop_servers(master)


def sync_and_stop(master, binary, plan, diskless, master_digest):
    metrics, replica = full_sync(master, binary, plan.maxclients, diskless, master_digest)
    replica.stop()
    return metrics


def with_case(sink, case, measure):
    """Runs one measurement into sink[case]; a failure is recorded, not raised, unless the
    servers themselves are gone."""
    try:
        sink[case] = measure()
        progress(f"{case}: {summary(sink[case])}")
    except (RoundFailure, RespError) as err:
        sink[case] = f"error: {err}"
        progress(f"{case}: {sink[case]}")


def summary(metrics):
    return ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float))


def run_round(rnd, plan, binaries, commands):
    order = list(NAMES) if rnd % 2 == 0 else list(reversed(NAMES))
    one = {}
    for name in order:
        progress(f"round {rnd + 1}/{plan.rounds}: {name}")
        one[name] = {}
        run_strings(name, binaries[name], plan, one[name])
        if plan.mixed:
            run_mixed(name, binaries[name], plan, commands, one[name])
    for dataset in ("strings", "mixed"):
        digests = {one[n].get(f"digest:{dataset}") for n in NAMES}
        if len(digests) > 1 and None not in digests:
            raise SystemExit(f"repl-bench: the two masters hold different {dataset} data: {digests}")
    return order, one


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

SYNC_CASES = ("strings disk", "strings diskless", "mixed disk", "mixed diskless")
SYNC_METRICS = (("total", "total: REPLICAOF to offsets equal, s"), ("fork_ms", "master fork, ms"),
                ("handshake", "handshake (to +FULLRESYNC), s"), ("snapshot", "snapshot wait, s"),
                ("transfer", "transfer, s"), ("load", "replica load, s"))
LAG_METRICS = (("lag_p50", "lag median, bytes", "{:.0f}"), ("lag_p99", "lag p99, bytes", "{:.0f}"),
               ("lag_max", "lag max, bytes", "{:.0f}"), ("catchup_ms", "catch-up after the load, ms", "{:.1f}"),
               ("replica_cpu_per_mb", "replica CPU s per MB of stream", "{:.4f}"),
               ("master_cpu_per_mb", "master CPU s per MB of stream", "{:.4f}"),
               ("rps", "redis-benchmark requests/s", "{:.0f}"), ("stream_mb", "stream, MB", "{:.1f}"))


def good_rounds(rounds, case):
    return [{n: r[n][case] for n in NAMES} for _, r in rounds
            if all(isinstance(r[n].get(case), dict) for n in NAMES)]


def errors_of(rounds, case):
    return [f"round {i + 1} {n}: {r[n][case]}" for i, (_, r) in enumerate(rounds)
            for n in NAMES if isinstance(r[n].get(case), str)]


def per_round(good, metric, fmt):
    return " ".join(f"{fmt.format(g['redis'][metric])}/{fmt.format(g['ferredis'][metric])}" for g in good)


def sync_table(rounds, plan):
    label = {"strings": f"{plan.keys:,} string keys (DEBUG POPULATE)",
             "mixed": f"list + hash + set + zset of {plan.keys:,} elements each"}
    rows = ["| dataset | sync | measure | redis (median) | ferredis (median) | ratio f/r (range) | per round r/f |",
            "|---|---|---|---:|---:|---:|---|"]
    notes = []
    for case in SYNC_CASES:
        dataset, mode = case.split()
        good = good_rounds(rounds, case)
        notes += errors_of(rounds, case)
        if not good:
            if dataset == "strings" or plan.mixed:
                rows.append(f"| {label[dataset]} | {mode} | (no successful round) | | | | |")
            continue
        for metric, what in SYNC_METRICS:
            fmt = "{:.1f}" if metric == "fork_ms" else "{:.3f}"
            cells = pair_cell(good, metric, fmt.format).split(" / ")
            bold = "**" if metric == "total" else ""
            rows.append(f"| {label[dataset]} | {mode} | {what} | {cells[0]} | {cells[1]} "
                        f"| {bold}{ratio_cell(good, metric)}{bold} | {per_round(good, metric, fmt)} |")
    return rows, notes


def lag_table(rounds):
    good = good_rounds(rounds, "lag")
    rows = ["| measure | redis (median) | ferredis (median) | ratio f/r (range) | per round r/f |",
            "|---|---:|---:|---:|---|"]
    for metric, what, fmt in LAG_METRICS:
        if not good:
            break
        cells = pair_cell(good, metric, fmt.format).split(" / ")
        bold = "**" if metric in ("lag_p50", "lag_p99", "catchup_ms", "replica_cpu_per_mb") else ""
        rows.append(f"| {what} | {cells[0]} | {cells[1]} | {bold}{ratio_cell(good, metric)}{bold} "
                    f"| {per_round(good, metric, fmt)} |")
    if not good:
        rows.append("| (no successful round) | | | | |")
    return rows, errors_of(rounds, "lag")


def commands_section(plan, binaries):
    master = Server("redis", binaries["redis"], plan.maxclients,
                    ["--repl-diskless-sync", "no|yes"] + REPL_ARGS)
    return ["```",
            f"scripts/repl-bench.sh {' '.join(sys.argv[1:])}".rstrip(),
            "# every server, master or replica (ferredis-server takes the same arguments):",
            master.command_line(),
            f"# strings master: DEBUG POPULATE {plan.keys}; mixed master: RPUSH/HSET/SADD/ZADD of 1000 "
            f"elements per command, pipelined {PIPELINE} commands per write",
            "# each full sync: a fresh replica, REPLICAOF 127.0.0.1 MASTERPORT, poll INFO replication "
            f"every {POLL_S * 1000:.0f} ms until link up and offsets equal",
            "# (the diskless cases: CONFIG SET repl-diskless-sync yes on the master first)",
            "# lag, on the strings pair after its diskless sync:",
            lag_case().shown_argv().replace("-n N", f"-n {plan.requests}") + " -q",
            "```"]


def report(args, plan, binaries, rounds, load_start, wall):
    lines = [f"- date: {time.strftime('%Y-%m-%d %H:%M:%S')}; wall time of the run: {wall / 60:.1f} min"]
    lines += bench.machine_description(binaries)[1:]
    lines += [f"- load average at the start: {' '.join(f'{v:.2f}' for v in load_start)}",
              bench.load_line("at the end"),
              f"- rounds: {plan.rounds} (order per round: "
              + ", ".join("/".join(order) for order, _ in rounds) + ")"]
    if args.quick:
        lines += ["", "> **SMOKE RUN (`--quick`)**: small datasets and one round; not a measurement."]
    sync_rows, sync_notes = sync_table(rounds, plan)
    lag_rows, lag_notes = lag_table(rounds)
    lines += ["", "#### Full sync", ""] + sync_rows
    lines += ["", f"#### Lag under `redis-benchmark -t {LAG_TESTS} -c 50 -P 16 -n {plan.requests} "
              f"-r {LAG_KEYSPACE}` (strings pair, after its diskless sync)", ""] + lag_rows
    notes = sync_notes + lag_notes
    if notes:
        lines += ["", "Failed measurements (left out of the medians):", ""] + [f"- {n}" for n in notes]
    lines += ["", "#### Commands", ""] + commands_section(plan, binaries)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------

class Plan:
    def __init__(self, args):
        self.quick = args.quick
        self.rounds = args.rounds or (1 if args.quick else 5)
        self.keys = args.keys or (100_000 if args.quick else 1_000_000)
        self.requests = args.requests or (50_000 if args.quick else 1_000_000)
        self.mixed = not args.no_mixed
        self.maxclients = bench.pick_maxclients()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 100k keys, -n 50000, one round")
    ap.add_argument("--rounds", type=int, help="rounds (default 5; 1 with --quick)")
    ap.add_argument("--keys", type=int, help="keys / elements per collection (default 1,000,000)")
    ap.add_argument("--requests", type=int, help="redis-benchmark -n per test for the lag (default 1,000,000)")
    ap.add_argument("--no-mixed", action="store_true", help="skip the list/hash/set/zset dataset")
    ap.add_argument("--ferredis-bin", default=str(bench.FERREDIS_BIN))
    ap.add_argument("--output", help="also write the markdown report to this file")
    return ap.parse_args()


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, bench.raise_interrupt)
    plan = Plan(args)
    binaries = {"redis": shutil.which("redis-server"), "ferredis": args.ferredis_bin}
    if not binaries["redis"] or not shutil.which("redis-benchmark"):
        sys.exit("repl-bench: redis-server/redis-benchmark missing: run scripts/install-peers.sh")
    load_start, started = os.getloadavg(), time.monotonic()
    if load_start[0] >= bench.BUSY_LOAD:
        progress(f"load average {load_start[0]:.2f}: the machine is busy, figures will be noisy")
    commands = mixed_commands(plan.keys) if plan.mixed else None
    rounds = [run_round(rnd, plan, binaries, commands) for rnd in range(plan.rounds)]
    text = report(args, plan, binaries, rounds, load_start, time.monotonic() - started)
    print(text)
    if args.output:
        Path(args.output).write_text(text)
        progress(f"written to {args.output}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("repl-bench: interrupted; servers stopped")
