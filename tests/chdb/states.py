#!/usr/bin/env python3
"""Differential test of aggregate states (-State, -Merge, -SimpleState) against ClickHouse (chDB).

Generated events are loaded into chDB and into llm-metrics (the CLI's ``sql --batch``); each
query below runs on both and the answers must agree: the column names and types of ``meta``,
integers and strings exactly, floats within diff.py's relative tolerance (sums of floats merged
from states add in another order than one pass does). The queries build states per
(model, hour) in a subquery and merge them per model, for every aggregate the engine has, with
``-If`` inside and outside the state. A result holding a raw state is refused by llm-metrics
(ClickHouse prints its binary form), and merging a state of another function is refused by both.

Usage: ``python tests/chdb/states.py [--bin PATH] [--rows N]``; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diff  # noqa: E402

INNER_GROUP = "GROUP BY model_name, toStartOfHour(event_time)"
TWO_MODELS = "model_name IN ('gpt-4o', 'claude-3-haiku')"

#: (merge expression over the state column `st`, state expression) per aggregate.
PAIRS = [
    ("countMerge(st)", "countState()"),
    ("countMerge(st)", "countState(prompt_tokens)"),
    ("sumMerge(st)", "sumState(prompt_tokens)"),
    ("sumMerge(st)", "sumState(cost)"),
    ("sumMerge(st)", "sumState(toInt32(prompt_tokens) - 500)"),
    ("avgMerge(st)", "avgState(completion_tokens)"),
    ("avgMerge(st)", "avgState(latency)"),
    ("minMerge(st)", "minState(latency)"),
    ("maxMerge(st)", "maxState(prompt_tokens)"),
    ("minMerge(st)", "minState(request_id)"),
    ("maxMerge(st)", "maxState(event_time)"),
    ("uniqMerge(st)", "uniqState(user_id)"),
    ("uniqExactMerge(st)", "uniqExactState(request_id)"),
    ("uniqExactMerge(st)", "uniqExactState(user_id, success)"),
    ("uniqExactMerge(st)", "uniqExactState(prompt_tokens)"),
    ("quantileMerge(st)", "quantileState(latency)"),
    ("quantileMerge(0.9)(st)", "quantileState(0.9)(latency)"),
    ("medianMerge(st)", "medianState(prompt_tokens)"),
    ("quantilesMerge(0.1, 0.5, 0.99)(st)", "quantilesState(0.1, 0.5, 0.99)(latency)"),
    ("quantileExactMerge(0.5)(st)", "quantileExactState(0.5)(prompt_tokens)"),
    ("quantilesExactMerge(0.25, 0.75)(st)", "quantilesExactState(0.25, 0.75)(latency)"),
    (
        "quantileExactInclusiveMerge(0.3)(st)",
        "quantileExactInclusiveState(0.3)(completion_tokens)",
    ),
    (
        "quantilesExactInclusiveMerge(0.3, 0.6)(st)",
        "quantilesExactInclusiveState(0.3, 0.6)(latency)",
    ),
    ("argMaxMerge(st)", "argMaxState(request_id, latency)"),
    ("argMinMerge(st)", "argMinState(request_id, cost)"),
    ("sumIfMerge(st)", "sumIfState(prompt_tokens, success = 0)"),
    ("countIfMerge(st)", "countIfState(success = 1)"),
    ("sumMerge(st)", "sumStateIf(prompt_tokens, success = 1)"),
    ("avgIfMerge(st)", "avgIfState(latency, success = 1)"),
    ("quantilesIfMerge(0.5)(st)", "quantilesIfState(0.5)(latency, success = 1)"),
]

QUERIES: list[tuple[str, str]] = [
    (
        "the rollup of the brief",
        "SELECT model_name, countMerge(c), sumMerge(s), quantilesMerge(0.5,0.9)(q) FROM "
        "(SELECT model_name, countState() AS c, sumState(prompt_tokens) AS s, "
        "quantilesState(0.5,0.9)(latency) AS q FROM llm_events "
        "GROUP BY model_name, toStartOfHour(event_time)) GROUP BY model_name",
    ),
]
for merge, state in PAIRS:
    QUERIES.append(
        (
            state,
            f"SELECT model_name, {merge} AS v FROM (SELECT model_name, {state} AS st "
            f"FROM llm_events {INNER_GROUP}) GROUP BY model_name",
        )
    )
    # One merged group over the states of two models, and the state's type as ClickHouse
    # names it. Two models stay under 8192 rows: above that ClickHouse's quantile samples.
    QUERIES.append(
        (
            f"{state}, all",
            f"SELECT {merge} AS v, any(toTypeName(st)) AS t FROM (SELECT {state} AS st "
            f"FROM llm_events WHERE {TWO_MODELS} {INNER_GROUP})",
        )
    )
QUERIES += [
    (
        "states of Nullable values",
        "SELECT model_name, sumMerge(s) AS a, maxMerge(m) AS b, countMerge(c) AS n, "
        "any(toTypeName(s)) AS t FROM (SELECT model_name, "
        "sumState(if(success = 1, prompt_tokens, NULL)) AS s, "
        "maxState(if(success = 1, latency, NULL)) AS m, "
        "countState(if(success = 1, latency, NULL)) AS c FROM llm_events "
        f"{INNER_GROUP}) GROUP BY model_name",
    ),
    (
        "states of NULLs only",
        "SELECT sumMerge(s) AS a, maxMerge(m) AS b, 1 AS one FROM (SELECT "
        "sumState(if(success = 2, prompt_tokens, NULL)) AS s, "
        "maxState(if(success = 2, latency, NULL)) AS m FROM llm_events GROUP BY model_name)",
    ),
    (
        "quantiles merged at the merge's own levels",
        "SELECT model_name, quantilesMerge(0.2, 0.7)(q) AS v FROM (SELECT model_name, "
        f"quantilesState(0.5, 0.9)(latency) AS q FROM llm_events {INNER_GROUP}) "
        "GROUP BY model_name",
    ),
    (
        "SimpleState types and values",
        "SELECT model_name, sumSimpleState(prompt_tokens) AS s, minSimpleState(latency) AS mn, "
        "maxSimpleState(event_time) AS mx, anySimpleState(toUInt8(1)) AS a, "
        "toTypeName(s) AS ts, toTypeName(mn) AS tmn, toTypeName(mx) AS tmx "
        "FROM llm_events GROUP BY model_name",
    ),
    (
        "states merged twice",
        "SELECT sumMerge(s2) AS v FROM (SELECT model_name, sumState(s) AS s2 FROM "
        "(SELECT model_name, sumSimpleState(prompt_tokens) AS s FROM llm_events "
        f"{INNER_GROUP}) GROUP BY model_name)",
    ),
    (
        "merge with WHERE and HAVING",
        "SELECT model_name, countMerge(c) AS n FROM (SELECT model_name, success, "
        f"countState() AS c FROM llm_events {INNER_GROUP}, success) WHERE success = 1 "
        "GROUP BY model_name HAVING n > 10",
    ),
    (
        "-MergeIf: the states of the rows the condition keeps",
        "SELECT model_name, sumMergeIf(s, h % 2 = 0) AS a, countMergeIf(c, h > 3) AS n, "
        "avgMergeIf(v, 0) AS z, quantilesMergeIf(0.5)(q, h % 3 = 1) AS qs FROM (SELECT "
        "model_name, toHour(event_time) AS h, sumState(prompt_tokens) AS s, countState() AS c, "
        "avgState(latency) AS v, quantilesState(0.5)(latency) AS q FROM llm_events "
        "GROUP BY model_name, h) GROUP BY model_name",
    ),
]

#: Queries both engines refuse (llm-metrics' error must contain the text).
REFUSED = [
    ("merging a state of another function", "SELECT sumMerge(c) FROM (SELECT countState() AS c FROM llm_events)", "illegal type"),
    ("merging a sum state with avgMerge", "SELECT avgMerge(q) FROM (SELECT sumState(latency) AS q FROM llm_events)", "illegal type"),
]

#: Queries ClickHouse answers and llm-metrics refuses on purpose.
OURS_REFUSED = [
    ("a raw state column", "SELECT countState() AS c FROM llm_events", "not supported"),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    diff.CLI = diff.find_cli(args.bin)
    engine = diff.ChdbEngine(diff.read_schema())
    suite = diff.Suite(engine)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "events.ndjson"
        subprocess.run(
            [str(diff.CLI), "gen", "--rows", str(args.rows), "--seed", "11", "--out", str(data)],
            check=True,
        )
        engine.load([data])
        batch = Path(tmp) / "queries.ndjson"
        all_sql = [sql for _, sql in QUERIES] + [sql for _, sql, _ in REFUSED + OURS_REFUSED]
        batch.write_text("".join(json.dumps({"sql": s}) + "\n" for s in all_sql))
        out = subprocess.run(
            [str(diff.CLI), "sql", "--batch", str(batch), str(data)],
            capture_output=True,
            check=True,
        )
        answers = [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]
        assert len(answers) == len(all_sql), (len(answers), len(all_sql))
        ours = iter(answers)
        for label, sql in QUERIES:
            mine = next(ours)
            suite.check_query(label, sql, lambda mine=mine: mine)
        for label, sql, text in REFUSED:
            mine = next(ours)

            def refused(sql=sql, mine=mine, text=text) -> list[str]:
                problems = []
                try:
                    engine.query(sql)
                    problems.append("chDB answered")
                except Exception:  # noqa: BLE001 - ClickHouse refuses it
                    pass
                if text not in json.dumps(mine).lower():
                    problems.append(f"ours: {mine}")
                return problems

            suite.check(f"refused: {label}", refused)
        for label, sql, text in OURS_REFUSED:
            mine = next(ours)

            def ours_refused(sql=sql, mine=mine, text=text) -> list[str]:
                expected = engine.query(sql)
                problems = [] if expected.get("data") else ["chDB gave no rows"]
                if text not in json.dumps(mine).lower():
                    problems.append(f"ours: {mine}")
                return problems

            suite.check(f"refused by us: {label}", ours_refused)
    print(suite.summary())
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
