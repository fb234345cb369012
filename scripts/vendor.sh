#!/usr/bin/env bash
# Copies the page's third-party files from node_modules/ (installed by `npm ci` from
# package-lock.json) into www/vendor/, which git ignores: uPlot's ES module, its stylesheet and
# its licence, and the price table of @pydantic/genai-prices (genai-prices.json, written by
# scripts/prices.mjs) with its licence. scripts/run.sh and scripts/test.sh run it after
# building pkg/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

src=node_modules/uplot
if [ ! -f "$src/dist/uPlot.esm.js" ]; then
    echo "vendor.sh: $src is missing; run 'npm ci' (or bash scripts/setup.sh) first" >&2
    exit 1
fi
mkdir -p www/vendor
cp "$src/dist/uPlot.esm.js" "$src/dist/uPlot.min.css" www/vendor/
cp "$src/LICENSE" www/vendor/uPlot.LICENSE
version=$(node -p "require('./$src/package.json').version")
printf 'www/vendor: uPlot %s (uPlot.esm.js %s bytes)\n' "$version" "$(stat -c %s www/vendor/uPlot.esm.js)"

prices=node_modules/@pydantic/genai-prices
if [ ! -f "$prices/dist/index.js" ]; then
    echo "vendor.sh: $prices is missing; run 'npm ci' (or bash scripts/setup.sh) first" >&2
    exit 1
fi
node scripts/prices.mjs www/vendor/genai-prices.json
cp "$prices/LICENSE" www/vendor/genai-prices.LICENSE
