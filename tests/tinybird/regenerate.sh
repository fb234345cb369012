#!/usr/bin/env bash
# Rewrites the oracle files of tests/datasource_grammar.rs (tests/fixtures/tinybird/*.json) from
# Tinybird's own parser and from ClickHouse (chDB). The `tinybird` package goes into its own
# virtualenv (.venv-tinybird), pinned, since its dependencies are not the test venv's; chDB comes
# from .venv (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/../.."
TB_VENV="${TB_VENV:-.venv-tinybird}"
if [ ! -x "$TB_VENV/bin/python" ]; then
    python3 -m venv "$TB_VENV"
    "$TB_VENV/bin/pip" install --quiet tinybird==5.0.3
fi
"$TB_VENV/bin/python" tests/tinybird/oracle.py tinybird
.venv/bin/python tests/tinybird/oracle.py chdb
