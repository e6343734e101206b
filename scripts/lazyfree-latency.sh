#!/usr/bin/env bash
# Lazy free latency: the worst round trip a 1-ms PING probe sees while a big value or a big
# keyspace is dropped, on the real redis-server 7.0 (which frees on its lazyfree thread) and
# on ferredis (which has no threads and frees a ~1 ms slice per event-loop turn).
#
# For each server, on a free loopback port:
#   UNLINK       of a SET of MEMBERS members (loaded by pipelined SADD, 1000 per command)
#   DEL          of the same set, reloaded: the synchronous reference
#   FLUSHALL ASYNC after DEBUG POPULATE KEYS
#   FLUSHALL SYNC  after DEBUG POPULATE KEYS: the synchronous reference
# Each row: the probe's worst and average round trip while the command runs and until INFO
# lazyfree_pending_objects is back to 0, how long that took ("freed in", measured by this
# script around redis-cli calls, so a few ms of process start-up are included), and
# used_memory before and after.
#
# Usage: scripts/lazyfree-latency.sh [MEMBERS=10000000] [KEYS=5000000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
members="${1:-10000000}"
keys="${2:-5000000}"
cargo build --release --quiet --bin ferredis-server
scripts/install-peers.sh >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
info_field() { redis-cli -p "$1" info memory | tr -d '\r' | sed -n "s/^$2://p"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The SADD protocol stream, generated once for all loads.
python3 - "$members" > "$work/sadd.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout
for start in range(0, n, 1000):
    args = [b"SADD", b"bigset"] + [b"member:%d" % i for i in range(start, min(start + 1000, n))]
    out.write("*%d\r\n" % len(args))
    out.write("".join("$%d\r\n%s\r\n" % (len(a), a.decode()) for a in args))
EOF

# phase NAME PORT COMMAND...: runs COMMAND under the probe and waits for the lazy free.
phase() {
    local name="$1" port="$2"; shift 2
    local before; before=$(info_field "$port" used_memory)
    nice -n -10 python3 scripts/latency_probe.py --port "$port" --until "$work/done" > "$work/probe" &
    local probe=$!
    sleep 0.3
    local started; started=$(now)
    redis-cli -p "$port" "$@" > /dev/null
    while [ "$(info_field "$port" lazyfree_pending_objects)" != 0 ]; do sleep 0.005; done
    local ended; ended=$(now)
    touch "$work/done"; wait "$probe"; rm -f "$work/done"
    local after; after=$(info_field "$port" used_memory)
    printf '| %-8s | %-16s | %s | %8.0f | %5d MB -> %4d MB |\n' "$server" "$name" \
        "$(sed -E 's/samples=([0-9]+) avg_ms=([0-9.]+) max_ms=([0-9.]+)/\3 | \2 | \1/' "$work/probe")" \
        "$(echo "($ended - $started) * 1000" | bc)" $((before / 1048576)) $((after / 1048576))
}

measure() {
    server="$1"; shift
    local port; port=$(free_port)
    mkdir -p "$work/$server"
    "$@" --port "$port" --save "" --appendonly no --enable-debug-command yes \
        --dir "$work/$server" --logfile "$work/$server/log" &
    local pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    redis-cli -p "$port" --pipe < "$work/sadd.resp" > /dev/null
    phase "UNLINK set" "$port" UNLINK bigset
    redis-cli -p "$port" --pipe < "$work/sadd.resp" > /dev/null
    phase "DEL set" "$port" DEL bigset
    redis-cli -p "$port" debug populate "$keys" > /dev/null
    phase "FLUSHALL ASYNC" "$port" FLUSHALL ASYNC
    redis-cli -p "$port" debug populate "$keys" > /dev/null
    phase "FLUSHALL SYNC" "$port" FLUSHALL SYNC
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "members=$members keys=$keys; $(nproc) cores; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| server   | command          | max ms | avg ms | PINGs | freed in ms | used_memory |"
echo "|---|---|---:|---:|---:|---:|---|"
measure redis redis-server
measure ferredis target/release/ferredis-server
echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
