#!/usr/bin/env python3
"""Random SQL queries, answered by llm-metrics and by ClickHouse (chDB), compared.

Each query comes from ``querygen.Gen(seed, index)`` and runs on one of three data sets (by index):

* ``gen``: 20,000 generated rows (``llm-metrics gen --seed 11``): several store blocks;
* ``mix``: the same rows plus ``tests/chdb/fuzz_edge.ndjson`` and ``tests/fixtures/edge_cases.ndjson``
  (0 and maximal tokens, NaN and infinite costs, empty and unicode names, 1970 and 2106 times);
* ``edge``: the two edge files alone (small groups, so ClickHouse's sampled quantiles are exact);
* ``nulls``: ``tests/chdb/fuzz_nulls.ndjson`` (keys missing or null) and the edge files, read through
  ``tests/chdb/llm_events_nullable.datasource`` (Nullable columns) by both engines.

chDB keeps one session with one database per data set; llm-metrics answers each data set's
queries from one ``llm-metrics sql --batch`` process (restarted after a crash or a timeout).

Every disagreement is classified:

* ``wrong``: both answer, the answers differ (names and types of columns, row count, values:
  integers exactly, floats within 1e-6 relative, NaN equal to NaN; rows in order only when the
  ORDER BY names every output column, as multisets otherwise);
* ``refused-unsupported``: ClickHouse answers, llm-metrics refuses with ``not supported: ...``;
* ``refused-error``: ClickHouse answers, llm-metrics fails with another error;
* ``accepted``: ClickHouse fails, llm-metrics answers;
* ``crash``: the llm-metrics process dies; ``timeout``: no answer within ``--timeout`` seconds.

Failing queries are shrunk (delta debugging over the generator's tree) to a small query of the
same class and signature, and reported once per signature. Known gaps
(``tests/chdb/known_gaps.txt``: ``CLASS | REGEX | REASON`` per line) excuse disagreements whose
signature or message matches; the run fails on any other disagreement, on any crash or timeout,
and when no query ran.

Usage: ``python tests/chdb/fuzz_sql.py [--seed S] [--queries N] [--bin PATH] [--report FILE]
[--known-gaps FILE] [--allow-class CLASS ...] [--examples N] [--no-shrink] [--timeout S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diff  # noqa: E402
import querygen  # noqa: E402

HERE = Path(__file__).resolve().parent
EDGE = HERE / "fuzz_edge.ndjson"
NULLS = HERE / "fuzz_nulls.ndjson"
NULLABLE = HERE / "llm_events_nullable.datasource"
FIXTURE_EDGE = diff.FIXTURES / "edge_cases.ndjson"
GEN_ROWS = 20_000
GEN_SEED = 11
REL_TOL = 1e-6
CLASSES = ["wrong", "refused-unsupported", "refused-error", "accepted", "crash", "timeout"]
HARD = {"crash", "timeout"}


@dataclass
class Dataset:
    name: str
    files: list[Path]
    big: bool
    #: A .datasource to read the files through (both engines), instead of llm_events'.
    datasource: Path | None = None


@dataclass
class Outcome:
    """One engine's answer: ok (with the endpoint JSON), error (with the message), crash or
    timeout."""

    status: str
    result: dict | None = None
    message: str = ""


@dataclass
class Finding:
    cls: str
    signature: str
    detail: str
    index: int
    dataset: str
    sql: str
    query: querygen.Query | None = None
    minimized: str = ""
    ch: str = ""
    ours: str = ""
    excused_by: str | None = None


# ------------------------------------------------------------------------------------------------
# llm-metrics


class Ours:
    """`llm-metrics sql --batch` over one data set, with a per-query timeout."""

    def __init__(self, cli: Path, files: list[Path], timeout: float, workdir: Path,
                 datasource: Path | None = None):
        self.cli = cli
        self.files = files
        self.datasource = ["--datasource", str(datasource)] if datasource else []
        self.timeout = timeout
        self.workdir = workdir

    def run(self, sqls: list[str]) -> list[Outcome]:
        out: list[Outcome] = []
        while len(out) < len(sqls):
            out.extend(self._run_some(sqls[len(out):]))
        return out

    def _run_some(self, sqls: list[str]) -> list[Outcome]:
        """Runs until the first crash or timeout; returns at least one outcome."""
        batch = self.workdir / "batch.jsonl"
        with batch.open("w", encoding="utf-8") as f:
            for sql in sqls:
                f.write(json.dumps({"sql": sql}) + "\n")
        err_path = self.workdir / "stderr.txt"
        with err_path.open("wb") as err:
            proc = subprocess.Popen(
                [str(self.cli), "sql", "--batch", str(batch), *self.datasource,
                 *map(str, self.files)],
                stdout=subprocess.PIPE,
                stderr=err,
            )
            lines: queue.Queue = queue.Queue()

            def reader() -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=reader, daemon=True).start()
            results: list[Outcome] = []
            first = True
            while len(results) < len(sqls):
                try:
                    # The first answer also waits for the data to load.
                    line = lines.get(timeout=self.timeout + (60 if first else 0))
                except queue.Empty:
                    proc.kill()
                    proc.wait()
                    results.append(Outcome("timeout", message=f"no answer in {self.timeout}s"))
                    return results
                first = False
                if line is None:
                    proc.wait()
                    message = err_path.read_text(errors="replace").strip()
                    results.append(
                        Outcome("crash", message=f"exit {proc.returncode}: {message[-2000:]}")
                    )
                    return results
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    results.append(Outcome("crash", message=f"unreadable output: {exc}"))
                    proc.kill()
                    proc.wait()
                    return results
                if isinstance(value, dict) and set(value) == {"error"}:
                    results.append(Outcome("error", message=str(value["error"])))
                else:
                    results.append(Outcome("ok", result=value))
            proc.wait()
            return results


# ------------------------------------------------------------------------------------------------
# ClickHouse


class Chdb:
    """One chDB session, one database per data set."""

    def __init__(self, schema: list[tuple[str, str]]):
        import chdb.session

        self.session = chdb.session.Session()
        settings = dict(diff.CHDB_SETTINGS)
        settings["max_threads"] = "1"  # any()/argMax() ties resolve in insertion order
        settings["max_execution_time"] = "20"
        for name, value in settings.items():
            self.session.query(f"SET {name} = {value}")
        self.schema_text = ", ".join(f"{n} {t}" for n, t in schema)
        self.current = None

    def load(self, ds: Dataset) -> None:
        db = f"fuzz_{ds.name}"
        self.session.query(f"DROP DATABASE IF EXISTS {db}")
        self.session.query(f"CREATE DATABASE {db} ENGINE = Atomic")
        schema = self.schema_text
        if ds.datasource is not None:
            schema = ", ".join(f"{n} {t}" for n, t in diff.read_schema(ds.datasource))
        self.session.query(f"CREATE TABLE {db}.llm_events ({schema}) ENGINE = Memory")
        for path in ds.files:
            quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
            self.session.query(
                f"INSERT INTO {db}.llm_events SELECT * FROM "
                f"file('{quoted}', JSONEachRow, '{schema}')"
            )

    def use(self, ds: Dataset) -> None:
        if self.current != ds.name:
            self.session.query(f"USE fuzz_{ds.name}")
            self.current = ds.name

    def run(self, sql: str, retry: bool = True) -> Outcome:
        try:
            res = self.session.query(sql, "JSON")
            data = res.bytes()
        except Exception as exc:  # noqa: BLE001 - every ClickHouse error is an answer
            return Outcome("error", message=str(exc).strip())
        if not data:
            return Outcome("error", message="empty output")
        try:
            return Outcome("ok", result=json.loads(data))
        except json.JSONDecodeError as exc:
            # The session now and then hands back more than one answer: ask again.
            if retry:
                return self.run(sql, retry=False)
            try:
                value, _ = json.JSONDecoder().raw_decode(data.decode("utf-8"))
                return Outcome("ok", result=value)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return Outcome("error", message=f"unreadable JSON: {exc}")


# ------------------------------------------------------------------------------------------------
# Classification


def ch_error_name(message: str) -> str:
    m = re.search(r"\(([A-Z_]{3,})\)", message)
    return m.group(1) if m else "ERROR"


def normalize(message: str) -> str:
    message = re.sub(r"'(?:[^'\\]|\\.)*'", "'…'", message)
    message = re.sub(r"`[^`]*`", "`…`", message)
    message = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "N", message)
    return message[:140]


def output_exprs(q: querygen.Query) -> list[querygen.E]:
    out = []
    for e, _ in q.select:
        if e.kind == "star":
            out.extend(querygen.col(c) for c in q.star_columns)
        else:
            out.append(e)
    return out


def outer_func(e: querygen.E) -> str:
    names = querygen.functions_in(e)
    return names[0] if names else e.kind


def wrong_signature(q: querygen.Query, expected: dict, actual: dict, problems: list[str]) -> str:
    exprs = output_exprs(q)
    e_meta = [(m["name"], m["type"]) for m in expected.get("meta", [])]
    a_meta = [(m.get("name"), m.get("type")) for m in actual.get("meta", [])]
    if e_meta != a_meta:
        if len(e_meta) != len(a_meta):
            return "wrong:meta-count"
        for j, (em, am) in enumerate(zip(e_meta, a_meta)):
            if em != am:
                aspect = "name" if em[0] != am[0] else "type"
                func = outer_func(exprs[j]) if j < len(exprs) else "?"
                if aspect == "type":
                    return f"wrong:type:{func}:{em[1]}->{am[1]}"
                return f"wrong:name:{func}"
    if querygen.is_total_order(q) and not diff.compare_results(
        expected, actual, ordered=False, rel_tol=REL_TOL
    ):
        key = q.order_by[0][0] if q.order_by else None
        return f"wrong:order:{outer_func(key) if key is not None else '?'}"
    unordered = diff.compare_results(expected, actual, ordered=False, rel_tol=REL_TOL) or problems
    first = unordered[0] if unordered else ""
    if first.startswith("row count") or first.startswith("ours says rows"):
        return "wrong:rows"
    names = [n for n, _ in e_meta]
    hits = [j for j, n in enumerate(names) if f" column {n} " in first]
    if hits:
        j = max(hits, key=lambda j: len(names[j]))
        if j < len(exprs):
            return f"wrong:value:{outer_func(exprs[j])}"
    return "wrong:other"


def meta_detail(expected: dict, actual: dict) -> list[str]:
    """The first column whose name or type differs, as `name: chDB X vs ours Y`."""
    e_meta = [(m["name"], m["type"]) for m in expected.get("meta", [])]
    a_meta = [(m.get("name"), m.get("type")) for m in actual.get("meta", [])]
    for em, am in zip(e_meta, a_meta):
        if em[0] != am[0]:
            return [f"name: chDB {em[0]} vs ours {am[0]}"]
        if em[1] != am[1]:
            return [f"type of {em[0]}: chDB {em[1]} vs ours {am[1]}"]
    return []


def check_gaps(report_path: Path, gaps: list[Gap]) -> int:
    """Applies `gaps` to the findings of an earlier --report and lists what stays unexcused."""
    report = json.loads(report_path.read_text(encoding="utf-8"))
    left: dict[str, list[dict]] = {}
    for f in report.get("findings", []):
        if excuse(gaps, f["class"], f["signature"], f["detail"], f["sql"]) is None:
            left.setdefault(f["signature"], []).append(f)
    for gap in gaps:
        print(f"{gap.count:6} excused  {gap.cls} | {gap.text}")
    for sig, fs in sorted(left.items(), key=lambda kv: -len(kv[1])):
        print(f"-- {sig} ({len(fs)})")
        for f in fs[:2]:
            print(f"   {f['detail'][:300]!r}")
            print(f"   {f['sql'][:300]}")
    print(f"{sum(len(v) for v in left.values())} unexcused in {len(left)} signatures")
    return 1 if left else 0


def classify(q: querygen.Query, ch: Outcome, ours: Outcome) -> tuple[str, str, str] | None:
    """(class, signature, detail) of a disagreement, or None when the engines agree."""
    if ours.status in HARD:
        first = ours.message.splitlines()[0] if ours.message else ""
        panic = re.search(r"panicked at ([^\n]*)", ours.message)
        where = panic.group(1) if panic else first
        return ours.status, f"{ours.status}:{normalize(where)}", ours.message
    if ch.status == "ok" and ours.status == "ok":
        assert ch.result is not None and ours.result is not None
        ordered = querygen.is_total_order(q)
        try:
            problems = diff.compare_results(ch.result, ours.result, ordered=ordered, rel_tol=REL_TOL)
            problems = meta_detail(ch.result, ours.result) + problems
        except Exception as exc:  # noqa: BLE001 - malformed output is a wrong answer
            problems = [f"comparison failed: {type(exc).__name__}: {exc}"]
        if not problems:
            return None
        return "wrong", wrong_signature(q, ch.result, ours.result, problems), "\n".join(problems)
    if ch.status == "ok":
        if ours.message.startswith("not supported"):
            return "refused-unsupported", f"refused-unsupported:{normalize(ours.message)}", ours.message
        return "refused-error", f"refused-error:{normalize(ours.message)}", ours.message
    if ours.status == "ok":
        name = ch_error_name(ch.message)
        m = re.search(r"(?:function|of function) (\w+)", ch.message)
        func = m.group(1) if m else ""
        return "accepted", f"accepted:{name}:{func}", ch.message.splitlines()[0][:300]
    return None


# ------------------------------------------------------------------------------------------------
# Known gaps


@dataclass
class Gap:
    cls: str
    pattern: re.Pattern
    reason: str
    text: str
    count: int = 0


def read_gaps(path: Path | None) -> list[Gap]:
    gaps: list[Gap] = []
    if path is None or not path.exists():
        return gaps
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 3:
            raise SystemExit(f"{path}:{n}: expected 'CLASS | REGEX | REASON', got {line!r}")
        cls, pattern, reason = parts
        if cls != "*" and cls not in CLASSES:
            raise SystemExit(f"{path}:{n}: unknown class {cls!r}")
        if cls in HARD:
            raise SystemExit(f"{path}:{n}: a {cls} cannot be a known gap")
        gaps.append(Gap(cls, re.compile(pattern, re.S), reason, pattern))
    return gaps


def excuse(gaps: list[Gap], cls: str, signature: str, detail: str, sql: str) -> Gap | None:
    if cls in HARD:
        return None
    text = f"{signature}\n{detail}\n{sql}"
    for gap in gaps:
        if gap.cls in ("*", cls) and gap.pattern.search(text):
            return gap
    return None


# ------------------------------------------------------------------------------------------------
# Shrinking


class Shrinker:
    def __init__(self, chdb: Chdb, ours_for: dict[str, Ours], budget_s: float):
        self.chdb = chdb
        self.ours_for = ours_for
        self.budget_s = budget_s

    def shrink(self, q: querygen.Query, ds: Dataset, cls: str, signature: str) -> querygen.Query:
        start = time.perf_counter()
        current = q
        ours = self.ours_for[ds.name]
        improved = True
        while improved and time.perf_counter() - start < self.budget_s:
            improved = False
            cands = []
            for cand in querygen.shrink_candidates(current):
                cands.append(cand)
                if len(cands) >= 400:
                    break
            chunk = 60
            for i in range(0, len(cands), chunk):
                part = cands[i:i + chunk]
                sqls = [querygen.render_query(c) for c in part]
                answers = ours.run(sqls)
                self.chdb.use(ds)
                for cand, sql, our in zip(part, sqls, answers):
                    if time.perf_counter() - start > self.budget_s:
                        return current
                    got = classify(cand, self.chdb.run(sql), our)
                    if got is not None and got[0] == cls and got[1] == signature:
                        current = cand
                        improved = True
                        break
                if improved:
                    break
        return current


# ------------------------------------------------------------------------------------------------
# The run


def brief(o: Outcome, rows: int = 5) -> str:
    if o.status != "ok":
        return f"{o.status}: {o.message[:600]}"
    assert o.result is not None
    meta = [(m.get("name"), m.get("type")) for m in o.result.get("meta", [])]
    data = o.result.get("data", [])
    text = json.dumps({"meta": meta, "rows": len(data), "data": data[:rows]}, ensure_ascii=False)
    return text[:1500]


def prepare_data(cli: Path, data_dir: Path) -> list[Dataset]:
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = data_dir / f"generated-{GEN_ROWS}-{GEN_SEED}.ndjson"
    if not generated.exists():
        tmp = generated.with_suffix(".tmp")
        subprocess.run(
            [str(cli), "gen", "--rows", str(GEN_ROWS), "--seed", str(GEN_SEED), "--out", str(tmp)],
            check=True,
            timeout=600,
        )
        tmp.rename(generated)
    return [
        Dataset("gen", [generated], True),
        Dataset("mix", [generated, EDGE, FIXTURE_EDGE], True),
        Dataset("edge", [EDGE, FIXTURE_EDGE], False),
        Dataset("nulls", [NULLS, EDGE, FIXTURE_EDGE], False, NULLABLE),
    ]


def repro(cli_name: str, ds: Dataset, sql: str) -> str:
    quoted = sql.replace("'", "'\\''")
    files = []
    for f in ds.files:
        try:
            files.append(str(Path(f).resolve().relative_to(diff.ROOT)))
        except ValueError:
            files.append(str(f))
    ds_arg = f"--datasource {ds.datasource} " if ds.datasource else ""
    return f"{cli_name} sql '{quoted}' {ds_arg}{' '.join(files)}"


def write_markdown(path: Path, args, executed: int, elapsed: float, counts: dict, agree: dict,
                   per_sig: dict, datasets: list[Dataset], cli: Path) -> None:
    """The findings, one section per class, one entry per signature, each reproducible."""
    out = [f"# Random-query differential run: seed {args.seed}, {executed} queries", ""]
    out.append(f"`python tests/chdb/fuzz_sql.py --seed {args.seed} --queries {args.queries}` "
               f"({executed / elapsed if elapsed else 0:.0f} queries/s). "
               f"Agreeing: {agree['ok']} same answer, {agree['both-error']} both refuse.")
    out.append("")
    out.append("| class | queries | signatures |")
    out.append("|---|---|---|")
    for cls in CLASSES:
        sigs = {s for s, fs in per_sig.items() if fs[0].cls == cls}
        out.append(f"| {cls} | {counts[cls]} | {len(sigs)} |")
    out.append("")
    out.append("Data sets (generated rows: `target/release/llm-metrics gen --rows "
               f"{GEN_ROWS} --seed {GEN_SEED} --out {datasets[0].files[0]}`):")
    for d in datasets:
        out.append(f"- `{d.name}`: " + " ".join(f"`{f}`" for f in d.files))
    out.append("")
    for cls in CLASSES:
        sigs = [s for s, fs in per_sig.items() if fs[0].cls == cls]
        if not sigs:
            continue
        out.append(f"## {cls}")
        out.append("")
        for sig in sorted(sigs, key=lambda s: -len(per_sig[s])):
            fs = per_sig[sig]
            f = fs[0]
            ds = next(d for d in datasets if d.name == f.dataset)
            gap = f" (known gap: `{f.excused_by}`)" if f.excused_by else ""
            out.append(f"### `{sig}`: {len(fs)} queries{gap}")
            out.append("")
            out.append("```sql")
            out.append(f.minimized or f.sql)
            out.append("```")
            out.append(f"- data set `{f.dataset}` (query #{f.index})")
            out.append(f"- ClickHouse: `{f.ch[:700]}`")
            out.append(f"- llm-metrics: `{f.ours[:700]}`")
            out.append("- repro:")
            out.append("```sh")
            out.append(repro("target/release/llm-metrics", ds, f.minimized or f.sql))
            out.append("```")
            out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--start", type=int, default=0, help="first query index")
    parser.add_argument("--bin", help="llm-metrics binary (default: target/release/llm-metrics)")
    parser.add_argument("--report", help="write a JSON report to this file")
    parser.add_argument("--markdown", help="write the findings as Markdown to this file")
    parser.add_argument("--shrink-excused", action="store_true",
                        help="also shrink disagreements excused by known gaps")
    parser.add_argument("--known-gaps", default=str(HERE / "known_gaps.txt"))
    parser.add_argument("--allow-class", action="append", default=[], choices=CLASSES[:4],
                        help="do not fail on disagreements of this class")
    parser.add_argument("--examples", type=int, default=3, help="minimized examples per signature")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--shrink-seconds", type=float, default=8.0, help="per query")
    parser.add_argument("--shrink-total", type=float, default=300.0, help="for the whole run")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per query")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "llm-metrics-fuzz"))
    parser.add_argument("--batch", type=int, default=500, help="queries per llm-metrics process")
    parser.add_argument("--only", type=int, action="append", default=[], help="run only these indices")
    parser.add_argument("--show", action="store_true", help="print each query as it runs")
    parser.add_argument("--check-gaps", metavar="REPORT",
                        help="only apply the known gaps to the findings of an earlier --report")
    args = parser.parse_args()
    if args.check_gaps:
        return check_gaps(Path(args.check_gaps), read_gaps(Path(args.known_gaps)))

    cli = diff.find_cli(args.bin)
    datasets = prepare_data(cli, Path(args.data_dir))
    gaps = read_gaps(Path(args.known_gaps) if args.known_gaps else None)
    chdb = Chdb(diff.read_schema())
    work = Path(tempfile.mkdtemp(prefix="llm-metrics-fuzz-"))
    ours_for = {}
    for ds in datasets:
        chdb.load(ds)
        d = work / ds.name
        d.mkdir()
        ours_for[ds.name] = Ours(cli, ds.files, args.timeout, d, ds.datasource)

    indices = args.only or list(range(args.start, args.start + args.queries))
    by_ds: dict[str, list[int]] = {ds.name: [] for ds in datasets}
    for i in indices:
        by_ds[datasets[i % len(datasets)].name].append(i)

    counts = {c: 0 for c in CLASSES}
    agree = {"ok": 0, "both-error": 0}
    findings: list[Finding] = []
    executed = 0
    t0 = time.perf_counter()
    gen_time = ch_time = our_time = 0.0
    for ds in datasets:
        idx = by_ds[ds.name]
        for b in range(0, len(idx), args.batch):
            part = idx[b:b + args.batch]
            s = time.perf_counter()
            queries = []
            for i in part:
                g = querygen.Gen(args.seed * 1_000_003 + i, sampled_quantiles=not ds.big)
                queries.append(g.query(big=ds.big))
            sqls = [querygen.render_query(q) for q in queries]
            gen_time += time.perf_counter() - s
            s = time.perf_counter()
            answers = ours_for[ds.name].run(sqls)
            our_time += time.perf_counter() - s
            chdb.use(ds)
            for i, q, sql, our in zip(part, queries, sqls, answers):
                if args.show:
                    print(f"[{i}] {sql}", flush=True)
                s = time.perf_counter()
                ch = chdb.run(sql)
                ch_time += time.perf_counter() - s
                executed += 1
                got = classify(q, ch, our)
                if got is None:
                    agree["ok" if ch.status == "ok" else "both-error"] += 1
                    continue
                cls, sig, detail = got
                counts[cls] += 1
                f = Finding(cls, sig, detail, i, ds.name, sql, q, ch=brief(ch), ours=brief(our))
                gap = excuse(gaps, cls, sig, detail, sql)
                if gap is not None:
                    gap.count += 1
                    f.excused_by = gap.text
                findings.append(f)
    elapsed = time.perf_counter() - t0

    # Shrink up to --examples findings per signature.
    shrinker = Shrinker(chdb, ours_for, args.shrink_seconds)
    per_sig: dict[str, list[Finding]] = {}
    for f in findings:
        per_sig.setdefault(f.signature, []).append(f)
    shrink_start = time.perf_counter()
    for sig, fs in per_sig.items():
        for f in fs[: args.examples]:
            ds = next(d for d in datasets if d.name == f.dataset)
            skip = f.excused_by is not None and not args.shrink_excused
            skip = skip or time.perf_counter() - shrink_start > args.shrink_total
            if args.no_shrink or skip or f.query is None or f.cls in ("timeout",):
                f.minimized = f.sql
            else:
                small = shrinker.shrink(f.query, ds, f.cls, sig)
                f.minimized = querygen.render_query(small)
                print(f"-- shrunk {sig[:80]}: {len(f.sql)} -> {len(f.minimized)} chars",
                      file=sys.stderr, flush=True)
            chdb.use(ds)
            f.ch = brief(chdb.run(f.minimized))
            f.ours = brief(ours_for[ds.name].run([f.minimized])[0])
    shrink_time = time.perf_counter() - shrink_start

    # Report.
    failing_classes = set(CLASSES) - set(args.allow_class)
    unexcused = [f for f in findings if f.excused_by is None and f.cls in failing_classes]
    hard = [f for f in findings if f.cls in HARD]
    print(f"-- {executed} queries (seed {args.seed}) in {elapsed:.1f}s: "
          f"{executed / elapsed if elapsed else 0:.1f} queries/s "
          f"(llm-metrics {our_time:.1f}s, chDB {ch_time:.1f}s, generator {gen_time:.1f}s); "
          f"shrinking {shrink_time:.1f}s")
    print(f"-- agree: {agree['ok']} same answer, {agree['both-error']} both refuse")
    for cls in CLASSES:
        n_exc = sum(1 for f in findings if f.cls == cls and f.excused_by is not None)
        sigs = {f.signature for f in findings if f.cls == cls}
        print(f"{cls:20} {counts[cls]:6} ({len(sigs)} signatures, {n_exc} excused by known gaps)")
    for cls in CLASSES:
        sigs = [s for s, fs in per_sig.items() if fs[0].cls == cls]
        if not sigs:
            continue
        print(f"\n== {cls}")
        for sig in sorted(sigs, key=lambda s: -len(per_sig[s])):
            fs = per_sig[sig]
            ex = fs[0]
            tag = f" [known gap: {ex.excused_by}]" if ex.excused_by else ""
            print(f"-- {sig} ({len(fs)} queries){tag}")
            for f in fs[: args.examples if not ex.excused_by else 1]:
                print(f"   [{f.dataset} #{f.index}] {f.minimized or f.sql}")
                print(f"     chDB: {f.ch[:400]}")
                print(f"     ours: {f.ours[:400]}")
    if gaps:
        print("\n-- known gaps:")
        for gap in gaps:
            print(f"   {gap.count:6} excused  {gap.cls} | {gap.text} | {gap.reason}")
    if args.report:
        report = {
            "seed": args.seed,
            "queries": executed,
            "seconds": elapsed,
            "queries_per_second": executed / elapsed if elapsed else 0,
            "counts": counts,
            "agree": agree,
            "datasets": {d.name: [str(p) for p in d.files] for d in datasets},
            "signatures": [
                {
                    "class": fs[0].cls,
                    "signature": sig,
                    "count": len(fs),
                    "excused_by": fs[0].excused_by,
                    "examples": [
                        {
                            "index": f.index,
                            "dataset": f.dataset,
                            "sql": f.sql,
                            "minimized": f.minimized,
                            "detail": f.detail[:2000],
                            "chdb": f.ch,
                            "ours": f.ours,
                            "repro": repro(str(cli), next(d for d in datasets if d.name == f.dataset),
                                           f.minimized or f.sql),
                        }
                        for f in fs[: args.examples]
                    ],
                }
                for sig, fs in per_sig.items()
            ],
            "findings": [
                {"class": f.cls, "signature": f.signature, "detail": f.detail[:1000],
                 "sql": f.sql, "dataset": f.dataset, "index": f.index,
                 "excused_by": f.excused_by}
                for f in findings
            ],
            "known_gaps": [
                {"class": g.cls, "pattern": g.text, "reason": g.reason, "excused": g.count}
                for g in gaps
            ],
        }
        Path(args.report).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"-- report written to {args.report}")
    if args.markdown:
        write_markdown(Path(args.markdown), args, executed, elapsed, counts, agree, per_sig,
                       datasets, cli)
        print(f"-- findings written to {args.markdown}")
    if executed == 0:
        print("FAIL: no query ran")
        return 1
    if hard:
        print(f"FAIL: {len(hard)} crashes or timeouts")
        return 1
    if unexcused:
        print(f"FAIL: {len(unexcused)} disagreements not excused by known gaps "
              f"({len({f.signature for f in unexcused})} signatures)")
        return 1
    print(f"PASS: {executed} queries, every disagreement excused by a known gap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
