#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) briefly from its committed corpus: FUZZ_SECONDS each
# (default 20, at most 60). Needs a nightly toolchain and cargo-fuzz, and fails when either is
# missing: a fuzz smoke that cannot run is a failure, not a pass.
# New corpus entries go to a temporary directory, so the committed corpus stays as it is.
# Exits non-zero when a target finds a failure; the input is then in fuzz/artifacts/<target>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-20}"
if [[ "$seconds" -gt 60 ]]; then
    seconds=60
fi
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz smoke: FAILED: no nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: FAILED: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root/fuzz"
targets=$(cargo +nightly fuzz list)
if [[ -z "$targets" ]]; then
    echo "fuzz smoke: FAILED: cargo fuzz list names no target" >&2
    exit 1
fi
# The crate has no unsafe code, so the fuzzer runs without a sanitizer: several times faster.
if ! cargo +nightly fuzz build --sanitizer none >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log"
    echo "fuzz smoke: FAILED: the targets do not build" >&2
    exit 1
fi
for target in $targets; do
    mkdir -p "$work/$target" "corpus/$target"
    set +e
    cargo +nightly fuzz run --sanitizer none "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 >"$work/$target.log" 2>&1
    status=$?
    set -e
    runs=$(grep -E '^stat::number_of_executed_units' "$work/$target.log" | awk '{print $2}')
    if [[ "$status" -ne 0 || -z "$runs" || "$runs" -eq 0 ]]; then
        tail -n 60 "$work/$target.log"
        echo "fuzz smoke: FAILED: $target (exit $status, ${runs:-no} executions); the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    echo "fuzz smoke: $target ok (${seconds}s, $runs executions)"
done
echo "fuzz smoke: ok"
