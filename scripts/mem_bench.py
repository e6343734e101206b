#!/usr/bin/env python3
"""Memory used by ferredis and by the real redis-server 7.0.15 for the same data.

For each data set a fresh server of each kind is started (same settings as scripts/bench.py),
the data is loaded through a pipelined RESP connection with deterministic names ("key:%d" ...),
and the growth of RSS (VmRSS in /proc/<pid>/status) and of INFO's used_memory over the empty
server is divided by the number of elements. Memory does not depend on CPU contention, so one
run per server suffices, even on a busy machine.

After loading, each server is left idle until its RSS is steady (at most SETTLE_MAX_S): both
allocators give freed pages (old hash tables, grown arrays) back to the kernel over their
decay time (jemalloc's dirty_decay_ms, 10 s), Redis from jemalloc's background thread and
ferredis from serverCron, so a snapshot taken at once would count pages already freed.

used_memory is each server's own accounting (redis: jemalloc's allocated bytes; ferredis: its
zmalloc counter, also size classes), so RSS is the figure to compare; both are shown.

Usage: python3 scripts/mem_bench.py [--quick] [--no-build] [--rounds N] [--ferredis-bin PATH] [--only NAME]...
(bench.sh runs it unless --quick). Python standard library only.
"""
import argparse
import shutil
import signal
import statistics
import sys
import time

sys.dont_write_bytecode = True  # importing bench must not leave a __pycache__ in scripts/
from bench import BenchFailure, Server, encode, implemented, info_field, pick_maxclients, running
import bench

BATCH = 1000  # commands per pipelined write, or members per variadic command


def strings(scale):
    """1M string keys key:N with 16-byte values."""
    count = int(1_000_000 * scale)
    commands = (encode(["SET", f"key:{i}", f"value:{i:010d}"]) for i in range(count))
    return count, f"{count:,} string keys (16-byte values)", "key", commands


def hashes(scale):
    """100k hashes of 10 fields each (small enough for the listpack encoding in redis)."""
    count = int(100_000 * scale)
    fields = [x for f in range(10) for x in (f"field{f}", f"value{f:06d}")]
    commands = (encode(["HSET", f"hash:{i}"] + fields) for i in range(count))
    return count * 10, f"{count:,} hashes x 10 fields", "field", commands


def zset(scale):
    """One sorted set of 1M members, ZADD'ed 1000 at a time."""
    count = int(1_000_000 * scale)
    commands = (encode(["ZADD", "zset"] + [x for i in range(start, min(start + BATCH, count))
                                           for x in (str(i), f"member:{i}")])
                for start in range(0, count, BATCH))
    return count, f"one zset of {count:,} members", "member", commands


def big_list(scale):
    """One list of 1M elements, RPUSH'ed 1000 at a time."""
    count = int(1_000_000 * scale)
    commands = (encode(["RPUSH", "list"] + [f"item:{i:07d}" for i in range(start, min(start + BATCH, count))])
                for start in range(0, count, BATCH))
    return count, f"one list of {count:,} elements", "element", commands


def small_sets(scale):
    """100k sets of 5 non-integer members (hashtable encoding in redis 7.0: no listpack sets)."""
    count = int(100_000 * scale)
    members = [f"member:{m}" for m in range(5)]
    commands = (encode(["SADD", f"set:{i}"] + members) for i in range(count))
    return count * 5, f"{count:,} small sets x 5 members", "member", commands


def small_intsets(scale):
    """100k sets of 5 integers (intset encoding)."""
    count = int(100_000 * scale)
    commands = (encode(["SADD", f"iset:{i}"] + [str(i * 10 + m) for m in range(5)]) for i in range(count))
    return count * 5, f"{count:,} small int sets x 5 members", "member", commands


