#!/usr/bin/env python3
"""Differential test of llm-metrics against ClickHouse (chDB).

Both engines load the same NDJSON files: chDB through
``INSERT INTO llm_events SELECT * FROM file('<path>', JSONEachRow, '<schema>')`` with
``date_time_input_format='best_effort'`` and ``session_timezone='UTC'``, llm-metrics through its
command-line tool. Each pipe in ``pipes/`` then runs on both, and the results are compared row by
row: column names and ClickHouse types from ``meta``, integers exactly, floats within a relative
tolerance (NaN equals NaN), strings exactly.

The building blocks are meant for reuse by other suites:

* ``ChdbEngine(schema).load(files)`` then ``.query(sql)`` -> ClickHouse's JSON output as a dict;
* ``run_cli(args)`` -> the parsed JSON printed by ``llm-metrics``;
* ``compare_results(expected, actual)`` -> a list of differences (empty when equal);
* ``Suite.check_query(label, sql, ours)`` runs ``sql`` on chDB and ``ours()`` for our answer.

Usage: ``python tests/chdb/diff.py [--bin PATH] [--rows N] [--keep DIR]``; prints one line per
check and ``N passed, M failed`` at the end; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

os.environ["TZ"] = "UTC"

import chdb.session  # noqa: E402  (TZ must be set first)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
DATASOURCE = ROOT / "datasources" / "llm_events.datasource"
PIPES = ROOT / "pipes"

#: Settings every chDB query runs with: how ClickHouse must read the input and print the output.
CHDB_SETTINGS = {
    "date_time_input_format": "'best_effort'",
    "session_timezone": "'UTC'",
    # Print nan/inf as strings instead of null, so they can be told apart.
    "output_format_json_quote_denormals": "1",
    "output_format_json_quote_64bit_integers": "0",
    # One thread: blocks are aggregated in insertion order, so float sums add in one order
    # and ties of any()/argMax() resolve as they were inserted, the same in every run.
    "max_threads": "1",
}

#: Relative tolerance for floating-point results.
REL_TOL = 1e-9

#: How many differences one comparison lists before it stops.
MAX_PROBLEMS = 10


# ------------------------------------------------------------------------------------------------
# Definitions read from the repository


def read_schema(path: Path = DATASOURCE) -> list[tuple[str, str]]:
    """The (name, ClickHouse type) columns of a .datasource file's SCHEMA block.

    Every column must read the top-level JSON key of its own name (`json:$.<name>`), which is what
    chDB's JSONEachRow does with a schema.
    """
    columns: list[tuple[str, str]] = []
    in_schema = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if raw.startswith("SCHEMA"):
            in_schema = True
            continue
        if in_schema and not raw.startswith((" ", "\t")):
            if line:
                break
            continue
        if not in_schema or not line:
            continue
        m = re.fullmatch(r"`([^`]+)`\s+(.+?)\s+`json:\$\.([^`]+)`\s*,?", line)
        if not m:
            raise ValueError(f"{path}: cannot read schema line {line!r}")
        name, ty, json_path = m.groups()
        if json_path != name:
            raise ValueError(f"{path}: column {name} reads $.{json_path}; chDB cannot follow that")
        columns.append((name, ty))
    if not columns:
        raise ValueError(f"{path}: no SCHEMA block")
    return columns


def read_pipe_sql(path: Path) -> str:
    """The SQL of a .pipe file: its last node, with earlier nodes as WITH clauses."""
    nodes: list[tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    node = None
    while i < len(lines):
        line = lines[i]
        if line.startswith("NODE "):
            node = line.split(None, 1)[1].strip()
        elif line.startswith("SQL >"):
            body = []
            i += 1
            while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
                body.append(lines[i])
                i += 1
            sql = "\n".join(body).strip()
            if sql.startswith("%"):
                # Templates (and the nodes before them) are expanded by llm-metrics itself.
                return expand_pipe(path)
            nodes.append((node or path.stem, sql))
            continue
        i += 1
    if not nodes:
        raise ValueError(f"{path}: no SQL node")
    *earlier, (_, last) = nodes
    if not earlier:
        return last
    ctes = ",\n".join(f"{name} AS (\n{sql}\n)" for name, sql in earlier)
    return f"WITH {ctes}\n{last}"


def expand_pipe(path: Path, params: dict | None = None) -> str:
    """The SQL `llm-metrics expand` prints for a .pipe file: templates expanded with `params`
    (defaults when absent), earlier nodes as WITH clauses."""
    assert CLI is not None, "find_cli() first"
    args = [str(CLI), "expand", str(path)]
    for key, value in (params or {}).items():
        args += ["--param", f"{key}={value}" if isinstance(value, str) else f"{key}:={json.dumps(value)}"]
    proc = subprocess.run(args, capture_output=True, check=False, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"llm-metrics expand {path.name}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8")


# ------------------------------------------------------------------------------------------------
# The two engines


class ChdbEngine:
    """ClickHouse in-process, holding one `llm_events` table."""

    def __init__(self, schema: list[tuple[str, str]], table: str = "llm_events"):
        self.schema = schema
        self.table = table
        self.session = chdb.session.Session()
        for name, value in CHDB_SETTINGS.items():
            self.session.query(f"SET {name} = {value}")
        self.session.query("CREATE DATABASE IF NOT EXISTS difftest ENGINE = Atomic")
        self.session.query("USE difftest")

    def schema_text(self) -> str:
        return ", ".join(f"{name} {ty}" for name, ty in self.schema)

    def load(self, files: Iterable[Path]) -> None:
        """Replaces the table's contents with the rows of `files`."""
        self.session.query(f"DROP TABLE IF EXISTS {self.table}")
        self.session.query(f"CREATE TABLE {self.table} ({self.schema_text()}) ENGINE = Memory")
        for path in files:
            quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
            self.session.query(
                f"INSERT INTO {self.table} SELECT * FROM "
                f"file('{quoted}', JSONEachRow, '{self.schema_text()}')"
            )

    def query(self, sql: str) -> dict:
        """ClickHouse's JSON output of `sql` as a dict."""
        result = self.session.query(sql, "JSON")
        return json.loads(result.bytes())

    def count(self) -> int:
        return int(self.query(f"SELECT count() AS n FROM {self.table}")["data"][0]["n"])


