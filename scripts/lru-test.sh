#!/usr/bin/env bash
# LRU/LFU approximation quality, ferredis next to the real redis-server 7.0.15, measured by
# redis-cli's own simulation: `redis-cli --lru-test <keys>` loops forever over cycles of
# 250 pipelined SETs then 250 pipelined GETs of keys "lru:N" drawn by a power law
# (most accesses go to a small part of the keys) and prints, once a second,
#   "<n> Gets/sec | Hits: <h> (<h%>) | Misses: <m> (<m%>)".
#
# Each server runs alone (one after the other, the machine is small) on a free loopback port
# with the same maxmemory, policy and samples, for SECONDS seconds. The first third of the
# per-second lines is warm-up; the hit rate is the mean of the rest. Reported: hit rates, the
# keys each server holds at the end (DBSIZE), used_memory, and ferredis/redis ratio.
#
# Bytes per key differ between the two (jemalloc size classes against Rust's exact sizes),
# so the same maxmemory holds a different number of keys. With CAPACITY=n in the
# environment, each server's maxmemory is instead calibrated to hold about n keys: n filler
# keys "lru:<keys+i>" (never read again, so evicted first) are written and maxmemory set to
# the memory they take. That compares the eviction algorithms alone.
#
# Usage: scripts/lru-test.sh [KEYS=1000000] [SECONDS=30] [POLICY=allkeys-lru] [SAMPLES=5] [MAXMEMORY=20mb]
#        CAPACITY=200000 scripts/lru-test.sh 1000000 30 allkeys-lfu
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
keys="${1:-1000000}"
seconds="${2:-30}"
policy="${3:-allkeys-lru}"
samples="${4:-5}"
maxmemory="${5:-20mb}"
capacity="${CAPACITY:-}"
cargo build --release --quiet --bin ferredis-server
ferredis="${FERREDIS:-target/release/ferredis-server}"

# A free port in 40000-49999 (bindable now).
free_port() {
    python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(40000, 49999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()'
}
info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start BINARY PORT: a server with the test's settings, recorded for cleanup.
start() {
    local bin="$1" port="$2" mm="$maxmemory"
    [ -n "$capacity" ] && mm=0
    "$bin" --port "$port" --save "" --appendonly no --dir "$work" --logfile "$work/$port.log" \
        --maxmemory "$mm" --maxmemory-policy "$policy" --maxmemory-samples "$samples" &
    pids+=($!)
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
    echo "server on port $port did not start" >&2; exit 1
}

# calibrate PORT: CAPACITY filler keys, then maxmemory = the memory they take.
calibrate() {
    local port="$1"
    seq $((keys + 1)) $((keys + capacity)) | awk '{ printf "SET lru:%d AAAAA\r\n", $1 }' \
        | redis-cli -p "$port" --pipe >/dev/null
    redis-cli -p "$port" config set maxmemory "$(info_field "$port" memory used_memory)" >/dev/null
}

# run NAME BINARY: prints "NAME hit% dbsize used_memory maxmemory".
run() {
    local name="$1" bin="$2" port
    port=$(free_port)
    start "$bin" "$port"
    [ -n "$capacity" ] && calibrate "$port"
    timeout -s INT "$seconds" stdbuf -oL redis-cli -p "$port" --lru-test "$keys" > "$work/$name.out" || true
    local hit
    hit=$(grep -o 'Hits: [0-9]* ([0-9.]*%)' "$work/$name.out" | sed -E 's/.*\(([0-9.]+)%\)/\1/' \
        | awk '{ v[NR] = $1 } END { s = 0; n = 0; for (i = int(NR / 3) + 1; i <= NR; i++) { s += v[i]; n++ } if (n) printf "%.2f", s / n; else print "nan" }')
    echo "$name $hit $(redis-cli -p "$port" dbsize) $(info_field "$port" memory used_memory) $(info_field "$port" memory maxmemory)"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

ours=$(run ferredis "$ferredis")
theirs=$(run redis redis-server)
limit="maxmemory $maxmemory"
[ -n "$capacity" ] && limit="maxmemory calibrated to hold $capacity keys"
echo "redis-cli --lru-test $keys, ${seconds}s per server, policy $policy, samples $samples, $limit"
printf '| %-8s | %9s | %9s | %12s | %12s |\n' server "hit rate" keys used_memory maxmemory
printf '|----------|-----------|-----------|--------------|--------------|\n'
for line in "$ours" "$theirs"; do
    set -- $line
    printf '| %-8s | %8s%% | %9s | %12s | %12s |\n' "$1" "$2" "$3" "$4" "$5"
done
set -- $ours; ours_hit=$2
set -- $theirs; theirs_hit=$2
echo "hit-rate ratio ferredis/redis: $(awk -v a="$ours_hit" -v b="$theirs_hit" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }')"
