#!/usr/bin/env bash
# Runs a cargo-fuzz (libFuzzer + AddressSanitizer) target for a fixed time and prints how many
# inputs it executed. Exits non-zero if the fuzzer found a crash, leak or timeout; the input
# that triggered it is saved under fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS=60] [TARGET=resp_parser]
#   FUZZ_MAX_LEN   largest input libFuzzer generates (default 4096; >65536 reaches the
#                  parser's 64 KiB limits, at the cost of speed)
#
# Toolchain: the machine has only stable Rust, but cargo-fuzz passes nightly-only flags to
# rustc (-Zsanitizer=address and sanitizer-coverage options). RUSTC_BOOTSTRAP=1 lets the stable
# compiler accept them; that is what makes this work without a nightly toolchain.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly SECONDS_TO_RUN="${1:-60}"
readonly TARGET="${2:-resp_parser}"
readonly MAX_LEN="${FUZZ_MAX_LEN:-4096}"
readonly CORPUS="fuzz/corpus/$TARGET"

[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET]" >&2; exit 2; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1

# A few well-formed and broken requests give libFuzzer a head start on an empty corpus. The
# first byte of each input selects proto-max-bulk-len in the resp_parser target.
seed_corpus() {
    mkdir -p "$CORPUS"
    [[ -n "$(ls -A "$CORPUS")" ]] && return 0
    printf '\x00*1\r\n$4\r\nPING\r\n' >"$CORPUS/seed-multibulk"
    printf '\x00*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*0\r\n' >"$CORPUS/seed-set"
    printf '\x00PING\r\nECHO "a\\x41 b" '"'"'c d'"'"'\n\n' >"$CORPUS/seed-inline"
    printf '\x01*1\r\n$2\r\nab\r\n' >"$CORPUS/seed-small-bulk-limit"
    printf '\x00*2\r\n$-1\r\n' >"$CORPUS/seed-bad-bulk"
}

main() {
    local log status executions
    seed_corpus
    log="$(mktemp)"
    echo "fuzz.sh: running $TARGET for ${SECONDS_TO_RUN}s (max_len $MAX_LEN)"
    status=0
    (cd fuzz && cargo fuzz run "$TARGET" -- \
        -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" -timeout=10 -print_final_stats=1) \
        2>&1 | tee "$log" || status=$?
    executions="$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n1)"
    rm -f "$log"
    echo "fuzz.sh: $TARGET: ${executions:-unknown} executions (time limit ${SECONDS_TO_RUN}s), exit status $status"
    return "$status"
}

main
