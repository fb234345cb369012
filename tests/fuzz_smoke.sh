#!/usr/bin/env bash
# Runs the `decoder` fuzz target (fuzz/) for up to 60 seconds from its committed corpus, when a
# nightly toolchain and cargo-fuzz are installed; otherwise says why and skips (exit 0).
# New corpus entries go to a temporary directory, so the committed corpus stays as it is.
# Exits non-zero when the target finds a failure; the input is then in fuzz/artifacts/decoder/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-60}"
if [[ "$seconds" -gt 60 ]]; then
    seconds=60
fi
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz smoke: skipped (no nightly toolchain; rustup toolchain install nightly)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: skipped (cargo-fuzz is not installed; cargo install cargo-fuzz)"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cd "$root/fuzz"
# The crate has no unsafe code, so the fuzzer runs without a sanitizer: several times faster.
set +e
cargo +nightly fuzz run --sanitizer none decoder "$work/corpus" corpus/decoder -- \
    -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 >"$work/fuzz.log" 2>&1
status=$?
set -e
grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$work/fuzz.log" || true
if [[ "$status" -ne 0 ]]; then
    tail -n 60 "$work/fuzz.log"
    echo "fuzz smoke: the decoder target failed (exit $status); the input is in fuzz/artifacts/decoder/"
    exit "$status"
fi
echo "fuzz smoke: ok (${seconds}s)"
