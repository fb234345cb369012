#!/usr/bin/env bash
# Builds the WebAssembly package and serves the page at http://127.0.0.1:$PORT/ (default 8080).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --product
# node_modules/.bin first: wasm-pack must pick up binaryen's wasm-opt (see Cargo.toml).
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

wasm-pack build --release --target web --out-dir pkg
bash scripts/vendor.sh

exec node scripts/serve.mjs
