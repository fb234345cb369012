#!/usr/bin/env bash
# Runs the browser benchmark (bench/README.md) from a fresh clone: installs the toolchains, builds
# what is missing or stale, then runs bench/bench.mjs with the same arguments.
#
#   bash bench/run.sh [--rows N] [--seed S] [--reps R] [--contenders a,b,...] [--stream] [--workers 1,2]
#
# Builds: pkg/ (scripts/build-wasm.sh) when older than the sources, the npm
# packages of bench/ (npm ci), the DuckDB-WASM bundle (esbuild) and the data file
# target/bench/data/events-N-seedS.ndjson (llm-metrics gen). Reports go to bench/results/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

rows=1000000
seed=42
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --rows) rows="${args[i + 1]:-}" ;;
        --rows=*) rows="${args[i]#--rows=}" ;;
        --seed) seed="${args[i + 1]:-}" ;;
        --seed=*) seed="${args[i]#--seed=}" ;;
        -h | --help)
            sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
    esac
done
for value in "$rows" "$seed"; do
    if ! [[ "$value" =~ ^[0-9]+$ ]]; then
        echo "bench/run.sh: --rows and --seed take whole numbers, got '$value'" >&2
        exit 2
    fi
done

say() { printf 'bench: %s\n' "$*"; }
file_hash() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }
# True when $1 is missing or any later path (file or directory tree) holds a newer file.
stale() {
    local target="$1"
    shift
    [ ! -e "$target" ] || [ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]
}

bash scripts/setup.sh --product
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if stale pkg/llm_metrics_bg.wasm src datasources pipes Cargo.toml Cargo.lock; then
    say "scripts/build-wasm.sh (what wasm-pack build --release --target web writes)"
    bash scripts/build-wasm.sh
fi

stamp=bench/node_modules/.lock-sha256
want="$(file_hash bench/package.json bench/package-lock.json)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "npm ci (bench/)"
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want" >"$stamp"
fi

vendor=target/bench/vendor/duckdb.mjs
if stale "$vendor" bench/lib/duckdb-entry.js bench/package-lock.json; then
    say "esbuild $vendor"
    mkdir -p "$(dirname "$vendor")"
    bench/node_modules/.bin/esbuild bench/lib/duckdb-entry.js --bundle --format=esm --minify \
        --platform=browser --target=es2022 --log-level=warning --outfile="$vendor"
fi

data="target/bench/data/events-$rows-seed$seed.ndjson"
cargo build --release --quiet --bin llm-metrics
if stale "$data" target/release/llm-metrics; then
    say "llm-metrics gen --rows $rows --seed $seed --out $data"
    mkdir -p "$(dirname "$data")"
    cargo run --release --quiet --bin llm-metrics -- gen --rows "$rows" --seed "$seed" --out "$data.tmp"
    mv "$data.tmp" "$data"
fi

exec node bench/bench.mjs "$@"
