#!/usr/bin/env bash
# Builds the WebAssembly package into pkg/ with cargo, the wasm-bindgen CLI pinned to the
# wasm-bindgen crate's version (Cargo.lock) and wasm-opt from the npm package binaryen: the same
# three steps `wasm-pack build --release --target web` runs, without needing wasm-pack.
#
#   bash scripts/build-wasm.sh [--out-dir DIR] [--features LIST]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# node_modules/.bin first: binaryen's wasm-opt, not Debian's (see Cargo.toml).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

out=pkg
features=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out-dir) out="$2"; shift 2 ;;
        --features) features=(--features "$2"); shift 2 ;;
        *)
            echo "build-wasm.sh: unknown option '$1' (use --out-dir DIR or --features LIST)" >&2
            exit 2
            ;;
    esac
done

cargo build --lib --release --locked --target wasm32-unknown-unknown "${features[@]}"
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/release/llm_metrics.wasm
# The flags of [package.metadata.wasm-pack.profile.release] in Cargo.toml.
wasm-opt -O3 "$out/llm_metrics_bg.wasm" -o "$out/llm_metrics_bg.wasm.opt"
mv "$out/llm_metrics_bg.wasm.opt" "$out/llm_metrics_bg.wasm"

wasm="$out/llm_metrics_bg.wasm"
printf 'wasm size: %s bytes raw, %s bytes gzip -9 (%s)\n' "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)" "$wasm"
