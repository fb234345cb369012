#!/usr/bin/env python3
"""The adversarial corpus against ClickHouse (chDB): bad and odd lines, one file each, then mixed.

``tests/fixtures/adversarial/manifest.ndjson`` holds one kind of line per JSON line::

    {"name": "...", "text": "<the line>" | "b64": "<the line, base64>", "end": "\\n",
     "expect": "row" | "quarantine" | "blank", "departure": "<kind>", "not_first": true}

``end`` is the line's terminator (``\\n`` when absent, ``""`` for a last line without one);
``not_first`` puts a good line before it, for kinds whose meaning depends on the position (a BOM
is skipped only at the start of a stream). ``expect`` is what ClickHouse does with the file:
reads rows, fails, or reads nothing. ``departure`` names one of the :data:`DEPARTURES`, where
llm-metrics quarantines a line ClickHouse reads on purpose.

For every kind, chDB reads the file with
``file(path, JSONEachRow, '<schema>') SETTINGS date_time_input_format='best_effort',
session_timezone='UTC'``, and the check fails when:

* chDB no longer does what ``expect`` says (the manifest is stale);
* ClickHouse reads rows but llm-metrics stores different ones (listed with ``llm-metrics sql``):
  all nine columns are compared, integers and strings exactly, floats bit for bit (NaN equals
  NaN);
* ClickHouse fails but llm-metrics stores a row, or ClickHouse reads nothing but llm-metrics
  does not count the line blank;
* a departure line is not quarantined with the departure's reason;
* the report does not add up: ``lines == rows + quarantined + blank``, ``lines`` and ``bytes``
  as in the file.

Then the kinds go into one file between generated good lines (``llm-metrics gen``); its report
must add up to the kinds' outcomes, and its rows must equal chDB's rows for the generated lines
plus its rows for each kind alone. A generated line over 8 MiB checks the line-length departure.
Stored rows come from ``llm-metrics sql 'SELECT * FROM llm_events' FILE``; when that fails, one
check fails and rows are not compared.

Usage: ``python tests/chdb/adversarial.py [--bin PATH] [--keep DIR]``; prints one line per check
and ``N passed, M failed`` at the end; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ["TZ"] = "UTC"

import diff  # noqa: E402  (sets up chDB after TZ)

MANIFEST = diff.FIXTURES / "adversarial" / "manifest.ndjson"

#: The deliberate departures from ClickHouse: kind -> the reason llm-metrics must give.
DEPARTURES = {
    # ClickHouse wraps, clamps or truncates; llm-metrics refuses to invent a number.
    "integer": re.compile(r"is out of range for U?Int|is negative but U?Int|is not an integer"),
    # ClickHouse stores 1970-01-01 or a clamped time; every row needs a real time.
    "event_time": re.compile(
        r"column 'event_time' is (missing|null)|on column 'event_time' is out of range"
    ),
    # ClickHouse stores the bytes as they are, and a lone surrogate escape as the bytes of its
    # code point; llm-metrics strings are UTF-8.
    "utf8": re.compile(r"^invalid UTF-8 at byte \d+|on column '\w+' is not String"),
    # ClickHouse reads any length; llm-metrics bounds the memory one line may take.
    "line_limit": re.compile(r"^line too long: \d+ bytes"),
    # ClickHouse refuses a repeated key, except after it has read every column
    # (input_format_json_ignore_unnecessary_fields): then it keeps the first value unread.
    # llm-metrics refuses the line wherever the key repeats.
    "duplicate_key": re.compile(r"^key for column '\w+' appears more than once"),
    # ClickHouse's reader is lenient: several objects on a line, a JSON array of objects, leading
    # zeros, `+1`, `.5`, `5.`, bare NaN/Infinity, unknown escapes. llm-metrics takes exactly one
    # RFC 8259 object per line (a lone CR ends a line, so a raw CR inside a string splits it).
    "strict_json": re.compile(r"^invalid JSON at byte \d+"),
    # ClickHouse's best-effort time parser reads more layouts (RFC 2822 and others) than the
    # ISO 8601 family and unix times llm-metrics reads.
    "time_layout": re.compile(r"on column 'event_time' is not DateTime"),
}

#: Bytes of the default longest-line limit, 8 MiB.
MAX_LINE_BYTES = 8 << 20

#: Generated good lines between the kinds in the mixed file.
MIXED_GOOD_ROWS = 400


class _Int(int):
    """A JSON integer that remembers its text, so `-0` in a float column stays negative zero."""

    text: str

    def __new__(cls, text: str) -> "_Int":
        value = super().__new__(cls, int(text))
        value.text = text
        return value


def parse_json_lines(data: bytes) -> list[dict]:
    """JSON lines as dicts; only `\\n` ends a line (U+2028 and friends may sit inside strings)."""
    text = data.decode("utf-8", errors="replace")
    return [json.loads(line, parse_int=_Int) for line in text.split("\n") if line.strip()]


@dataclass
class Kind:
    """One manifest entry."""

    name: str
    line: bytes
    end: bytes
    expect: str
    departure: str | None
    not_first: bool

    def content(self, good: bytes) -> bytes:
        """The file holding this kind alone."""
        return (good + b"\n" if self.not_first else b"") + self.line + self.end


def load_manifest(path: Path = MANIFEST) -> list[Kind]:
    kinds = []
    names = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not raw.strip():
            continue
        entry = json.loads(raw)
        if "b64" in entry:
            line = base64.b64decode(entry["b64"], validate=True)
        else:
            line = entry["text"].encode("utf-8")
        kind = Kind(
            name=entry["name"],
            line=line,
            end=entry.get("end", "\n").encode("ascii"),
            expect=entry["expect"],
            departure=entry.get("departure"),
            not_first=bool(entry.get("not_first", False)),
        )
        if kind.expect not in ("row", "quarantine", "blank"):
            raise ValueError(f"{path}:{number}: expect {kind.expect!r}")
        if kind.departure is not None and kind.departure not in DEPARTURES:
            raise ValueError(f"{path}:{number}: unknown departure {kind.departure!r}")
        if kind.departure is not None and kind.expect not in ("row", "blank"):
            raise ValueError(f"{path}:{number}: a departure is a line ClickHouse reads")
        if kind.name in names:
            raise ValueError(f"{path}:{number}: duplicate name {kind.name}")
        names.add(kind.name)
        kinds.append(kind)
    return kinds


# ------------------------------------------------------------------------------------------------
# Reading a file both ways


class Reader:
    """chDB reading one NDJSON file at a time with the datasource's schema."""

    def __init__(self, schema: list[tuple[str, str]]):
        self.schema = schema
        self.engine = diff.ChdbEngine(schema)

    def read(self, path: Path) -> list[dict] | str:
        """The rows ClickHouse reads from `path`, or its error message."""
        quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
        sql = (
            f"SELECT * FROM file('{quoted}', JSONEachRow, '{self.engine.schema_text()}') "
            "SETTINGS date_time_input_format='best_effort', session_timezone='UTC'"
        )
        try:
            result = self.engine.session.query(sql, "JSONEachRow")
        except Exception as exc:  # noqa: BLE001 - chDB raises a plain RuntimeError
            return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        return parse_json_lines(result.bytes())