def small_lists(scale):
    """100k lists of 5 elements (one listpack node each)."""
    count = int(100_000 * scale)
    items = [f"item:{m}" for m in range(5)]
    commands = (encode(["RPUSH", f"list:{i}"] + items) for i in range(count))
    return count * 5, f"{count:,} small lists x 5 elements", "element", commands


def small_zsets(scale):
    """100k sorted sets of 5 members (listpack encoding)."""
    count = int(100_000 * scale)
    pairs = [x for m in range(5) for x in (str(m), f"member:{m}")]
    commands = (encode(["ZADD", f"zset:{i}"] + pairs) for i in range(count))
    return count * 5, f"{count:,} small zsets x 5 members", "member", commands


def keys(n):
    return lambda s: [("DBSIZE",), int(n * s)]


# name, command it needs, generator, check of the loaded data (command, expected reply).
# Issue 7's data sets first (1M strings, 100k hashes, one big zset, one big list), then
# issue 3's small aggregates.
DATASETS = [
    ("strings", "set", strings, keys(1_000_000)),
    ("hashes", "hset", hashes, keys(100_000)),
    ("zset", "zadd", zset, lambda s: [("ZCARD", "zset"), int(1_000_000 * s)]),
    ("list", "rpush", big_list, lambda s: [("LLEN", "list"), int(1_000_000 * s)]),
    ("sets", "sadd", small_sets, keys(100_000)),
    ("intsets", "sadd", small_intsets, keys(100_000)),
    ("lists", "rpush", small_lists, keys(100_000)),
    ("zsets", "zadd", small_zsets, keys(100_000)),
]

SETTLE_MAX_S = 15     # jemalloc's dirty_decay_ms is 10 s
SETTLE_STEADY_S = 3   # RSS is steady when it moved less than SETTLE_TOLERANCE over this long
SETTLE_TOLERANCE = 0.003


def batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def snapshot(server):
    return {"rss": server.rss_bytes(), "used": int(info_field(server.ctl, "memory", "used_memory"))}


def settle(server):
    """Waits until the server's RSS is steady (see the module doc); returns the seconds waited."""
    started, readings = time.monotonic(), []
    while True:
        time.sleep(0.5)
        readings.append(server.rss_bytes())
        waited = time.monotonic() - started
        window = readings[-int(SETTLE_STEADY_S / 0.5) - 1:]
        steady = len(readings) > SETTLE_STEADY_S / 0.5 and max(window) - min(window) <= SETTLE_TOLERANCE * max(window)
        if steady or waited >= SETTLE_MAX_S:
            return waited


def load(server, commands):
    for batch in batched(commands, BATCH):
        errors = server.ctl.pipeline(batch)
        if errors:
            raise BenchFailure(f"{len(errors)} error replies, first: {errors[0]}")


def measure(server, generator, check, scale):
    """Memory growth of one fresh server while one data set is loaded into it."""
    time.sleep(0.5)  # the cron's first runs
    before = snapshot(server)
    elements, _, _, commands = generator(scale)
    started = time.monotonic()
    load(server, commands)
    load_seconds = time.monotonic() - started
    (command, expected) = check(scale)
    got = server.ctl.call(*command)
    if got != expected:
        raise BenchFailure(f"{' '.join(command)} answered {got}, expected {expected}")
    settle_seconds = settle(server)
    after = snapshot(server)
    return {"before": before, "after": after, "elements": elements, "load_s": load_seconds,
            "settle_s": settle_seconds, "allocator": info_field(server.ctl, "memory", "mem_allocator")}


def measure_dataset(binaries, maxclients, dataset, scale, rounds):
    """`rounds` fresh servers of each kind, one after the other; result[kind] lists the samples."""
    name, needs, generator, check = dataset
    result = {"name": name, "title": generator(scale)[1], "unit": generator(scale)[2], "redis": [], "ferredis": []}
    for _ in range(rounds):
        for kind in ("redis", "ferredis"):
            with running(Server(kind, binaries[kind], maxclients)) as server:
                if not implemented(server.ctl, needs):
                    result["status"] = f"n/a (not implemented: {needs.upper()})"
                    return result
                try:
                    result[kind].append(measure(server, generator, check, scale))
                except (BenchFailure, bench.RespError, ConnectionError, OSError) as err:
                    result["status"] = f"error ({kind}): {err}"
                    return result
    result["status"] = "ok"
    return result


