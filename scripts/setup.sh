#!/usr/bin/env bash
# Installs what building and testing llm-metrics needs. Idempotent: every step checks first and
# returns at once when its tool is already in place.
#
#   bash scripts/setup.sh             everything (same as --test)
#   bash scripts/setup.sh --product   Rust's wasm32 target, the wasm-bindgen CLI, Node.js and the npm
#                                     packages (wasm-opt, uPlot): enough for scripts/run.sh
#   bash scripts/setup.sh --test      the above plus wasm-pack (`wasm-pack test`), Chromium,
#                                     ChromeDriver, the Python venv and cargo-fuzz
#
# Each install is announced before it starts and timed when it ends ("setup: ... took N s").
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

mode=test
for arg in "$@"; do
    case "$arg" in
        --product) mode=product ;;
        --test) mode=test ;;
        -h | --help)
            sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown option '$arg' (use --product or --test)" >&2
            exit 2
            ;;
    esac
done

export PATH="$HOME/.cargo/bin:$PATH"

# Installed when wasm-pack is missing; any installed version is kept.
WASM_PACK_VERSION=0.15.1

say() { printf 'setup: %s\n' "$*"; }

# timed WHAT COMMAND...: announces an install, runs it and prints how long it took.
timed() {
    local what="$1" start status
    shift
    say "$what"
    start=$(date +%s)
    "$@"
    status=$?
    say "$what took $(($(date +%s) - start)) s"
    return "$status"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# apt-get update runs at most once per invocation, and only when a package is missing.
apt_updated=0
apt_install() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    say "apt-get install ${missing[*]}"
    local start
    start=$(date +%s)
    if [ "$apt_updated" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    say "apt-get install ${missing[*]} took $(($(date +%s) - start)) s"
}

file_hash() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

setup_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "setup.sh: cargo not found; install Rust with rustup first" >&2
        exit 1
    fi
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        timed "rustup target add wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown
    fi
    local installed
    installed="$(rustup component list --installed)"
    local comp
    for comp in clippy rustfmt; do
        if ! grep -q "^$comp" <<<"$installed"; then
            timed "rustup component add $comp" rustup component add "$comp"
        fi
    done
}

# The wasm-bindgen CLI must match the wasm-bindgen crate version exactly.
wasm_bindgen_version() {
    if [ ! -f Cargo.lock ]; then
        cargo generate-lockfile --quiet
    fi
    awk '
        /^\[\[package\]\]/ { in_pkg = 0 }
        /^name = "wasm-bindgen"$/ { in_pkg = 1; next }
        in_pkg && /^version = / { gsub(/"/, "", $3); print $3; exit }
    ' Cargo.lock
}

install_crate() {
    cargo install "$1" --version "$2" --locked || cargo install "$1" --version "$2"
}

# Only the tests need wasm-pack (`wasm-pack test`); builds run scripts/build-wasm.sh.
setup_wasm_pack() {
    if ! command -v wasm-pack >/dev/null 2>&1; then
        timed "cargo install wasm-pack $WASM_PACK_VERSION" install_crate wasm-pack "$WASM_PACK_VERSION"
    fi
}

setup_wasm() {
    local want have=""""
    want="$(wasm_bindgen_version)"
    if [ -z "$want" ]; then
        echo "setup.sh: no wasm-bindgen entry in Cargo.lock" >&2
        exit 1
    fi
    if command -v wasm-bindgen >/dev/null 2>&1; then
        have="$(wasm-bindgen --version | awk '{print $2}')"
    fi
    if [ "$have" != "$want" ]; then
        timed "cargo install wasm-bindgen-cli $want (found '${have:-none}')" install_crate wasm-bindgen-cli "$want"
    fi
}

setup_node() {
    command -v node >/dev/null 2>&1 || apt_install nodejs npm
}

setup_browser() {
    apt_install chromium chromium-driver
}

setup_npm() {
    local stamp=node_modules/.lock-sha256 want
    want="$(file_hash package.json package-lock.json)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || apt_install npm
    timed "npm ci (uplot, binaryen, playwright-core)" npm ci --no-audit --no-fund --loglevel=error
    printf '%s\n' "$want" >"$stamp"
}

# wasm-pack runs the first wasm-opt on PATH; scripts put node_modules/.bin (binaryen) first.
check_wasm_opt() {
    if ! node_modules/.bin/wasm-opt --version >/dev/null; then
        echo "setup.sh: node_modules/.bin/wasm-opt does not run" >&2
        exit 1
    fi
}

setup_python() {
    local stamp=.venv/.requirements-sha256 want
    want="$(file_hash tests/requirements.txt)"
    if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ ! -x .venv/bin/python ]; then
        timed "python3 -m venv .venv" python3 -m venv .venv
    fi
    timed "pip install -r tests/requirements.txt" \
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    printf '%s\n' "$want" >"$stamp"
}

# The fuzz smoke test needs cargo-fuzz, and runs where a nightly toolchain is installed.
setup_fuzz() {
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        return 0
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        timed "cargo install cargo-fuzz" sh -c 'cargo install cargo-fuzz --locked || cargo install cargo-fuzz' ||
            say "cargo-fuzz could not be installed; the fuzz smoke test will be skipped"
    fi
}

setup_rust
setup_wasm
setup_node
setup_npm
check_wasm_opt
if [ "$mode" = test ]; then
    setup_wasm_pack
    setup_browser
    setup_python
    setup_fuzz
fi
say "ready ($mode) in $ROOT after $SECONDS s"
