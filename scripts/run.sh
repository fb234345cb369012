#!/usr/bin/env bash
# Builds the WebAssembly package and serves the page at http://127.0.0.1:$PORT/ (default 8080).
# Prints what it installs (scripts/setup.sh --product) and how long it took to get to serving.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --product
bash scripts/build-wasm.sh
bash scripts/vendor.sh
echo "run: set-up and build took $SECONDS s"

exec node scripts/serve.mjs
