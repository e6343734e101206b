#!/usr/bin/env bash
# Side-by-side replication timings of ferredis and the real redis-server 7.0.15: full-sync
# time of a fresh replica (1M string keys, and a 1M-element list/hash/set/zset; disk and
# diskless) and the replication lag under a redis-benchmark write load, alternating the two
# implementations over several rounds, medians of the per-round ratios ferredis/redis.
# The work is done by scripts/repl_bench.py (its docstring says exactly what is timed);
# results and the command line used: docs/benchmarks.md, "Replication: full sync and lag".
#
# Usage: scripts/repl-bench.sh [--no-build] [--quick] [--rounds N] [--keys N] [--requests N]
#                              [--no-mixed] [--output FILE]
# A full run (5 rounds) takes about 15 minutes on 2 cores and needs ~2 GB of free memory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
args=()
for arg in "$@"; do
    if [[ "$arg" == "--no-build" ]]; then build=0; else args+=("$arg"); fi
done

for peer in redis-server redis-benchmark; do
    command -v "$peer" >/dev/null || { echo "repl-bench: $peer not on PATH: run scripts/install-peers.sh" >&2; exit 1; }
done
if ((build)); then
    nice -n 10 cargo build --release --bin ferredis-server >&2
fi
exec python3 scripts/repl_bench.py "${args[@]+"${args[@]}"}"