#: Whether `llm-metrics sql` lists stored rows; when it does not, one check fails and rows are not
#: compared.
ROWS_COMMAND = True


def our_rows(schema: list[tuple[str, str]], path: Path) -> list[dict]:
    """The rows llm-metrics stores from `path`: ``llm-metrics sql 'SELECT * FROM llm_events'``.

    Endpoint JSON prints every non-finite float as null, so each float column comes with two
    comparisons that tell NaN, inf and -inf apart; the row then holds "nan", "inf" or "-inf" as
    ClickHouse prints them.
    """
    assert diff.CLI is not None
    floats = [name for name, ty in schema if diff._FLOAT_TYPES.match(diff._unwrap(ty))]
    probes = "".join(f", {f} != {f} AS nan_of_{f}, {f} > 0 AS positive_{f}" for f in floats)
    query = f"SELECT *{probes} FROM llm_events"
    proc = subprocess.run(
        [str(diff.CLI), "sql", query, str(path)], capture_output=True, check=False, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"llm-metrics sql exited {proc.returncode}: "
            f"{proc.stderr.decode(errors='replace').strip()[:300]}"
        )
    rows = json.loads(proc.stdout.decode("utf-8"), parse_int=_Int)["data"]
    for row in rows:
        for f in floats:
            nan, positive = row.pop(f"nan_of_{f}"), row.pop(f"positive_{f}")
            if row[f] is None:
                row[f] = "nan" if nan else ("inf" if positive else "-inf")
    return rows


