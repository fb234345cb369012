"""Oracle for tests/rollups.rs: the project in tests/fixtures/rollups as ClickHouse tables and
materialized views (chDB), fed the same NDJSON in the same chunks, one INSERT per chunk.

Writes tests/fixtures/rollups/calls.ndjson (generated, seeded) and
tests/fixtures/rollups/expected.json: each endpoint's rows as ClickHouse answers them.
Run: /work/main/.venv/bin/python tests/chdb/rollups.py
"""
import json
import os
import random

from chdb import session

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "rollups")
CHUNKS = 4
ROWS = 2000

rng = random.Random(12)
START = 1717106400  # 2024-05-30 22:00:00 UTC: the rows span a month's end.
MODELS = ["gpt-4o", "claude-3-haiku", "mistral-large"]
TEAMS = ["search", "ads", "infra", None]
TAGS = ["beta", "eval", "prod", "batch"]

lines = []
bad = []
for i in range(ROWS):
    t = START + rng.randrange(0, 3 * 86400)
    row = {
        "at": f"{__import__('datetime').datetime.utcfromtimestamp(t):%Y-%m-%d %H:%M:%S}",
        "model": rng.choice(MODELS),
        "who": {"user": f"u{rng.randrange(40)}"},
        "usage": {"tokens": rng.randrange(1, 5000), "cost": round(rng.random() / 50, 6)},
        "latency": round(rng.uniform(0.05, 12.0), 3),
    }
    team = rng.choice(TEAMS)
    if team is not None:
        row["who"]["team"] = team
    k = rng.randrange(5)
    if k == 0:
        row["tags"] = None
    elif k < 4:
        row["tags"] = rng.sample(TAGS, k)
    # else: no tags key at all.
    if i % 401 == 7:
        row["usage"]["tokens"] = "lots"  # not a UInt32: quarantined, in ClickHouse refused.
        bad.append(i)
    if i % 509 == 11:
        row["tags"] = "beta"  # not an array: quarantined.
        bad.append(i)
    lines.append(json.dumps(row, separators=(",", ":")))

with open(os.path.join(FIX, "calls.ndjson"), "w") as f:
    f.write("\n".join(lines) + "\n")


def flat(line):
    """The row a Tinybird datasource stores from a line (its JSON paths and DEFAULTs)."""
    r = json.loads(line)
    return {
        "event_time": r["at"],
        "model": r["model"],
        "team": r["who"].get("team", "none"),
        "user_id": r["who"]["user"],
        "tokens": r["usage"]["tokens"],
        "cost": r["usage"]["cost"],
        "latency": r["latency"],
        "tags": r.get("tags"),
    }


s = session.Session()
s.query("DROP DATABASE IF EXISTS rollups")
s.query("CREATE DATABASE rollups")
s.query("USE rollups")
s.query(
    "CREATE TABLE calls (event_time DateTime, model LowCardinality(String), team String, "
    "user_id String, tokens UInt32, cost Float64, latency Float32, tags Array(String)) "
    "ENGINE = MergeTree PARTITION BY toYYYYMM(event_time) ORDER BY (event_time, model)"
)
s.query(
    "CREATE TABLE calls_by_hour (hour DateTime, model LowCardinality(String), "
    "calls AggregateFunction(count), users AggregateFunction(uniq, String), "
    "tokens AggregateFunction(sum, UInt32), "
    "latency_q AggregateFunction(quantiles(0.5, 0.9), Float32), "
    "max_latency SimpleAggregateFunction(max, Float32)) "
    "ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(hour) ORDER BY (hour, model)"
)
s.query(
    "CREATE TABLE tokens_by_team (day Date, team String, tokens UInt64, cost Float64) "
    "ENGINE = SummingMergeTree ORDER BY (day, team)"
)
s.query(
    "CREATE MATERIALIZED VIEW calls_by_hour_mv TO calls_by_hour AS SELECT "
    "toStartOfHour(event_time) AS hour, model, countState() AS calls, "
    "uniqState(user_id) AS users, sumState(tokens) AS tokens, "
    "quantilesState(0.5, 0.9)(latency) AS latency_q, maxSimpleState(latency) AS max_latency "
    "FROM calls GROUP BY hour, model"
)
s.query(
    "CREATE MATERIALIZED VIEW tokens_by_team_mv TO tokens_by_team AS SELECT "
    "toDate(event_time) AS day, team, sum(tokens) AS tokens, sum(cost) AS cost "
    "FROM calls GROUP BY day, team"
)
per = (ROWS + CHUNKS - 1) // CHUNKS
for c in range(CHUNKS):
    rows = [
        json.dumps(flat(l))
        for i, l in enumerate(lines[c * per:(c + 1) * per], start=c * per)
        if i not in bad
    ]
    s.query("INSERT INTO calls FORMAT JSONEachRow " + "\n".join(rows))

ENDPOINTS = {
    "hourly": "SELECT hour, model, countMerge(calls) AS calls, uniqMerge(users) AS users, "
    "sumMerge(tokens) AS tokens, quantilesMerge(0.5, 0.9)(latency_q) AS latency_q, "
    "max(max_latency) AS max_latency FROM calls_by_hour GROUP BY hour, model ORDER BY hour, model",
    "hourly_model": "SELECT hour, model, countMerge(calls) AS calls, uniqMerge(users) AS users, "
    "sumMerge(tokens) AS tokens, quantilesMerge(0.5, 0.9)(latency_q) AS latency_q, "
    "max(max_latency) AS max_latency FROM calls_by_hour WHERE model = 'gpt-4o' "
    "GROUP BY hour, model ORDER BY hour, model",
    "team_tokens": "SELECT day, team, sum(tokens) AS tokens, round(sum(cost), 6) AS cost "
    "FROM tokens_by_team GROUP BY day, team ORDER BY day, team",
    "tagged": "SELECT model, count() AS calls, sum(length(tags)) AS n_tags FROM calls "
    "WHERE has(tags, 'beta') GROUP BY model ORDER BY model",
}
expected = {"quarantined": len(bad), "rows": ROWS - len(bad)}
for name, q in ENDPOINTS.items():
    out = s.query(q + " SETTINGS output_format_json_quote_64bit_integers = 0", "JSON")
    expected[name] = json.loads(str(out))["data"]
with open(os.path.join(FIX, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print({k: (len(v) if isinstance(v, list) else v) for k, v in expected.items()})
