"""Oracle for tests/store_types.rs: the same table and JSONEachRow lines in ClickHouse (chDB).

Prints, per query of the test, its rows as JSONCompactEachRow (64-bit integers unquoted),
sorted, and which lines ClickHouse refused.
Run: /work/main/.venv/bin/python tests/chdb/store_types.py
"""
from chdb import session

LINES = [
    '{"a":["x","y"],"c":[1,null,3],"n":[[1],[2,3]],"s":5}',
    '{"a":null}',
    '{}',
    '{"a":[1,2]}',
    '{"a":"x"}',
    '{"a":[null]}',
    '{"c":["1"]}',
    '{"c":[1.5]}',
    '{"a":[["x"]]}',
    '{"st":1}',
    '{"st":null}',
    '{"u":"abc"}',
    '{"c":[true]}',
    '{"a":[true, {"k":1}]}',
    '{"n":[1]}',
]

s = session.Session()
s.query("CREATE DATABASE IF NOT EXISTS d")
s.query("DROP TABLE IF EXISTS d.t")
s.query(
    "CREATE TABLE d.t (k String, a Array(String), b Array(LowCardinality(String)), "
    "c Array(Nullable(Int32)), n Array(Array(UInt8)), s SimpleAggregateFunction(sum, Int64), "
    "st AggregateFunction(count), u AggregateFunction(uniq, String)) "
    "ENGINE = MergeTree ORDER BY k"
)
for i, line in enumerate(LINES):
    try:
        s.query(f"INSERT INTO d.t FORMAT JSONEachRow {line}")
    except Exception as e:  # noqa: BLE001 - the refusal is what is printed
        print(f"refused line {i + 1}: {str(e).splitlines()[0][:100]}")
fmt = "JSONCompactEachRow"
SETTINGS = " SETTINGS output_format_json_quote_64bit_integers = 0"
for q in [
    "SELECT a, b, c, n, s FROM d.t",
    "SELECT countMerge(st) AS k, uniqMerge(u) AS q, sum(s) AS total, count() AS c FROM d.t",
    "SELECT toTypeName(a), toTypeName(b), toTypeName(c), toTypeName(n), toTypeName(s), "
    "toTypeName(st), toTypeName(u) FROM d.t LIMIT 1",
]:
    print(q)
    for row in sorted(str(s.query(q + SETTINGS, fmt)).splitlines()):
        print("  " + row)

# FINAL (tests/store_types.rs `final_merges_rows_as_the_engines_do`): one INSERT per line.
s.query("DROP TABLE IF EXISTS d.r")
s.query("DROP TABLE IF EXISTS d.sm")
s.query("DROP TABLE IF EXISTS d.m")
s.query("CREATE TABLE d.r (k UInt8, v UInt8, ver UInt8) ENGINE = ReplacingMergeTree(ver) ORDER BY k")
s.query("CREATE TABLE d.sm (k UInt8, name String, a UInt8, b Float64) ENGINE = SummingMergeTree ORDER BY k")
s.query("CREATE TABLE d.m (k UInt8) ENGINE = MergeTree ORDER BY k")
for t, line in [
    ("r", '{"k":1,"v":1,"ver":5}'),
    ("r", '{"k":2,"v":1,"ver":1}'),
    ("r", '{"k":1,"v":2,"ver":3}'),
    ("r", '{"k":2,"v":2,"ver":1}'),
    ("sm", '{"k":1,"name":"x","a":1,"b":0.5}'),
    ("sm", '{"k":2,"name":"y","a":0,"b":0}'),
    ("sm", '{"k":1,"name":"z","a":255,"b":0.25}'),
    ("sm", '{"k":3,"name":"w","a":1,"b":-1}'),
    ("sm", '{"k":3,"name":"w","a":255,"b":1}'),
]:
    s.query(f"INSERT INTO d.{t} FORMAT JSONEachRow {line}")
for q in ["SELECT * FROM d.r FINAL ORDER BY k", "SELECT * FROM d.sm FINAL ORDER BY k"]:
    print(q)
    for row in str(s.query(q + SETTINGS, fmt)).splitlines():
        print("  " + row)
try:
    s.query("SELECT * FROM d.m FINAL")
except Exception as e:  # noqa: BLE001
    print("SELECT * FROM d.m FINAL:", str(e).splitlines()[0][:80])

# Maps (tests/store_types.rs `maps_read_as_clickhouse_reads_json`): one INSERT per line.
MAP_LINES = [
    '{"k":"a","m":{"x":"1","y":"2"},"am":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}],"mu":{"a":1,"b":"2"}}',
    '{"k":"b","m":{"x":1,"y":true,"z":null,"w":{"q":1},"v":[1,2]},"am":[],"mu":{}}',
    '{"k":"c","am":null,"mu":null}',
    '{"k":"d","m":{"x":"1","x":"2"},"am":[null,{}],"mu":{"a":null},"ml":{"p":null,"q":"1.5"}}',
    '{"k":"e","m":"str"}',
    '{"k":"f","mu":{"a":"x"}}',
    '{"k":"g","mu":{"a":1.5}}',
    '{"k":"h","m":{"a\\u00e9\\"":"v\\n"},"ml":{"p":2}}',
    '{"k":"i","am":[{"role":1}],"ml":[]}',
]
s.query("DROP TABLE IF EXISTS d.mp")
s.query(
    "CREATE TABLE d.mp (k String, m Map(String, String), am Array(Map(String, String)), "
    "mu Map(String, UInt8), ml Map(LowCardinality(String), Nullable(Float64))) "
    "ENGINE = MergeTree ORDER BY k"
)
for i, line in enumerate(MAP_LINES):
    try:
        s.query(f"INSERT INTO d.mp FORMAT JSONEachRow {line}")
    except Exception as e:  # noqa: BLE001 - the refusal is what is printed
        print(f"refused map line {i + 1}: {str(e).splitlines()[0][:100]}")
for q in [
    "SELECT k, m, am, mu, ml FROM d.mp ORDER BY k",
    "SELECT k, m['x'], am[1]['role'], mu['a'], ml['p'], length(am), mapKeys(m) FROM d.mp ORDER BY k",
    "SELECT toTypeName(m), toTypeName(am), toTypeName(mu), toTypeName(ml) FROM d.mp LIMIT 1",
]:
    print(q)
    for row in str(s.query(q + SETTINGS, fmt)).splitlines():
        print("  " + row)
