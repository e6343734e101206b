#!/usr/bin/env bash
# One command to benchmark ferredis side by side with the real redis-server 7.0.15:
# builds ferredis (release), starts both servers on free loopback ports with the same settings,
# runs redis-benchmark against them alternately, the resize-latency probe and (unless --quick)
# scripts/mem_bench.py, prints a markdown report and writes it to docs/benchmarks-latest.md.
#
# Usage: scripts/bench.sh [--quick] [--no-build] [--skip-mem] [--output FILE]
# What the figures mean and how long a run takes: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-peers.sh >&2
exec python3 scripts/bench.py "$@"
