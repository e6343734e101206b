#!/usr/bin/env bash
# Runs a cargo-fuzz (libFuzzer + AddressSanitizer) target for a fixed time and prints how many
# inputs it executed. Exits non-zero if the fuzzer found a crash, leak or timeout; the input
# that triggered it is saved under fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz.sh [TARGET] [SECONDS]      e.g. scripts/fuzz.sh rdb_load 600
#        scripts/fuzz.sh [SECONDS] [TARGET]      (the original order; still accepted)
#   TARGET   one of fuzz/fuzz_targets/*.rs (default resp_parser):
#              resp_parser      the RESP request parser (networking.rs)
#              rdb_load         the RDB loader on whole files and single values (rdb/load.rs)
#              restore_payload  RESTORE's footer check and value loading (cluster.rs)
#   SECONDS  how long to run (default 60)
#   FUZZ_MAX_LEN   largest input libFuzzer generates (default 4096 for resp_parser, where
#                  >65536 reaches the parser's 64 KiB limits at the cost of speed; 32768 for
#                  rdb_load so the 28 KB fixture fits; 16384 for restore_payload)
#
# An empty corpus is seeded first: resp_parser with a few requests, rdb_load with the RDB
# fixtures (tests/data/rdb) and the value part of each DUMP payload (tests/data/dump),
# restore_payload with those payloads in each of the target's selector modes.
#
# Toolchain: the machine has only stable Rust, but cargo-fuzz passes nightly-only flags to
# rustc (-Zsanitizer=address and sanitizer-coverage options). RUSTC_BOOTSTRAP=1 lets the stable
# compiler accept them; that is what makes this work without a nightly toolchain.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { echo "usage: $0 [TARGET] [SECONDS]  (targets: $(ls fuzz/fuzz_targets | sed 's/\.rs$//' | tr '\n' ' '))" >&2; exit 2; }

# Either order: a number is the time, anything else the target.
TARGET=resp_parser
SECONDS_TO_RUN=60
for arg in "$@"; do
    if [[ "$arg" =~ ^[0-9]+$ ]]; then SECONDS_TO_RUN="$arg"; else TARGET="$arg"; fi
done
[[ $# -le 2 && -f "fuzz/fuzz_targets/$TARGET.rs" ]] || usage
readonly TARGET SECONDS_TO_RUN

case "$TARGET" in
    rdb_load) default_max_len=32768 ;;
    restore_payload) default_max_len=16384 ;;
    *) default_max_len=4096 ;;
esac
readonly MAX_LEN="${FUZZ_MAX_LEN:-$default_max_len}"
readonly CORPUS="fuzz/corpus/$TARGET"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1

# The first byte of each input selects proto-max-bulk-len in the resp_parser target.
seed_resp_parser() {
    printf '\x00*1\r\n$4\r\nPING\r\n' >"$CORPUS/seed-multibulk"
    printf '\x00*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*0\r\n' >"$CORPUS/seed-set"
    printf '\x00PING\r\nECHO "a\\x41 b" '"'"'c d'"'"'\n\n' >"$CORPUS/seed-inline"
    printf '\x01*1\r\n$2\r\nab\r\n' >"$CORPUS/seed-small-bulk-limit"
    printf '\x00*2\r\n$-1\r\n' >"$CORPUS/seed-bad-bulk"
}

# Whole RDB files, and "type byte + value" (a DUMP payload without its 10-byte footer).
seed_rdb_load() {
    local f
    for f in tests/data/rdb/*.rdb; do
        [[ -f "$f" ]] && cp "$f" "$CORPUS/seed-$(basename "$f")"
    done
    for f in tests/data/dump/*.dump; do
        head -c -10 "$f" >"$CORPUS/seed-value-$(basename "$f" .dump)"
    done
}

# Selector byte (see the target): 0 = whole payload, 1 = body + computed footer,
# 5 = body + footer with tiny encoding thresholds.
seed_restore_payload() {
    local f name
    for f in tests/data/dump/*.dump; do
        name="$(basename "$f" .dump)"
        { printf '\x00'; cat "$f"; } >"$CORPUS/seed-payload-$name"
        { printf '\x01'; head -c -10 "$f"; } >"$CORPUS/seed-body-$name"
        { printf '\x05'; head -c -10 "$f"; } >"$CORPUS/seed-tiny-$name"
    done
}

seed_corpus() {
    mkdir -p "$CORPUS"
    [[ -n "$(ls -A "$CORPUS")" ]] && return 0
    case "$TARGET" in
        resp_parser) seed_resp_parser ;;
        rdb_load) seed_rdb_load ;;
        restore_payload) seed_restore_payload ;;
    esac
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
