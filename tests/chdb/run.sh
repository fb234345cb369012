#!/usr/bin/env bash
# ClickHouse differential test: builds the llm-metrics CLI in release mode and compares its pipes
# with chDB's on generated data and on tests/fixtures. Exits non-zero on any mismatch; the last
# line reads "N passed, M failed".
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="$here/../../.venv/bin/python"

if [[ ! -x "$python" ]]; then
    echo "tests/chdb: no Python at $python; create the .venv with chdb (tests/requirements.txt)" >&2
    exit 1
fi

export TZ=UTC
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin llm-metrics
"$python" "$here/diff.py" --bin "$root/target/release/llm-metrics" "$@"
# The SQL subset and every shipped pipe, with and without parameters, on 20k and 1M rows.
"$python" "$here/sql_suite.py" --bin "$root/target/release/llm-metrics"
"$python" "$here/states.py" --bin "$root/target/release/llm-metrics"
# 2,000 random queries of a fixed seed (tests/chdb/querygen.py): every disagreement with
# ClickHouse fails the run unless tests/chdb/known_gaps.txt names it as an open gap; a crash or a
# timeout always fails. Prints the counts per class and queries/second.
"$python" "$here/fuzz_sql.py" --seed 1 --queries 2000 --bin "$root/target/release/llm-metrics"
# Bad and odd lines (tests/fixtures/adversarial), alone and mixed, as ClickHouse reads them.
exec "$python" "$here/adversarial.py" --bin "$root/target/release/llm-metrics"