def find_cli(explicit: str | None) -> Path:
    """The llm-metrics binary: --bin, $LLM_METRICS_BIN, or the release build."""
    candidate = explicit or os.environ.get("LLM_METRICS_BIN")
    path = Path(candidate) if candidate else ROOT / "target" / "release" / "llm-metrics"
    if not path.is_file():
        raise SystemExit(f"llm-metrics binary not found at {path}; run cargo build --release")
    return path


CLI: Path | None = None


def run_cli(args: list[str], stdin: bytes | None = None) -> object:
    """Runs llm-metrics with `args` and parses its standard output as JSON.

    Output of several JSON lines (as `ingest` prints) comes back as a list.
    """
    assert CLI is not None, "find_cli() first"
    proc = subprocess.run(
        [str(CLI), *args], input=stdin, capture_output=True, check=False, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"llm-metrics {' '.join(args)} exited {proc.returncode}: "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    text = proc.stdout.decode("utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) == 1:
        return json.loads(lines[0])
    return [json.loads(line) for line in lines]


def ingest_reports(files: list[Path], stdin: bytes | None = None) -> list[dict]:
    """The report `llm-metrics ingest` prints for each of `files`."""
    out = run_cli(["ingest", *map(str, files)], stdin=stdin)
    return out if isinstance(out, list) else [out]


# ------------------------------------------------------------------------------------------------
# Comparison

_INT_TYPES = re.compile(r"^U?Int(8|16|32|64|128|256)$")
_FLOAT_TYPES = re.compile(r"^(Float32|Float64|BFloat16)$")
_NON_FINITE = {
    "nan": math.nan,
    "-nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
}


def _unwrap(ty: str) -> str:
    for wrapper in ("LowCardinality", "Nullable"):
        if ty.startswith(wrapper + "(") and ty.endswith(")"):
            return _unwrap(ty[len(wrapper) + 1 : -1])
    return ty


def _as_float(value: object) -> float | None:
    """A float from ClickHouse JSON: numbers, "nan"/"inf" strings, or None for null."""
    if value is None:
        return None
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _NON_FINITE:
            return _NON_FINITE[low]
        return float(value)
    return float(value)


def values_equal(ty: str, expected: object, actual: object, rel_tol: float = REL_TOL) -> bool:
    """Whether two JSON values of ClickHouse type `ty` are the same result."""
    nullable = "Nullable(" in ty
    base = _unwrap(ty)
    if expected is None and actual is None:
        return True
    if base.startswith("Array(") and base.endswith(")"):
        inner = base[len("Array(") : -1]
        return (
            isinstance(expected, list)
            and isinstance(actual, list)
            and len(expected) == len(actual)
            and all(values_equal(inner, e, a, rel_tol) for e, a in zip(expected, actual))
        )
    if _INT_TYPES.match(base):
        if expected is None or actual is None or isinstance(actual, bool):
            return False
        try:
            return int(expected) == int(actual)
        except (TypeError, ValueError):
            return False
    if _FLOAT_TYPES.match(base):
        e = _as_float(expected)
        try:
            a = _as_float(actual)
        except (TypeError, ValueError):
            return False
        if e is None or a is None:
            # llm-metrics prints every non-finite float as null (as ClickHouse does by default);
            # ClickHouse here prints them as strings. A null from a Nullable column is real.
            other = a if e is None else e
            return not nullable and other is not None and not math.isfinite(other)
        if math.isnan(e) or math.isnan(a):
            return math.isnan(e) and math.isnan(a)
        if math.isinf(e) or math.isinf(a):
            return e == a
        return math.isclose(e, a, rel_tol=rel_tol, abs_tol=0.0) or e == a
    return expected == actual


def _sort_key(meta: list[dict], row: dict) -> tuple:
    """Orders rows by their non-float columns first, then by floats rounded to 6 digits."""
    exact, approx = [], []
    for column in meta:
        value = row.get(column["name"])
        if _FLOAT_TYPES.match(_unwrap(column["type"])):
            f = _as_float(value) if not isinstance(value, list) else None
            # NULL, NaN and numbers apart: a NULL and a NaN row must not swap places.
            if f is None:
                approx.append((0, ""))
            elif math.isnan(f):
                approx.append((1, ""))
            else:
                approx.append((2, f"{f:.6e}"))
        else:
            exact.append(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return tuple(exact) + tuple(approx)


def compare_results(
    expected: dict, actual: dict, ordered: bool = False, rel_tol: float = REL_TOL
) -> list[str]:
    """Differences between ClickHouse's result `expected` and llm-metrics' result `actual`.

    Compares column names and types, row counts and every value. Unless `ordered`, rows are
    matched after sorting both sides the same way (the key columns, e.g. model_name, first).
    """
    problems: list[str] = []
    e_meta = [(m["name"], m["type"]) for m in expected.get("meta", [])]
    a_meta = [(m.get("name"), m.get("type")) for m in actual.get("meta", [])]
    if e_meta != a_meta:
        problems.append(f"meta differs: chDB {e_meta} vs ours {a_meta}")
        return problems
    e_rows, a_rows = expected.get("data", []), actual.get("data", [])
    if actual.get("rows") != len(a_rows):
        problems.append(f"ours says rows={actual.get('rows')} but has {len(a_rows)} data rows")
    if len(e_rows) != len(a_rows):
        problems.append(f"row count differs: chDB {len(e_rows)} vs ours {len(a_rows)}")
    meta = expected["meta"]
    if not ordered:
        e_rows = sorted(e_rows, key=lambda r: _sort_key(meta, r))
        a_rows = sorted(a_rows, key=lambda r: _sort_key(meta, r))
    for index, (e_row, a_row) in enumerate(zip(e_rows, a_rows)):
        if set(a_row) != {name for name, _ in e_meta}:
            problems.append(f"row {index}: keys {sorted(a_row)} do not match meta")
            continue
        for name, ty in e_meta:
            if not values_equal(ty, e_row.get(name), a_row.get(name), rel_tol):
                first = e_meta[0][0]
                problems.append(
                    f"row {index} ({first}={e_row.get(first)!r}) column {name} {ty}: "
                    f"chDB {e_row.get(name)!r} vs ours {a_row.get(name)!r}"
                )
        if len(problems) >= MAX_PROBLEMS:
            problems.append("...")
            break
    return problems


# ------------------------------------------------------------------------------------------------
# Running checks


class Suite:
    """Counts checks and prints one line for each."""

    def __init__(self, engine: ChdbEngine):
        self.engine = engine
        self.passed = 0
        self.failed = 0

    def record(self, label: str, problems: list[str], seconds: float | None = None) -> bool:
        took = f" ({seconds:.2f}s)" if seconds is not None else ""
        if problems:
            self.failed += 1
            print(f"FAIL {label}{took}")
            for problem in problems:
                print(f"     {problem}")
            return False
        self.passed += 1
        print(f"ok   {label}{took}")
        return True

    def check(self, label: str, body: Callable[[], list[str]]) -> bool:
        """Runs `body`, which returns its problems; an exception counts as a failure."""
        start = time.perf_counter()
        try:
            problems = body()
        except Exception as exc:  # noqa: BLE001 - a crash is a failed check, with its cause
            problems = [f"{type(exc).__name__}: {exc}"]
        return self.record(label, problems, time.perf_counter() - start)

    def check_query(
        self, label: str, sql: str, ours: Callable[[], dict], ordered: bool = False
    ) -> bool:
        """Compares chDB's answer to `sql` with `ours()` (both on the currently loaded files)."""

        def body() -> list[str]:
            expected = self.engine.query(sql)
            actual = ours()
            if not expected.get("data"):
                # An empty result on both sides proves little: say so rather than pass silently.
                return ["chDB returned no rows; the data does not exercise this query"]
            return compare_results(expected, actual, ordered=ordered)

        return self.check(label, body)

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def count_lines(path: Path) -> tuple[int, int]:
    """(lines, blank lines) of a file as ingest counts them: LF, CRLF or a lone CR ends a line."""
    data = path.read_bytes()
    lines = re.split(rb"\r\n|\r|\n", data)
    if lines and lines[-1] == b"":
        lines.pop()
    blank = sum(1 for line in lines if not line.strip())
    return len(lines), blank


def check_dataset(suite: Suite, label: str, files: list[Path], pipes: list[Path]) -> None:
    """Loads `files` into chDB and compares row counts and every pipe."""
    start = time.perf_counter()
    suite.engine.load(files)
    print(f"--   {label}: loaded into chDB in {time.perf_counter() - start:.2f}s")

    def counts() -> list[str]:
        reports = ingest_reports(files)
        problems = []
        if len(reports) != len(files):
            return [f"expected {len(files)} reports, got {len(reports)}"]
        for path, report in zip(files, reports):
            lines, blank = count_lines(path)
            if report.get("stream") != str(path):
                problems.append(f"{path.name}: stream {report.get('stream')!r}")
            if (report.get("lines"), report.get("blank")) != (lines, blank):
                problems.append(
                    f"{path.name}: lines/blank {report.get('lines')}/{report.get('blank')} "
                    f"vs file {lines}/{blank}"
                )
            if report.get("bytes") != path.stat().st_size:
                size = path.stat().st_size
                problems.append(f"{path.name}: bytes {report.get('bytes')} vs {size}")
            if report.get("quarantined") != 0:
                problems.append(
                    f"{path.name}: quarantined {report.get('quarantined')}: {report.get('errors')}"
                )
        ours = sum(r.get("rows", 0) for r in reports)
        theirs = suite.engine.count()
        if ours != theirs:
            problems.append(f"rows: chDB count() {theirs} vs ours {ours}")
        return problems

    suite.check(f"{label}: ingest rows equal chDB count()", counts)
    for pipe in pipes:
        suite.check_query(
            f"{label}: pipe {pipe.stem}",
            read_pipe_sql(pipe),
            lambda pipe=pipe: run_cli(["pipe", pipe.stem, *map(str, files)]),
        )


def check_rejected(suite: Suite, path: Path, workdir: Path) -> None:
    """Every line of `path` is one our ingest refuses on purpose: all must be quarantined."""

    def whole_file() -> list[str]:
        (report,) = ingest_reports([path])
        lines, blank = count_lines(path)
        if blank:
            return [f"{path.name} has {blank} blank lines; every line should be a rejected row"]
        if lines < 10:
            return [f"{path.name} has only {lines} lines"]
        if (report["lines"], report["quarantined"], report["rows"]) != (lines, lines, 0):
            return [
                f"lines {report['lines']}, quarantined {report['quarantined']}, "
                f"rows {report['rows']}"
            ]
        return []

    def line_by_line() -> list[str]:
        # One file per line, so no line can hide behind another (a runaway string, say).
        files = []
        for index, line in enumerate(path.read_bytes().splitlines(keepends=True), 1):
            single = workdir / f"rejected-{index:03}.ndjson"
            single.write_bytes(line)
            files.append(single)
        problems = []
        for single, report in zip(files, ingest_reports(files)):
            if (report["quarantined"], report["rows"]) != (1, 0):
                problems.append(f"{single.read_text().strip()!r} was stored: {report}")
        return problems

    suite.check(f"{path.name}: every line quarantined", whole_file)
    suite.check(f"{path.name}: each line quarantined on its own", line_by_line)


def check_stdin(suite: Suite, path: Path) -> None:
    """Reading a file from standard input (`-`) gives the same rows and pipes as by path."""

    def body() -> list[str]:
        data = path.read_bytes()
        (by_path,) = ingest_reports([path])
        (by_stdin,) = ingest_reports([Path("-")], stdin=data)
        problems = []
        for key in ("lines", "rows", "quarantined", "blank", "bytes"):
            if by_path[key] != by_stdin[key]:
                problems.append(f"{key}: file {by_path[key]} vs stdin {by_stdin[key]}")
        pipe_path = run_cli(["pipe", "llm_usage_by_model", str(path)])
        proc_stdin = run_cli(["pipe", "llm_usage_by_model", "-"], stdin=data)
        problems += compare_results(pipe_path, proc_stdin)
        return problems

    suite.check(f"{path.name}: standard input reads like the file", body)


def check_comparator_catches_planted_differences(suite: Suite, files: list[Path]) -> None:
    """The comparison must fail on results that differ: plant differences in a real answer."""

    def body() -> list[str]:
        suite.engine.load(files)
        expected = suite.engine.query(read_pipe_sql(PIPES / "llm_usage_by_model.pipe"))
        actual = run_cli(["pipe", "llm_usage_by_model", *map(str, files)])
        if compare_results(expected, actual):
            return ["the unmodified results already differ"]
        finite = next(
            (
                i
                for i, row in enumerate(actual["data"])
                if isinstance(row["total_cost"], (int, float)) and row["total_cost"]
            ),
            None,
        )
        if finite is None:
            return ["no row with a finite non-zero total_cost to plant differences in"]

        def planted(change: Callable[[dict], None]) -> dict:
            copy = json.loads(json.dumps(actual))
            change(copy)
            return copy

        def scale_cost(d: dict) -> None:
            d["data"][finite]["total_cost"] *= 1 + 1e-7

        def bump_tokens(d: dict) -> None:
            d["data"][finite]["total_prompt_tokens"] += 1

        def rename_model(d: dict) -> None:
            d["data"][finite]["model_name"] += " "

        def drop_row(d: dict) -> None:
            d["data"].pop()
            d["rows"] -= 1

        def retype(d: dict) -> None:
            d["meta"][1]["type"] = "UInt32"

        def nan_cost(d: dict) -> None:
            d["data"][finite]["total_cost"] = "nan"

        problems = []
        for name, change in [
            ("cost off by 1e-7", scale_cost),
            ("tokens off by one", bump_tokens),
            ("model renamed", rename_model),
            ("row dropped", drop_row),
            ("type changed", retype),
            ("cost made NaN", nan_cost),
        ]:
            if not compare_results(expected, planted(change)):
                problems.append(f"planted difference not caught: {name}")
        return problems

    suite.check("comparator catches planted differences", body)


def main() -> int:
    global CLI
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", help="llm-metrics binary (default: target/release/llm-metrics)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of generated data")
    parser.add_argument("--seed", type=int, default=20240901, help="seed of generated data")
    parser.add_argument("--keep", help="directory to write generated files to (kept afterwards)")
    args = parser.parse_args()
    CLI = find_cli(args.bin)

    schema = read_schema()
    pipes = sorted(PIPES.glob("*.pipe"))
    if not pipes:
        raise SystemExit(f"no pipes in {PIPES}")
    suite = Suite(ChdbEngine(schema))

    with tempfile.TemporaryDirectory(prefix="llm-metrics-chdb-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        generated = workdir / f"generated-{args.rows}.ndjson"
        start = time.perf_counter()
        gen_args = ["gen", "--rows", str(args.rows), "--seed", str(args.seed)]
        subprocess.run([str(CLI), *gen_args, "--out", str(generated)], check=True, timeout=600)
        print(f"--   generated {args.rows} rows in {time.perf_counter() - start:.2f}s")

        # The vendor-format fixtures, converted to canonical rows by the CLI, fill the columns
        # the generator leaves at their defaults (cache writes, reasoning, source format,
        # request and user ids, cost and time sources).
        converted = workdir / "formats-converted.ndjson"
        vendor = sorted((FIXTURES / "formats").glob("*.jsonl"))
        with open(converted, "wb") as out:
            subprocess.run([str(CLI), "convert", "--time", "1733486400000", *map(str, vendor)],
                           check=True, timeout=600, stdout=out, stderr=subprocess.DEVNULL)

        edge = FIXTURES / "edge_cases.ndjson"
        check_dataset(suite, f"generated {args.rows} rows", [generated], pipes)
        check_dataset(suite, "vendor formats converted + generated", [converted, generated], pipes)
        check_dataset(suite, "edge_cases.ndjson", [edge], pipes)
        check_dataset(suite, "generated + edge_cases", [generated, edge], pipes)
        check_rejected(suite, FIXTURES / "rejected.ndjson", workdir)
        check_stdin(suite, edge)
        check_comparator_catches_planted_differences(suite, [generated, edge])

    print(suite.summary())
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
