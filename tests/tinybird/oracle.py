"""Records what Tinybird's own file parser and ClickHouse make of the `.datasource` files in
tests/fixtures/tinybird/datasources, for tests/tinybird_files.rs to compare with ours.

    python tests/tinybird/oracle.py tinybird   # needs the `tinybird` package (pinned below)
    python tests/tinybird/oracle.py chdb       # needs chdb (tests/requirements.txt)
    bash tests/tinybird/regenerate.sh          # both, each in its own virtualenv

`tinybird` writes tests/fixtures/tinybird/datasources.tinybird.json: for every file either what
Tinybird's `parse_datasource` reads (description, columns with type, DEFAULT, CODEC and json
path, engine and its settings, indexes, tokens, tags, forward query) or the line of its error.
It also writes tests/fixtures/tinybird/pipes.tinybird.json: for every `.pipe` file of
tests/fixtures/tinybird/pipes, its nodes as `parse_pipe` reads them (SQL, TYPE and the node's
settings), or the line of its error.
and tests/fixtures/tinybird/templates.tinybird.json: the SQL Tinybird's `render_sql_template`
makes of every case of template_cases.json.
`chdb` writes tests/fixtures/tinybird/types.chdb.json: for every column type of the files that
Tinybird accepts, the name ClickHouse gives it (`toTypeName`), or its refusal; and
tests/fixtures/tinybird/templates.chdb.json: ClickHouse's answer to each rendered template.
"""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tinybird"
FILES = sorted((FIXTURES / "datasources").glob("*.datasource"))
TINYBIRD_OUT = FIXTURES / "datasources.tinybird.json"
PIPES = sorted((FIXTURES / "pipes").glob("*.pipe"))
PIPES_OUT = FIXTURES / "pipes.tinybird.json"
TEMPLATE_CASES = FIXTURES / "template_cases.json"
TEMPLATES_OUT = FIXTURES / "templates.tinybird.json"
TEMPLATE_RESULTS = FIXTURES / "templates.chdb.json"
CHDB_OUT = FIXTURES / "types.chdb.json"


def tinybird() -> None:
    from tinybird.datafile.parse_datasource import parse_datasource

    out = {}
    for path in FILES:
        text = path.read_text()
        try:
            doc = parse_datasource(str(path), content=text, skip_eval=True, ignore_secrets=True).datafile
        except Exception as e:  # noqa: BLE001 - every refusal is recorded with its line
            lineno = getattr(e, "lineno", None)
            out[path.name] = {"error": {"line": lineno, "message": str(e).splitlines()[0]}}
            continue
        node = doc.nodes[0]
        columns = []
        for c in node.get("columns", []):
            ty = c["type"]
            if c["nullable"] and "Nullable(" not in ty:
                ty = f"Nullable({ty})"
            default = c["default_value"]
            columns.append(
                {
                    "name": c["name"],
                    "type": ty,
                    "default": default[len("DEFAULT ") :] if default else None,
                    "codec": c["codec"],
                    "jsonpath": c["jsonpath"],
                }
            )
        engine = node.get("engine") or {"type": None, "args": []}
        out[path.name] = {
            "description": doc.description or "",
            "columns": columns,
            "engine": engine["type"],
            "engine_settings": [[k, v] for k, v in engine["args"]],
            "indexes": [
                {
                    "name": ix.name,
                    "expr": ix.expr,
                    "kind": ix.type_full,
                    "granularity": int(ix.granularity) if ix.granularity else None,
                }
                for ix in node.get("indexes", []) or []
            ],
            "tokens": [[t["token_name"], t["permission"]] for t in doc.tokens],
            "tags": doc.filtering_tags or [],
            "forward_query": getattr(doc, "forward_query", None),
        }
    TINYBIRD_OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {TINYBIRD_OUT.relative_to(ROOT)} ({len(out)} files)")
    pipes()
    templates()


def templates() -> None:
    from tinybird.sql_template import render_sql_template

    out = {}
    for case in json.loads(TEMPLATE_CASES.read_text()):
        try:
            sql, _, _ = render_sql_template(case["sql"], dict(case["params"]))
            out[case["name"]] = {"sql": sql}
        except Exception as e:  # noqa: BLE001 - a refusal is recorded as such
            out[case["name"]] = {"error": str(e).splitlines()[0]}
    TEMPLATES_OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {TEMPLATES_OUT.relative_to(ROOT)} ({len(out)} templates)")


def pipes() -> None:
    from tinybird.datafile.parse_pipe import parse_pipe

    out = {}
    for path in PIPES:
        text = path.read_text()
        try:
            doc = parse_pipe(str(path), content=text, skip_eval=True, ignore_secrets=True).datafile
        except Exception as e:  # noqa: BLE001 - every refusal is recorded with its line
            lineno = getattr(e, "lineno", None)
            out[path.name] = {"error": {"line": lineno, "message": str(e).splitlines()[0]}}
            continue
        keys = ["type", "datasource", "target_datasource", "copy_schedule", "mode", "description"]
        out[path.name] = {
            "description": doc.description or "",
            "tokens": [[t["token_name"], t["permission"]] for t in doc.tokens],
            "tags": doc.filtering_tags or [],
            "nodes": [
                {"name": n["name"], "sql": n["sql"], **{k: n.get(k) for k in keys}} for n in doc.nodes
            ],
        }
    PIPES_OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PIPES_OUT.relative_to(ROOT)} ({len(out)} files)")


def chdb() -> None:
    from chdb import session

    recorded = json.loads(TINYBIRD_OUT.read_text())
    types = sorted({c["type"] for f in recorded.values() for c in f.get("columns", [])})
    s = session.Session()
    out = {}
    for ty in types:
        quoted = ty.replace("\\", "\\\\").replace("'", "\\'")
        try:
            name = s.query(f"SELECT toTypeName(defaultValueOfTypeName('{quoted}'))", "JSONCompact")
            value = json.loads(name.data())["data"][0][0]
            out[ty] = re.sub(r"\s+", " ", value).replace("( ", "(")
        except Exception as e:  # noqa: BLE001 - a refused type is recorded as such
            out[ty] = {"error": str(e).splitlines()[0][:200]}
    CHDB_OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {CHDB_OUT.relative_to(ROOT)} ({len(out)} types)")
    results = {}
    for name, rendered in json.loads(TEMPLATES_OUT.read_text()).items():
        if "sql" not in rendered:
            continue
        r = s.query(
            rendered["sql"] + " SETTINGS output_format_json_quote_64bit_integers = 0, session_timezone = 'UTC'",
            "JSON",
        )
        doc = json.loads(r.data())
        results[name] = {"meta": doc["meta"], "data": doc["data"]}
    TEMPLATE_RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {TEMPLATE_RESULTS.relative_to(ROOT)} ({len(results)} results)")


if __name__ == "__main__":
    {"tinybird": tinybird, "chdb": chdb}[sys.argv[1]]()
