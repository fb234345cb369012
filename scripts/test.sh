#!/usr/bin/env bash
# Runs every check llm-metrics has, in order, and stops at the first failure: set-up, format,
# lints (native and wasm32), Rust tests, docs, the release wasm build, tests/web.rs in Node.js and
# headless Chromium, the JavaScript tests of the built package, the browser tests of the page, and
# the ClickHouse differential test. Prints the time each step took and a closing
# "N passed, N failed" line.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# node_modules/.bin first: wasm-pack must pick up binaryen's wasm-opt (see Cargo.toml).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

LOGS=target/test-logs
mkdir -p "$LOGS"

passed=0
failed=0
timings=()

summary() {
    echo
    echo "== step timings"
    local line
    for line in "${timings[@]}"; do
        echo "$line"
    done
    echo
    echo "$passed passed, $failed failed"
}

# step NAME COMMAND...: runs COMMAND, records its time, and ends the run if it fails.
step() {
    local name="$1"
    shift
    echo
    echo "== $name"
    local start end status
    start=$(date +%s.%N)
    "$@"
    status=$?
    end=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        timings+=("$(printf '  ok    %7ss  %s' "$secs" "$name")")
        echo "-- ok: $name (${secs}s)"
    else
        failed=$((failed + 1))
        timings+=("$(printf '  FAIL  %7ss  %s' "$secs" "$name")")
        echo "-- FAILED: $name (exit $status, ${secs}s)"
        summary
        exit 1
    fi
}

# wasm_tests LOG PATTERN COMMAND...: runs a wasm-bindgen test command, keeps its output in LOG,
# and fails unless it exits 0, its output matches PATTERN (the host it was meant to run on), no
# suite was skipped, and at least one test passed (a runner that skips a suite still exits 0).
wasm_tests() {
    local log="$1" pattern="$2"
    shift 2
    "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || return "$status"
    if ! grep -Eq "$pattern" "$log"; then
        echo "the wasm tests did not run where expected: no line matches '$pattern'" >&2
        return 1
    fi
    if grep -q 'so skipping' "$log"; then
        echo "a wasm test suite was skipped instead of run" >&2
        return 1
    fi
    local ran
    ran=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{ n += $4 } END { print n + 0 }')
    if [ "$ran" -eq 0 ]; then
        echo "no wasm test ran" >&2
        return 1
    fi
    echo "wasm tests passed: $ran"
}

wasm_build() {
    wasm-pack build --release --target web --out-dir pkg || return
    local wasm=pkg/llm_metrics_bg.wasm raw gz
    raw=$(stat -c %s "$wasm") || return
    gz=$(gzip -9 -c "$wasm" | wc -c)
    printf 'wasm size: %s bytes raw, %s bytes gzip -9 (%s)\n' "$raw" "$gz" "$wasm"
}

step "setup (--test)" bash scripts/setup.sh --test
# The wasm test files: the engine's API, hostile pipes and hostile SQL, each on wasm32's 1 MiB stack.
WASM_TESTS="--test web --test web_limits --test web_sql_limits --test web_ingest --test web_formats"
step "cargo fmt --check" cargo fmt --all --check
step "clippy (native, all targets)" cargo clippy --all-targets --locked -- -D warnings
step "clippy (wasm32 lib + tests/web.rs)" \
    cargo clippy --target wasm32-unknown-unknown --lib $WASM_TESTS --locked -- -D warnings
step "cargo test" cargo test --locked
step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked
step "wasm-pack build --release" wasm_build
step "copy the page's vendor files (scripts/vendor.sh)" bash scripts/vendor.sh
# tests/web.rs runs under wasm-bindgen-test-runner, as `wasm-pack test` would run it; cargo is
# called directly because `wasm-pack test` always builds every test target (`--tests`) for
# wasm32, including native-only ones such as tests/ingest.rs (proptest does not build there).
# The file does not pin a host, so the environment selects Node.js or headless Chromium.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
step "wasm tests in Node.js (tests/web*.rs)" wasm_tests "$LOGS/wasm-node.log" 'running [0-9]+ tests' \
    env WASM_BINDGEN_TEST_ONLY_NODE=1 \
    cargo test --locked --target wasm32-unknown-unknown $WASM_TESTS
step "wasm tests in headless Chromium (tests/web*.rs)" wasm_tests "$LOGS/wasm-chrome.log" \
    'Running headless tests in Chrome' \
    env WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_ONLY_WEB=1 CHROMEDRIVER="$(command -v chromedriver)" \
    cargo test --locked --target wasm32-unknown-unknown $WASM_TESTS
step "JS tests of pkg/ (node --test tests/js/)" node --test tests/js/
step "page tests in Chromium (node --test tests/e2e/)" node --test tests/e2e/
if [ -f tests/chdb/run.sh ]; then
    step "ClickHouse differential (tests/chdb/run.sh)" bash tests/chdb/run.sh
fi
step "fuzz smoke, at most 60 s (tests/fuzz_smoke.sh)" bash tests/fuzz_smoke.sh

summary