def mib(value):
    return f"{value / 2**20:.1f}"


def per_element(samples, key):
    """Median over the rounds of the growth per element."""
    return statistics.median((s["after"][key] - s["before"][key]) / s["elements"] for s in samples)


def per_element_cell(samples, key):
    values = [(s["after"][key] - s["before"][key]) / s["elements"] for s in samples]
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{statistics.median(values):.1f}{spread}"


def table(results, scale, rounds):
    medians = f"; medians of {rounds} rounds (range in brackets)" if rounds > 1 else ""
    rows = [f"Fresh server per data set{' (scale ' + str(scale) + ')' if scale != 1 else ''}{medians}; "
            "bytes per element = growth over the empty server / elements; ratio = ferredis / redis.", "",
            "| data set | elements | RSS MiB r / f | RSS B/elem r / f | RSS ratio | used_memory MiB r / f | used_memory B/elem r / f | used_memory ratio | settled after s r / f |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        if res["status"] != "ok":
            rows.append(f"| {res['title']} | | {res['status']} | | | | | | |")
            continue
        r, f = res["redis"], res["ferredis"]
        cells = [f"{res['title']}", f"{r[0]['elements']:,} {res['unit']}s"]
        for key in ("rss", "used"):
            pr, pf = per_element(r, key), per_element(f, key)
            after = [mib(statistics.median(s["after"][key] for s in side)) for side in (r, f)]
            cells += [" / ".join(after), f"{per_element_cell(r, key)} / {per_element_cell(f, key)}",
                      f"{pf / pr:.2f}" if pr > 0 else "—"]
        cells.append(" / ".join(f"{max(s['settle_s'] for s in side):.0f}" for side in (r, f)))
        rows.append("| " + " | ".join(cells) + " |")
    allocators = {kind: res[kind][0]["allocator"] for res in results if res["status"] == "ok" for kind in ("redis", "ferredis")}
    if allocators:
        rows += ["", f"Allocators (INFO mem_allocator): redis {allocators['redis']}, ferredis {allocators['ferredis']}."]
    return rows


def run(binaries, maxclients, quick, only=None, rounds=1):
    """All data sets (or those named in `only`); returns the markdown lines of the memory section."""
    scale = 0.01 if quick else 1
    results = []
    for dataset in DATASETS:
        if only and dataset[0] not in only:
            continue
        print(f"mem_bench: {dataset[0]}", file=sys.stderr, flush=True)
        results.append(measure_dataset(binaries, maxclients, dataset, scale, rounds))
    return table(results, scale, rounds)


def main():
    ap = argparse.ArgumentParser(description="memory per element, ferredis vs redis-server")
    ap.add_argument("--quick", action="store_true", help="1/100 of the data, for smoke testing")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binary")
    ap.add_argument("--ferredis-bin", help="measure this ferredis-server binary (implies --no-build)")
    ap.add_argument("--only", action="append", choices=[d[0] for d in DATASETS],
                    help="only this data set (repeatable)")
    ap.add_argument("--rounds", type=int, default=1, help="fresh servers per data set and kind; medians are reported")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, bench.raise_interrupt)
    if not args.no_build and not args.ferredis_bin:
        bench.build_ferredis()
    binaries = {"redis": shutil.which("redis-server"), "ferredis": args.ferredis_bin or str(bench.FERREDIS_BIN)}
    print("\n".join(["## Memory", ""] + run(binaries, pick_maxclients(), args.quick, args.only, max(1, args.rounds))))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("mem_bench: interrupted; servers stopped")