def our_report(path: Path) -> dict:
    (report,) = diff.ingest_reports([path])
    return report


# ------------------------------------------------------------------------------------------------
# Comparing rows


def _f32_bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def canonical(schema: list[tuple[str, str]], row: dict) -> tuple:
    """A row as a hashable tuple: floats by their bits (every NaN the same), ints as ints."""
    out = []
    for name, ty in schema:
        value = row.get(name, "<missing>")
        base = diff._unwrap(ty)
        if diff._FLOAT_TYPES.match(base) and not isinstance(value, (bool, list, dict)):
            try:
                f = float(value.text) if isinstance(value, _Int) else diff._as_float(value)
            except (TypeError, ValueError):
                out.append(("bad float", repr(value)))
                continue
            if f is None:
                out.append(("null",))
            elif math.isnan(f):
                out.append(("nan",))
            elif base == "Float32":
                out.append(("f32", _f32_bits(f)))
            else:
                out.append(("f64", struct.pack("<d", f)))
        elif diff._INT_TYPES.match(base) and not isinstance(value, bool):
            try:
                out.append(("int", int(value)))
            except (TypeError, ValueError):
                out.append(("bad int", repr(value)))
        else:
            out.append(("text", json.dumps(value, ensure_ascii=False)))
    return tuple(out)


def describe(value: tuple) -> str:
    """A canonical value as a person reads it."""
    tag = value[0]
    if tag == "f32":
        f = struct.unpack("<f", struct.pack("<I", value[1]))[0]
        return f"{f!r} (Float32 0x{value[1]:08x})"
    if tag == "f64":
        return repr(struct.unpack("<d", value[1])[0])
    if tag in ("nan", "null"):
        return tag
    if tag == "int":
        return str(value[1])
    if tag == "text":
        return value[1]
    return f"{tag} {value[1]}"


def row_differences(
    schema: list[tuple[str, str]], expected: list[dict], actual: list[dict]
) -> list[str]:
    """Differences between chDB's rows and ours, as multisets."""
    e = Counter(canonical(schema, r) for r in expected)
    a = Counter(canonical(schema, r) for r in actual)
    if e == a:
        return []
    problems = [f"rows differ: chDB {len(expected)} vs ours {len(actual)}"]
    missing = list((e - a).elements())
    extra = list((a - e).elements())
    names = [n for n, _ in schema]

    def show(row: tuple) -> str:
        return ", ".join(f"{n}={describe(v)}" for n, v in zip(names, row))[:600]

    for row in missing[:3]:
        problems.append(f"chDB has, ours lacks: {show(row)}")
    for row in extra[:3]:
        problems.append(f"ours has, chDB lacks: {show(row)}")
    # The closest pair, column by column, when exactly one row differs on each side.
    if len(missing) == 1 and len(extra) == 1:
        for (name, _), x, y in zip(schema, missing[0], extra[0]):
            if x != y:
                problems.append(f"column {name}: chDB {describe(x)} vs ours {describe(y)}")
    return problems


# ------------------------------------------------------------------------------------------------
# Checks


def accounting(report: dict, data: bytes, path: Path) -> list[str]:
    problems = []
    lines, blank = diff.count_lines(path)
    total = report["rows"] + report["quarantined"] + report["blank"]
    if report["lines"] != total:
        problems.append(f"lines {report['lines']} != rows + quarantined + blank = {total}")
    if report["lines"] != lines:
        problems.append(f"lines {report['lines']} but the file has {lines}")
    if report["bytes"] != len(data):
        problems.append(f"bytes {report['bytes']} but the file has {len(data)}")
    return problems


def first_error(report: dict) -> str:
    errors = report.get("errors") or [""]
    return re.sub(r"^line \d+: ", "", errors[-1])


