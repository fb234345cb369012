#!/usr/bin/env bash
# Builds the npm package `llm-metrics` into target/npm/llm-metrics/ and packs it into
# target/npm/llm-metrics-<version>.tgz (what `npm pack` in that folder makes; copied to
# target/npm/llm-metrics.tgz, the name examples/ install), printing the
# packed and unpacked sizes. The package holds the wasm module (scripts/build-wasm.sh), the
# worker store (store.js, worker.js, shard-worker.js), the <llm-metrics-dashboard> element and
# its modules, their TypeScript types, uPlot's stylesheet (its script is the dependency `uplot`)
# and npm/'s files.
#
#   bash scripts/package.sh [--no-build]    --no-build: use pkg/ as it is
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

build=1
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        *)
            echo "package.sh: unknown option '$arg' (use --no-build)" >&2
            exit 2
            ;;
    esac
done

[ "$build" -eq 1 ] && bash scripts/build-wasm.sh
for f in llm_metrics.js llm_metrics.d.ts llm_metrics_bg.wasm llm_metrics_bg.wasm.d.ts; do
    if [ ! -f "pkg/$f" ]; then
        echo "package.sh: pkg/$f is missing; run bash scripts/build-wasm.sh" >&2
        exit 1
    fi
done
uplot=node_modules/uplot
if [ ! -f "$uplot/dist/uPlot.min.css" ]; then
    echo "package.sh: $uplot is missing; run 'npm ci' (or bash scripts/setup.sh) first" >&2
    exit 1
fi

version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
out=target/npm/llm-metrics
rm -rf "$out"
mkdir -p "$out/pkg" "$out/vendor"

cp www/store.js www/worker.js www/shard-worker.js www/dashboard.js www/charts.js www/table.js www/format.js \
    www/pipes.js www/backends.js www/dashboard.css www/store.d.ts www/dashboard.d.ts \
    www/backends.d.ts "$out/"
# The price table the worker loads (vendor/genai-prices.json), from the pinned npm package.
node scripts/prices.mjs "$out/vendor/genai-prices.json"
cp pkg/llm_metrics.js pkg/llm_metrics.d.ts pkg/llm_metrics_bg.wasm pkg/llm_metrics_bg.wasm.d.ts "$out/pkg/"
cp npm/index.js npm/index.d.ts npm/README.md "$out/"
cp "$uplot/dist/uPlot.min.css" "$out/vendor/"
cp "$uplot/LICENSE" "$out/vendor/uPlot.LICENSE"

# In www/ the page imports uPlot from www/vendor/; the package imports its dependency by name.
sed -i "s#from './vendor/uPlot.esm.js';#from 'uplot';#" "$out/charts.js"
if ! grep -q "^import uPlot from 'uplot';$" "$out/charts.js" || grep -q "uPlot.esm.js'" "$out/charts.js"; then
    echo "package.sh: charts.js no longer imports './vendor/uPlot.esm.js' as expected" >&2
    exit 1
fi

# package.json: npm/package.json with the crate's version and uPlot's pinned version.
node -e '
const fs = require("fs");
const [src, dst, version, uplotDir] = process.argv.slice(1);
const pkg = JSON.parse(fs.readFileSync(src, "utf8"));
pkg.version = version;
const uplot = JSON.parse(fs.readFileSync(uplotDir + "/package.json", "utf8")).version;
if (pkg.dependencies.uplot !== uplot) {
  console.error(`package.sh: npm/package.json wants uplot ${pkg.dependencies.uplot}, node_modules has ${uplot}`);
  process.exit(1);
}
fs.writeFileSync(dst, JSON.stringify(pkg, null, 2) + "\n");
' npm/package.json "$out/package.json" "$version" "$uplot"

# Every relative import of the package's modules must name a file it ships.
node -e '
const fs = require("fs"), path = require("path");
const dir = process.argv[1];
let bad = 0;
for (const file of ["index.js", "store.js", "worker.js", "shard-worker.js", "dashboard.js", "charts.js", "table.js", "format.js", "pipes.js", "pkg/llm_metrics.js"]) {
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)\x27(\.{1,2}\/[^\x27]+|[^\x27.\/][^\x27]*\.(?:wasm|js|css))\x27/g)) {
    const target = path.join(dir, path.dirname(file), m[1]);
    if (!fs.existsSync(target)) { console.error(`package.sh: ${file} refers to ${m[1]}, which the package lacks`); bad++; }
  }
}
process.exit(bad ? 1 : 0);
' "$out"

rm -f target/npm/llm-metrics-*.tgz target/npm/llm-metrics.tgz
(cd "$out" && npm pack --pack-destination .. --json --loglevel=error) >target/npm/pack.json
tarball=$(node -p 'JSON.parse(require("fs").readFileSync("target/npm/pack.json", "utf8"))[0].filename')
# A name without the version, for the example apps' package.json (examples/).
cp "target/npm/$tarball" target/npm/llm-metrics.tgz
node -e '
const [info] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`target/npm/${info.filename}: ${info.entryCount} files, ${info.size} bytes packed, ${info.unpackedSize} bytes unpacked`);
' target/npm/pack.json
