#!/usr/bin/env bash
# Side-by-side RDB timings of ferredis and the real redis-server 7.0.15: SAVE, BGSAVE and
# start-up load of 1M string keys and of a 1M-element list, hash, set and zset, alternating
# the two servers over several rounds, medians and ferredis/redis ratios as a markdown table.
# The work is done by scripts/rdb_bench.py (its docstring says exactly what is timed);
# results and the command line used: docs/benchmarks.md, "RDB: SAVE, BGSAVE and load".
#
# Usage: scripts/rdb-bench.sh [--no-build] [--rounds N] [--n N] [--scenarios strings,list,hash,set,zset]
#                             [--output FILE]
# A full run (5 rounds, 1M) takes about 10 minutes on 2 cores and needs ~2 GB of free memory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
args=()
for arg in "$@"; do
    if [[ "$arg" == "--no-build" ]]; then build=0; else args+=("$arg"); fi
done

for peer in redis-server; do
    command -v "$peer" >/dev/null || { echo "rdb-bench: $peer not on PATH: run scripts/install-peers.sh" >&2; exit 1; }
done
if ((build)); then
    cargo build --release --bin ferredis-server >&2
fi
exec python3 scripts/rdb_bench.py "${args[@]+"${args[@]}"}"