def check_kind(
    suite: diff.Suite, reader: Reader, kind: Kind, good: bytes, good_rows: list[dict], work: Path
) -> None:
    def body() -> list[str]:
        path = work / f"kind-{kind.name}.ndjson"
        data = kind.content(good)
        path.write_bytes(data)
        base = 1 if kind.not_first else 0
        chdb = reader.read(path)
        report = our_report(path)
        problems = accounting(report, data, path)
        theirs = "quarantine" if isinstance(chdb, str) else ("row" if len(chdb) > base else "blank")
        if theirs != kind.expect:
            said = chdb if isinstance(chdb, str) else f"{len(chdb) - base} rows"
            return [f"manifest stale: expect {kind.expect} but chDB says {theirs} ({said})"]
        stored = report["rows"] - base
        if kind.departure:
            reason = first_error(report)
            if (stored, report["quarantined"]) != (0, 1) or not DEPARTURES[kind.departure].search(
                reason
            ):
                problems.append(
                    f"departure {kind.departure}: want the line quarantined for it, got "
                    f"rows {stored}, quarantined {report['quarantined']}: {report['errors']}"
                )
        elif kind.expect == "row":
            if report["quarantined"]:
                problems.append(
                    f"chDB reads {len(chdb) - base} rows, ours quarantined "
                    f"{report['quarantined']}: {report['errors']}"
                )
            elif ROWS_COMMAND:
                ours = our_rows(reader.schema, path)
                problems += row_differences(reader.schema, chdb, ours)
        elif kind.expect == "quarantine":
            if stored != 0 or report["quarantined"] < 1:
                problems.append(
                    f"chDB fails ({chdb}); ours stored {stored} rows, "
                    f"quarantined {report['quarantined']}"
                )
            elif base and ROWS_COMMAND:
                ours = our_rows(reader.schema, path)
                problems += row_differences(reader.schema, good_rows, ours)
        else:  # blank
            if (stored, report["quarantined"]) != (0, 0) or report["blank"] < 1:
                problems.append(
                    f"chDB reads nothing; ours stored {stored}, quarantined "
                    f"{report['quarantined']} {report['errors']}, blank {report['blank']}"
                )
        return problems

    suite.check(f"{kind.name}: {kind.departure or kind.expect}", body)


def mixed_file(kinds: list[Kind], generated: bytes) -> tuple[bytes, list[Kind], Counter]:
    """The kinds placed one after each generated line: the file, the kinds placed, and the
    outcomes they should add up to."""
    good_lines = generated.splitlines(keepends=True)
    parts = []
    counts: Counter = Counter()
    # A kind that relies on starting the stream (a leading BOM) goes first; the others like it
    # would mean something else further down, so they are left out.
    leading = [k for k in kinds if k.line.startswith(b"\xef\xbb\xbf") and not k.not_first]
    placed = leading[:1] + [k for k in kinds if k not in leading]
    for index, kind in enumerate(placed):
        line = kind.line + (kind.end or b"\n")
        good = good_lines[index % len(good_lines)]
        parts += [line, good] if index == 0 and leading[:1] == [kind] else [good, line]
        counts["departure" if kind.departure else kind.expect] += 1
    if len(good_lines) < len(placed):
        raise ValueError(f"{len(good_lines)} generated lines for {len(placed)} kinds")
    parts += good_lines[len(placed) :]
    counts["good"] = len(good_lines)
    return b"".join(parts), placed, counts


def check_mixed(
    suite: diff.Suite,
    reader: Reader,
    kinds: list[Kind],
    generated: bytes,
    good: bytes,
    work: Path,
) -> None:
    """Every kind between generated lines: the kinds' outcomes do not depend on their neighbours.

    ClickHouse reads some lines only at the start of a stream (a JSON array of rows), so its rows
    for the mixed file are its rows for the generated lines plus its rows for each kind alone.
    """

    def body() -> list[str]:
        data, placed, counts = mixed_file(kinds, generated)
        path = work / "mixed.ndjson"
        path.write_bytes(data)
        generated_path = work / "mixed-generated.ndjson"
        generated_path.write_bytes(generated)
        expected = reader.read(generated_path)
        if isinstance(expected, str):
            return [f"chDB cannot read the generated lines: {expected}"]
        for kind in placed:
            if kind.expect != "row" or kind.departure:
                continue
            alone = work / f"mixed-kind-{kind.name}.ndjson"
            alone.write_bytes(kind.content(good))
            rows = reader.read(alone)
            if isinstance(rows, str):
                return [f"{kind.name}: chDB no longer reads it alone: {rows}"]
            expected += rows[1:] if kind.not_first else rows
        report = our_report(path)
        problems = accounting(report, data, path)
        want_q = counts["quarantine"] + counts["departure"]
        if report["quarantined"] != want_q:
            problems.append(f"quarantined {report['quarantined']}, the kinds say {want_q}")
        if report["blank"] != counts["blank"]:
            problems.append(f"blank {report['blank']}, the kinds say {counts['blank']}")
        if not ROWS_COMMAND:
            return problems
        ours = our_rows(reader.schema, path)
        return problems + row_differences(reader.schema, expected, ours)

    suite.check("the kinds mixed with generated lines", body)


