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

# The wasm test files (tests/web*.rs), each with a browser twin tests/web*_browser.rs.
wasm_test_files() {
    ls tests/web*.rs | grep -v '_browser\.rs$'
}

# wasm_tests LOG PATTERN COMMAND...: runs `wasm-pack test`, keeps its output in LOG, and fails
# unless it exits 0, its output matches PATTERN (the host it was meant to run on), every wasm test
# of tests/web*.rs passed there (the runner skips a suite meant for another host and still exits
# 0, so the count is checked), the only suites skipped were the other host's twins, and every
# wasm test file has its twin.
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
    local want ran skipped twins
    want=$(cat $(wasm_test_files) | grep -c '#\[wasm_bindgen_test')
    # wasm-bindgen-test's summaries; doc tests' summaries also name "measured".
    ran=$(grep -E 'test result: ok\. [0-9]+ passed' "$log" | grep -v measured | awk '{ n += $4 } END { print n + 0 }')
    skipped=$(grep -c 'so skipping' "$log")
    twins=$(ls tests/web*_browser.rs | wc -l)
    local f
    for f in $(wasm_test_files); do
        if [ ! -f "${f%.rs}_browser.rs" ]; then
            echo "$f has no browser twin ${f%.rs}_browser.rs" >&2
            return 1
        fi
    done
    if [ "$ran" -ne "$want" ] || [ "$skipped" -ne "$twins" ]; then
        echo "wasm tests: $ran passed of $want, $skipped suites skipped (expected $twins, the other host's)" >&2
        return 1
    fi
    echo "wasm tests passed: $ran of $want; $skipped suites of the other host skipped"
}

step "setup (--test)" bash scripts/setup.sh --test
# The wasm test files (the engine's API, hostile pipes, SQL, arrays and inputs, each on wasm32's
# 1 MiB stack) and their browser twins.
WASM_TESTS=$(ls tests/web*.rs | sed -E 's|tests/(.*)\.rs|--test \1|' | tr '\n' ' ')
step "cargo fmt --check" cargo fmt --all --check
step "clippy (native, all targets)" cargo clippy --all-targets --locked -- -D warnings
step "clippy (wasm32 lib + tests/web.rs)" \
    cargo clippy --target wasm32-unknown-unknown --lib $WASM_TESTS --locked -- -D warnings
step "cargo test" cargo test --locked
step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked
step "release wasm build (scripts/build-wasm.sh)" bash scripts/build-wasm.sh
step "copy the page's vendor files (scripts/vendor.sh)" bash scripts/vendor.sh
# As users run them: tests/web*.rs in Node.js, their twins tests/web*_browser.rs in headless
# Chromium (Debian's chromedriver, found on PATH; webdriver.json gives Chromium its flags). The
# native-only test files are empty on wasm32. The doc tests run in the Node.js step only: in the
# Chromium step they would run in Node.js again. The browser runner waits 20 s for a test file to
# finish unless WASM_BINDGEN_TEST_TIMEOUT says otherwise; the hostile-input files of an
# unoptimised build take longer, and their own bounds are per case.
step "wasm-pack test --node" wasm_tests "$LOGS/wasm-node.log" 'running [0-9]+ tests' \
    wasm-pack test --node
step "wasm-pack test --headless --chrome" wasm_tests "$LOGS/wasm-chrome.log" \
    'Running headless tests in Chrome' \
    env WASM_BINDGEN_TEST_TIMEOUT=600 wasm-pack test --headless --chrome --test '*'
step "npm package (scripts/package.sh --no-build)" bash scripts/package.sh --no-build
step "JS tests of pkg/ (node --test tests/js/)" node --test tests/js/
step "page tests in Chromium (node --test tests/e2e/)" node --test tests/e2e/
if [ -f tests/chdb/run.sh ]; then
    step "ClickHouse differential (tests/chdb/run.sh)" bash tests/chdb/run.sh
fi
step "fuzz smoke, at most 60 s (tests/fuzz_smoke.sh)" bash tests/fuzz_smoke.sh

summary
