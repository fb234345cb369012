#!/usr/bin/env python3
"""Writes seed inputs for the `decoder` fuzz target into corpus/decoder/, and raw-text seeds for
the `sql` and `pipe` targets into corpus/sql/ and corpus/pipe/.

Seeds: every kind of tests/fixtures/adversarial/manifest.ndjson, tests/fixtures/mixed.ndjson,
a few generated lines (`llm-metrics gen`, from the binary given as the first argument), and lines
for the target's every-type datasource, each behind header variants (see
fuzz_targets/decoder.rs). Kinds longer than MAX_SEED bytes are left out: the fuzzer reaches the
long-line paths with its small line limits, and tests/adversarial.rs covers long lines. Run
`cargo fuzz cmin decoder` afterwards to keep the corpus small.

The `sql` and `pipe` seeds are raw text behind the mode byte that reads them as such (0): queries
of every kind the engine answers or must refuse cleanly, and the shipped pipes. The targets' own
grammars reach the rest from any bytes.

Usage: python3 fuzz/seed_corpus.py target/release/llm-metrics
"""

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "corpus" / "decoder"
MAX_SEED = 16 << 10

ALL_TYPES_LINES = [
    b'{"ts":"2024-01-01 00:00:00.123","meta":{"at":1714557600,"s":"x"},"t":"y",'
    b'"n":{"i8":-128,"i16":300,"i32":-5,"i64":"-9223372036854775808"},"u8":255,'
    b'"u16":"65535","u64":18446744073709551615,"f64":1e308,"b":true}',
    b'{"ts":1714557600.5,"meta":{"at":"2024-05-01T10:00:00Z","s":null},"n":{"i8":128},'
    b'"u64":-1,"f64":"-inf","b":"false"}',
    b'{"ts":null,"meta":[],"n":{"i16":1.5,"i64":9223372036854775808},"b":2}',
]


SQL_SEEDS = [
    "SELECT count() FROM llm_events WHERE toString(success) = '1'",
    "SELECT if(success, cost, NULL) AS c, multiIf(ok, 1, NULL) FROM llm_events",
    "SELECT count(CASE WHEN latency < 1 THEN 1 END), avg(CASE WHEN ok THEN cost END) FROM llm_events",
    "SELECT 7 % -2, prompt_tokens % -3 AS m FROM llm_events GROUP BY m",
    "SELECT intDiv(-9223372036854775808, -1)",
    "SELECT count() FROM llm_events WHERE model_name LIKE 'gpt\\_4o%' OR error_message LIKE '%\\%%'",
    "SELECT toStartOfInterval(event_time, INTERVAL 3 QUARTER) AS q, count() FROM llm_events GROUP BY q",
    "SELECT toString(0/0), toString(1/0), toDateTime(-1), toDate(99999999999)",
    "WITH 1 AS a0, a0 + a0 AS a1, a1 + a1 AS a2, a2 + a2 AS a3 SELECT a3",
    "SELECT DISTINCT score FROM llm_events LIMIT 1 BY ok",
    "SELECT x FROM (SELECT 1 AS x) WHERE x IN (SELECT 1) AND -0.0 IN (0)",
    "SELECT ifNull(user, 'none'), coalesce(cached, 0), isNull(at), assumeNotNull(score), "
    "user IS NOT NULL FROM llm_events ORDER BY event_time DESC NULLS FIRST",
    "SELECT model_name, quantiles(0.5, 0.9)(latency) AS q, argMax(user, score), "
    "count(DISTINCT user, ok) FROM llm_events GROUP BY model_name HAVING count() > 1 "
    "ORDER BY model_name LIMIT 2 OFFSET 1",
    "WITH t AS (SELECT model_name, sum(cost) AS c FROM llm_events GROUP BY model_name) "
    "SELECT * FROM t WHERE c > (SELECT min(c) FROM t)",
    "SELECT count(), any(c__raw) FROM llm_events_quarantine",
    "SELECT event_time + INTERVAL 90 YEAR, round(delta, -20), concat(), 'a' || user FROM llm_events",
    "SELECT min(nan), max(0/0), argMin(model_name, nan), avg(toUInt64(18446744073709551615))",
    "SELECT groupArray(user), topK(2)(model_name), windowFunnel(3600)(event_time, ok, success = 1) "
    "FROM llm_events",
    "SELECT 1 + (SELECT count() FROM llm_events WHERE 0)",
    "SELECT * FROM (SELECT * FROM (SELECT * FROM llm_events))",
]


def seed(name: str, header: bytes, body: bytes, out: Path = OUT) -> None:
    digest = hashlib.sha1(header + body).hexdigest()[:16]
    (out / f"{name}-{digest}").write_bytes(header + body)


def query_seeds() -> None:
    for target in ("sql", "pipe"):
        (HERE / "corpus" / target).mkdir(parents=True, exist_ok=True)
    for query in SQL_SEEDS:
        seed("raw", bytes([0]), query.encode(), HERE / "corpus" / "sql")
    for pipe in sorted((ROOT / "pipes").glob("*.pipe")):
        seed("raw", bytes([0]), pipe.read_bytes(), HERE / "corpus" / "pipe")


def main() -> None:
    query_seeds()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = ROOT / "tests" / "fixtures" / "adversarial" / "manifest.ndjson"
    for raw in manifest.read_text(encoding="utf-8").split("\n"):
        if not raw.strip():
            continue
        kind = json.loads(raw)
        line = base64.b64decode(kind["b64"]) if "b64" in kind else kind["text"].encode()
        body = line + kind.get("end", "\n").encode()
        if len(body) > MAX_SEED:
            continue
        seed("kind", bytes([0x30, 0, 7, 1]), body)
        seed("kind-limit", bytes([0x31, 8, 3, 0]), body)
    mixed = (ROOT / "tests" / "fixtures" / "mixed.ndjson").read_bytes()
    seed("mixed", bytes([0xF4, 0, 9, 9]), mixed)
    seed("mixed-bytes", bytes([0x0C, 0, 1, 0]), mixed)
    generated = subprocess.run(
        [sys.argv[1], "gen", "--rows", "20", "--seed", "5"], check=True, capture_output=True
    ).stdout
    seed("generated", bytes([0x70, 0, 2, 0]), generated)
    seed("generated-limit", bytes([0x75, 20, 2, 0]), generated)
    for line in ALL_TYPES_LINES:
        seed("all-types", bytes([0x12, 0, 5, 0]), line + b"\n")
        seed("all-types-bytes", bytes([0x0A, 0, 5, 0]), line + b"\r\n" + line)


if __name__ == "__main__":
    main()