def check_rows_command(suite: diff.Suite, reader: Reader, work: Path) -> None:
    """`llm-metrics sql` lists a stored row as ClickHouse reads it, non-finite floats included."""

    def body() -> list[str]:
        global ROWS_COMMAND
        path = work / "non-finite.ndjson"
        path.write_bytes(
            b'{"event_time":"2024-05-01 10:00:00","cost":"nan","latency":"inf"}\n'
            b'{"event_time":"2024-05-01 10:00:01","cost":"-inf","latency":-0.0}\n'
            b'{"event_time":"2024-05-01 10:00:02","model_name":"m","cost":0.1,"success":1}\n'
        )
        try:
            ours = our_rows(reader.schema, path)
        except RuntimeError as exc:
            ROWS_COMMAND = False
            return [f"{exc}; stored rows are not compared with ClickHouse's in this run"]
        theirs = reader.read(path)
        if isinstance(theirs, str) or len(theirs) != 3:
            return [f"chDB should read three rows from {path.name}: {theirs}"]
        return row_differences(reader.schema, theirs, ours)

    suite.check("llm-metrics sql lists stored rows as ClickHouse reads them", body)


def check_line_limit(suite: diff.Suite, reader: Reader, good: bytes, work: Path) -> None:
    def body() -> list[str]:
        # A key outside the schema makes the line just over the limit: ClickHouse reads it,
        # llm-metrics quarantines it.
        padding = b'{"padding":"' + b"p" * (MAX_LINE_BYTES - len(good)) + b'",'
        line = padding + good[1:]
        if len(line) <= MAX_LINE_BYTES:
            raise ValueError(f"the long line has {len(line)} bytes")
        data = good + b"\n" + line + b"\n" + good + b"\n"
        path = work / "over-the-line-limit.ndjson"
        path.write_bytes(data)
        chdb = reader.read(path)
        if isinstance(chdb, str) or len(chdb) != 3:
            return [f"chDB should read all three rows: {str(chdb)[:200]}"]
        report = our_report(path)
        problems = accounting(report, data, path)
        if (report["rows"], report["quarantined"]) != (2, 1):
            problems.append(f"want 2 rows and 1 quarantined: {report}")
        elif not DEPARTURES["line_limit"].search(first_error(report)):
            problems.append(f"reason: {report['errors']}")
        return problems

    suite.check("line over 8 MiB: line_limit", body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", help="llm-metrics binary (default: target/release/llm-metrics)")
    parser.add_argument("--keep", help="directory to write the files to (kept afterwards)")
    args = parser.parse_args()
    diff.CLI = diff.find_cli(args.bin)

    kinds = load_manifest()
    schema = diff.read_schema()
    reader = Reader(schema)
    suite = diff.Suite(reader.engine)
    with tempfile.TemporaryDirectory(prefix="llm-metrics-adversarial-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        generated_path = work / "generated.ndjson"
        subprocess.run(
            [str(diff.CLI), "gen", "--rows", str(MIXED_GOOD_ROWS), "--seed", "11",
             "--out", str(generated_path)],
            check=True,
            timeout=600,
        )
        generated = generated_path.read_bytes()
        good = generated.splitlines()[0]
        good_path = work / "good.ndjson"
        good_path.write_bytes(good + b"\n")
        good_rows = reader.read(good_path)
        if isinstance(good_rows, str) or len(good_rows) != 1:
            raise SystemExit(f"chDB does not read the generated line: {good_rows}")
        print(f"--   {len(kinds)} kinds from {MANIFEST.relative_to(diff.ROOT)}")
        check_rows_command(suite, reader, work)
        for kind in kinds:
            check_kind(suite, reader, kind, good, good_rows, work)
        check_mixed(suite, reader, kinds, generated, good, work)
        check_line_limit(suite, reader, good, work)
    print(suite.summary())
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
