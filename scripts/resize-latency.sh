#!/usr/bin/env bash
# Measures the worst latency a 1-ms PING probe sees while redis-benchmark loads millions of
# keys, first into the real redis-server 7.0 and then into ferredis, on free loopback ports.
# A table resize that is not incremental shows up as a multi-millisecond stall here.
#
# Usage: scripts/resize-latency.sh [KEYSPACE=5000000] [REQUESTS=10000000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
keyspace="${1:-5000000}"
requests="${2:-10000000}"
cargo build --release --quiet
scripts/install-peers.sh >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

measure() {
    local name="$1"; shift
    local port; port=$(free_port)
    local dir; dir=$(mktemp -d)
    "$@" --port "$port" --save "" --appendonly no --dir "$dir" --logfile "$dir/log" &
    local pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    # The probe runs at a higher priority and the load generator at a lower one, so that on
    # a small machine the probe measures the server's stalls, not the scheduler's.
    nice -n -10 python3 scripts/latency_probe.py --port "$port" --until "$dir/done" > "$dir/probe" &
    local probe=$!
    local started; started=$(date +%s.%N)
    nice -n 10 redis-benchmark -p "$port" -t set -r "$keyspace" -n "$requests" -P 32 -q > "$dir/bench" 2>&1
    local ended; ended=$(date +%s.%N)
    touch "$dir/done"; wait "$probe"
    local keys; keys=$(redis-cli -p "$port" dbsize)
    printf '%-9s keys=%s load_s=%.1f %s\n' "$name" "$keys" "$(echo "$ended - $started" | bc)" "$(cat "$dir/probe")"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
}

measure redis redis-server
measure ferredis target/release/ferredis-server
