#!/usr/bin/env python3
"""The SQL subset and every shipped pipe, checked against ClickHouse (chDB).

Each query below runs on chDB and on llm-metrics over the same NDJSON files, in two tiers:

* ``small``: 20,000 generated rows plus ``tests/fixtures/edge_cases.ndjson`` (odd values: nulls,
  non-finite floats, strings where numbers belong, …);
* ``large``: 1,000,000 generated rows (skipped with ``--small-only``).

Results are compared with ``diff.compare_results``: column names and ClickHouse types, integers
and strings exactly, floats within 1e-9 relative; rows in order when the query has ORDER BY.
Every shipped pipe runs with and without parameters: chDB runs the SQL ``llm-metrics expand``
prints (templates expanded, earlier nodes as ``WITH`` tables), llm-metrics runs the pipe.

llm-metrics loads each tier once and answers every query from one ``llm-metrics sql --batch``.

Usage: ``python tests/chdb/sql_suite.py [--bin PATH] [--small-only] [--keep DIR] [--only TEXT]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diff  # noqa: E402  (the harness next to this file)

T = "llm_events"
WINDOW = "event_time >= '2024-09-02 00:00:00' AND event_time < '2024-09-02 02:00:00'"


@dataclass
class Case:
    """One query: SQL for both engines, or a pipe with parameters."""

    label: str
    sql: str = ""
    ordered: bool = False
    pipe: str = ""
    params: dict = field(default_factory=dict)
    tiers: tuple[str, ...] = ("small", "large")
    # For a query ClickHouse refuses: the name of its error (ILLEGAL_DIVISION, …), and text
    # llm-metrics' error must hold.
    raises: str = ""
    says: str = ""


def q(label: str, sql: str, ordered: bool | None = None, tiers=("small", "large")) -> Case:
    if ordered is None:
        ordered = "ORDER BY" in sql
    return Case(label=label, sql=" ".join(sql.split()), ordered=ordered, tiers=tiers)


def err(label: str, sql: str, raises: str, says: str) -> Case:
    """A query ClickHouse refuses with the error `raises`; llm-metrics must refuse it too."""
    return Case(label=label, sql=" ".join(sql.split()), tiers=("small",), raises=raises, says=says)


QUERIES: list[Case] = [
    # Aggregates without GROUP BY.
    q("count", f"SELECT count() FROM {T}"),
    # The columns after the nine seed ones.
    q(
        "provider and cached tokens",
        f"SELECT provider, count(), sum(cache_read_tokens), "
        f"max(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens), "
        f"countIf(cache_read_tokens > 0) FROM {T} GROUP BY provider ORDER BY provider",
    ),
    q(
        "share of cached prompt tokens per model",
        f"SELECT model_name, provider, round(sum(cache_read_tokens) / sum(prompt_tokens), 6) AS r "
        f"FROM {T} WHERE provider IN ('openai', 'anthropic') GROUP BY model_name, provider "
        f"ORDER BY model_name",
    ),
    q(
        "sources of formats, ids, costs and times",
        f"SELECT source_format, cost_source, time_source, uniqExact(request_id), "
        f"uniqExact(user_id), count() FROM {T} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    ),
    q(
        "sums and averages",
        f"SELECT count() AS n, sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), "
        f"sum(cost), sum(latency), avg(latency), avg(cost), avg(success), avg(total_tokens) FROM {T}",
    ),
    q(
        "min and max",
        f"SELECT min(latency), max(latency), min(event_time), max(event_time), min(model_name), "
        f"max(model_name), min(total_tokens), max(cost) FROM {T}",
    ),
    q("count(x) and count(*)", f"SELECT count(*), count(model_name), count(1) FROM {T}"),
    q(
        "-If combinators",
        f"SELECT countIf(success = 0) AS errors, sumIf(cost, success = 1) AS ok_cost, "
        f"avgIf(latency, success = 1) AS ok_latency, minIf(latency, success = 0), "
        f"maxIf(total_tokens, model_name = 'gpt-4o'), uniqIf(model_name, latency > 5) FROM {T}",
    ),
    q(
        "uniq and uniqExact",
        f"SELECT uniq(model_name), uniqExact(error_message), uniqExact(toDate(event_time)), "
        f"uniq(success), count(DISTINCT model_name) FROM {T}",
    ),
    # GROUP BY on strings, times, expressions, aliases and positions.
    q(
        "founding pipe usage SQL",
        f"SELECT model_name, sum(prompt_tokens) AS total_prompt_tokens, sum(completion_tokens) "
        f"AS total_completion_tokens, sum(total_tokens) AS total_tokens, sum(cost) AS total_cost "
        f"FROM {T} GROUP BY model_name",
    ),
    q(
        "group by model with order",
        f"SELECT model_name, count() AS c, avg(latency) AS l FROM {T} GROUP BY model_name "
        f"ORDER BY c DESC, model_name",
    ),
    q(
        "group by two keys",
        f"SELECT model_name, success, count() AS c, sum(cost) FROM {T} GROUP BY model_name, "
        f"success ORDER BY model_name, success",
    ),
    q(
        "group by three keys",
        f"SELECT toStartOfDay(event_time) AS d, model_name, success, count() FROM {T} "
        f"GROUP BY d, model_name, success ORDER BY d, model_name, success",
    ),
    q(
        "group by position",
        f"SELECT model_name, toHour(event_time) AS h, count() FROM {T} GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    q(
        "group by alias of expression",
        f"SELECT lower(model_name) AS m, count() AS c FROM {T} GROUP BY m ORDER BY m",
    ),
    q(
        "group by expression repeated in select",
        f"SELECT upper(model_name), length(model_name), count() FROM {T} GROUP BY "
        f"upper(model_name), length(model_name) ORDER BY upper(model_name)",
    ),
    q(
        "having",
        f"SELECT model_name, count() AS c FROM {T} GROUP BY model_name HAVING c > 100 "
        f"AND avg(latency) > 1 ORDER BY model_name",
    ),
    q(
        "having on aggregate not selected",
        f"SELECT model_name FROM {T} GROUP BY model_name HAVING sum(cost) > 1 ORDER BY model_name",
    ),
    q(
        "group by number bucket",
        f"SELECT intDiv(total_tokens, 1000) AS k, count(), min(total_tokens) FROM {T} "
        f"GROUP BY k ORDER BY k",
    ),
    q(
        "group by float",
        f"SELECT round(latency, 0) AS l, count() FROM {T} WHERE latency < 20 GROUP BY l ORDER BY l",
    ),
    q(
        "group by date and month",
        f"SELECT toDate(event_time) AS d, toYYYYMM(event_time) AS ym, count() FROM {T} "
        f"GROUP BY d, ym ORDER BY d",
    ),
    # Time functions.
    q(
        "toStartOfHour",
        f"SELECT toStartOfHour(event_time) AS h, count(), sum(total_tokens) FROM {T} "
        f"GROUP BY h ORDER BY h",
    ),
    q(
        "toStartOfMinute five fifteen",
        f"SELECT toStartOfMinute(event_time) AS m, toStartOfFiveMinutes(event_time) AS f, "
        f"toStartOfFifteenMinutes(event_time) AS q, count() FROM {T} WHERE {WINDOW} "
        f"GROUP BY m, f, q ORDER BY m",
    ),
    q(
        "toStartOfDay week month",
        f"SELECT toStartOfDay(event_time) AS d, toStartOfWeek(event_time) AS w, "
        f"toStartOfMonth(event_time) AS mo, toMonday(event_time), count() FROM {T} "
        f"GROUP BY d, w, mo, toMonday(event_time) ORDER BY d",
    ),
    q(
        "toStartOfInterval hours",
        f"SELECT toStartOfInterval(event_time, INTERVAL 11 HOUR) AS b, count() FROM {T} "
        f"GROUP BY b ORDER BY b",
    ),
    q(
        "toStartOfInterval minutes seconds",
        f"SELECT toStartOfInterval(event_time, INTERVAL 7 MINUTE) AS b, "
        f"toStartOfInterval(event_time, INTERVAL 90 SECOND) AS s, count() FROM {T} "
        f"WHERE {WINDOW} GROUP BY b, s ORDER BY b, s",
    ),
    q(
        "toStartOfInterval days weeks months",
        f"SELECT toStartOfInterval(event_time, INTERVAL 3 DAY) AS d, "
        f"toStartOfInterval(event_time, INTERVAL 2 WEEK) AS w, "
        f"toStartOfInterval(event_time, INTERVAL 1 MONTH) AS m, count() FROM {T} "
        f"GROUP BY d, w, m ORDER BY d, w, m",
    ),
    q(
        "time parts",
        f"SELECT toHour(event_time) AS h, toDayOfWeek(event_time) AS dow, count() FROM {T} "
        f"GROUP BY h, dow ORDER BY h, dow",
    ),
    q(
        "more time parts",
        f"SELECT toYear(event_time), toMonth(event_time), toDayOfMonth(event_time) AS dd, "
        f"toYYYYMMDD(event_time), count() FROM {T} GROUP BY 1, 2, 3, 4 ORDER BY 4",
    ),
    q(
        "toDate toDateTime",
        f"SELECT toDate(event_time) AS d, toDateTime(toDate(event_time)) AS dt, "
        f"toDateTime('2024-09-03 04:05:06') AS c, toDate('2024-09-03') AS cd, count() FROM {T} "
        f"GROUP BY d, dt ORDER BY d",
    ),
    q(
        "interval arithmetic",
        f"SELECT toStartOfHour(event_time) + INTERVAL 1 HOUR AS next_hour, "
        f"toStartOfHour(event_time) - INTERVAL 30 MINUTE AS half_before, "
        f"toDate(event_time) + INTERVAL 1 MONTH AS next_month, "
        f"toDate(event_time) - INTERVAL 2 WEEK AS two_weeks, count() FROM {T} "
        f"GROUP BY 1, 2, 3, 4 ORDER BY 1",
    ),
    q(
        "time differences",
        f"SELECT max(event_time) - min(event_time) AS span, "
        f"dateDiff('hour', min(event_time), max(event_time)) AS hours, "
        f"dateDiff('day', min(event_time), max(event_time)) AS days, "
        f"dateDiff('minute', min(event_time), max(event_time)) AS minutes FROM {T}",
    ),
    q(
        "datetime compared with strings",
        f"SELECT count() FROM {T} WHERE event_time >= '2024-09-10' "
        f"AND event_time < '2024-09-11 12:00:00'",
    ),
    q(
        "between and ISO strings",
        f"SELECT model_name, count() FROM {T} WHERE event_time BETWEEN "
        f"'2024-09-05T06:00:00' AND '2024-09-06 18:30:00' GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "now and today relative",
        f"SELECT countIf(event_time > now() - INTERVAL 100 YEAR) AS recent, "
        f"countIf(event_time > now()) AS future, countIf(toDate(event_time) <= today()) AS "
        f"past FROM {T}",
    ),
    q(
        "scalar WITH and subquery",
        f"WITH (SELECT max(event_time) FROM {T}) AS last SELECT count() AS c, "
        f"sum(total_tokens) FROM {T} WHERE event_time > last - INTERVAL 1 DAY",
    ),
    q(
        "WITH expression AS name",
        f"WITH 2 AS threshold, latency > threshold AS slow SELECT countIf(slow), "
        f"countIf(NOT slow), threshold FROM {T}",
    ),
    # Expressions.
    q(
        "arithmetic and division",
        f"SELECT model_name, sum(total_tokens) / count() AS tokens_per_request, "
        f"sum(cost) * 1000 / sum(total_tokens) AS cost_per_1k, "
        f"sum(prompt_tokens) - sum(completion_tokens) AS diff, "
        f"count() * 2 + 1 AS odd FROM {T} GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "signed arithmetic per row",
        f"SELECT min(prompt_tokens - completion_tokens), max(completion_tokens - prompt_tokens), "
        f"sum(total_tokens % 7), sum(-total_tokens), min(latency * 2 - 1) FROM {T}",
    ),
    q(
        "round floor ceil",
        f"SELECT round(latency, 1) AS r, floor(latency) AS f, ceil(latency) AS c, count() FROM "
        f"{T} WHERE latency < 3 GROUP BY r, f, c ORDER BY r, f, c",
    ),
    q(
        "round of integers and averages",
        f"SELECT model_name, round(avg(latency), 2) AS l, round(sum(total_tokens), -3) AS t, "
        f"floor(avg(total_tokens), -1) AS f FROM {T} GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "if and multiIf",
        f"SELECT if(success = 1, 'ok', 'error') AS status, multiIf(latency < 1, 'fast', "
        f"latency < 5, 'medium', 'slow') AS speed, count() FROM {T} GROUP BY status, speed "
        f"ORDER BY status, speed",
    ),
    q(
        "if with numbers and CASE",
        f"SELECT sum(if(success = 1, total_tokens, 0)) AS ok_tokens, "
        f"sum(CASE WHEN latency > 10 THEN 1 ELSE 0 END) AS slow, avg(if(latency > 1, latency, 1)) "
        f"FROM {T}",
    ),
    q(
        "coalesce",
        f"SELECT coalesce(NULL, model_name) AS m, coalesce(total_tokens, 0) AS t, count() FROM {T} "
        f"GROUP BY m, t ORDER BY m, t LIMIT 30",
    ),
    q(
        "comparisons and logic",
        f"SELECT countIf(latency >= 1 AND latency <= 2), countIf(latency < 1 OR latency > 20), "
        f"countIf(NOT (success = 1)), countIf(total_tokens != prompt_tokens), "
        f"countIf(cost <> 0), countIf(latency > 1 AND (success = 0 OR cost > 0.01)) FROM {T}",
    ),
    q(
        "IN and NOT IN",
        f"SELECT model_name, count() FROM {T} WHERE model_name IN ('gpt-4o', 'claude-3-haiku', "
        f"'nope') AND success NOT IN (0) GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "IN an array and numbers",
        f"SELECT count(), sum(total_tokens) FROM {T} WHERE model_name IN ['gpt-4o-mini', "
        f"'gemini-1.5-pro'] AND toHour(event_time) IN (1, 2, 3, 13)",
    ),
    q(
        "IN times",
        f"SELECT count() FROM {T} WHERE toStartOfDay(event_time) IN ('2024-09-03 00:00:00', "
        f"'2024-09-04 00:00:00') AND toDate(event_time) NOT IN ('2024-09-04')",
    ),
    q(
        "IN subquery",
        f"SELECT count() FROM {T} WHERE model_name IN (SELECT model_name FROM {T} "
        f"WHERE latency > 30)",
    ),
    q(
        "LIKE ILIKE",
        f"SELECT countIf(model_name LIKE 'gpt%'), countIf(model_name ILIKE 'GPT-4O%'), "
        f"countIf(model_name NOT LIKE '%mini%'), countIf(error_message LIKE '%rate%limit%'), "
        f"countIf(model_name LIKE 'gemini-1._-flash'), countIf(model_name NOT ILIKE '%CLAUDE%') "
        f"FROM {T}",
    ),
    q(
        "string functions",
        f"SELECT lower(model_name) AS lo, upper(model_name) AS up, length(model_name) AS len, "
        f"empty(error_message) AS e, notEmpty(error_message) AS ne, count() FROM {T} "
        f"GROUP BY lo, up, len, e, ne ORDER BY lo, e",
    ),
    q(
        "string comparison",
        f"SELECT count() FROM {T} WHERE model_name > 'claude' AND model_name <= 'gpt-4o' "
        f"AND error_message != ''",
    ),
    q(
        "error message lengths",
        f"SELECT length(error_message) AS l, count() FROM {T} GROUP BY l ORDER BY l",
    ),
    # Aliases (ClickHouse lets an alias be used anywhere in its query).
    q(
        "alias in WHERE",
        f"SELECT model_name, latency * 1000 AS ms FROM {T} WHERE ms > 60000 AND "
        f"model_name != '' ORDER BY ms DESC, model_name LIMIT 20",
    ),
    q(
        "alias used before definition",
        f"SELECT c * 2 AS double_count, count() AS c FROM {T}",
    ),
    q(
        "alias shadowing a column",
        f"SELECT model_name, sum(cost) AS cost, cost / count() AS avg_cost FROM {T} "
        f"GROUP BY model_name ORDER BY cost DESC, model_name",
    ),
    q(
        "alias of alias",
        f"SELECT toStartOfHour(event_time) AS h, toDate(h) AS d, count() AS n, n / 60 AS per_min "
        f"FROM {T} GROUP BY h ORDER BY h LIMIT 48",
    ),
    # Ordering and limits.
    q(
        "order by several keys",
        f"SELECT model_name, success, max(latency) AS m FROM {T} GROUP BY model_name, success "
        f"ORDER BY success DESC, m ASC, model_name",
    ),
    q(
        "order by position desc",
        f"SELECT model_name, count() FROM {T} GROUP BY model_name ORDER BY 2 DESC, 1",
    ),
    q(
        "limit offset",
        f"SELECT toStartOfHour(event_time) AS h, count() FROM {T} GROUP BY h ORDER BY h "
        f"LIMIT 5 OFFSET 10",
    ),
    q(
        "limit m, n",
        f"SELECT toStartOfDay(event_time) AS d, count() FROM {T} GROUP BY d ORDER BY d LIMIT 3, 4",
    ),
    q(
        "limit by",
        f"SELECT model_name, toDate(event_time) AS d, count() AS c FROM {T} "
        f"GROUP BY model_name, d ORDER BY model_name, c DESC, d LIMIT 2 BY model_name",
    ),
    q(
        "limit by then limit",
        f"SELECT model_name, error_message, count() AS c FROM {T} WHERE success = 0 "
        f"GROUP BY model_name, error_message ORDER BY model_name, c DESC, error_message "
        f"LIMIT 1 BY model_name LIMIT 5",
    ),
    q(
        "rows without aggregation",
        f"SELECT * FROM {T} WHERE model_name = 'gpt-4o' ORDER BY event_time, prompt_tokens, "
        f"completion_tokens, cost, latency, success, error_message LIMIT 15",
    ),
    q(
        "rows with expressions",
        f"SELECT event_time, model_name, total_tokens - prompt_tokens AS completion, "
        f"round(cost * 1000, 3) AS millicents FROM {T} WHERE latency > 25 "
        f"ORDER BY event_time DESC, model_name, completion, millicents LIMIT 25",
    ),
    q(
        "distinct",
        f"SELECT DISTINCT model_name, success FROM {T} ORDER BY model_name, success",
    ),
    # Named subqueries and FROM subqueries.
    q(
        "WITH table",
        f"WITH per_model AS (SELECT model_name, count() AS c, sum(cost) AS s FROM {T} "
        f"GROUP BY model_name) SELECT model_name, c, s / c AS avg_cost FROM per_model "
        f"WHERE c > 10 ORDER BY model_name",
    ),
    q(
        "FROM subquery",
        f"SELECT count() AS models, sum(c) AS total, max(c) FROM (SELECT model_name, count() AS c "
        f"FROM {T} GROUP BY model_name)",
    ),
    q(
        "nested aggregation over hours",
        f"SELECT avg(n) AS avg_per_hour, max(n) AS busiest FROM (SELECT toStartOfHour(event_time) "
        f"AS h, count() AS n FROM {T} GROUP BY h)",
    ),
    # Quantiles: exact ones everywhere; sampled ones on groups small enough to be exact.
    q(
        "quantileExact",
        f"SELECT model_name, quantileExact(0.5)(latency) AS p50, quantileExact(0.9)(total_tokens), "
        f"quantileExact(0)(cost), quantileExact(1)(latency), medianExact(prompt_tokens) "
        f"FROM {T} GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "quantilesExact",
        f"SELECT model_name, quantilesExact(0.1, 0.5, 0.99)(latency), "
        f"quantilesExact(0.25, 0.75)(event_time) FROM {T} GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "quantileExactInclusive",
        f"SELECT model_name, quantileExactInclusive(0.95)(latency), "
        f"quantileExactInclusive(0.5)(total_tokens), quantilesExactInclusive(0.01, 0.5, 0.999)(cost) "
        f"FROM {T} GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "quantileExact over everything",
        f"SELECT quantileExact(0.99)(latency), quantilesExactInclusive(0.5, 0.9)(latency), "
        f"quantileExactInclusive(0.25)(prompt_tokens) FROM {T}",
    ),
    q(
        "quantile and median on small groups",
        f"SELECT model_name, quantile(0.9)(latency), median(total_tokens), "
        f"quantiles(0.25, 0.5, 0.75)(cost) FROM {T} WHERE {WINDOW} GROUP BY model_name "
        f"ORDER BY model_name",
    ),
    q(
        "quantile per hour",
        f"SELECT toStartOfHour(event_time) AS h, quantile(0.5)(latency), median(cost) FROM {T} "
        f"GROUP BY h ORDER BY h LIMIT 100",
    ),
    q(
        "any argMin argMax",
        f"SELECT model_name, any(model_name) AS same, argMax(total_tokens, cost) AS biggest, "
        f"argMin(model_name, cost) AS m FROM {T} WHERE cost > 0 GROUP BY model_name "
        f"ORDER BY model_name",
    ),
    q(
        "aggregates of expressions",
        f"SELECT model_name, sum(latency * total_tokens) AS weighted, "
        f"avg(completion_tokens / total_tokens) AS ratio, max(toHour(event_time)) "
        f"FROM {T} WHERE total_tokens > 0 GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "group by time with filter skipping blocks",
        f"SELECT toStartOfHour(event_time) AS h, model_name, count(), sum(cost), avg(latency) "
        f"FROM {T} WHERE event_time >= '2024-09-20 00:00:00' AND event_time < '2024-09-22 "
        f"00:00:00' GROUP BY h, model_name ORDER BY h, model_name",
    ),
    q(
        "toString and conversions",
        f"SELECT toString(toDate(event_time)) AS s, toString(success) AS ok, "
        f"toUInt32(latency) AS secs, toInt64(total_tokens) - 1000 AS t, toFloat32(cost) AS c32, "
        f"count() FROM {T} WHERE {WINDOW} GROUP BY s, ok, secs, t, c32 ORDER BY s, ok, secs, t, c32",
    ),
    q(
        "abs and negate",
        f"SELECT abs(toInt32(prompt_tokens) - toInt32(completion_tokens)) AS a, count() "
        f"FROM {T} WHERE {WINDOW} GROUP BY a ORDER BY a LIMIT 20",
    ),
    # Cases the random-query differential found, one per class of wrong answer.
    q(
        "exact: negate wraps in its type's width",
        f"SELECT -(-128) AS a, -toInt16(-32768) AS b, -toInt32(-2147483648) AS c, "
        f"-toInt64(-9223372036854775808) AS d, -toInt8(5) AS e, -toUInt8(200) AS f, "
        f"min(-toInt8(-128 + toInt8(prompt_tokens % 2))) AS g, "
        f"max(-toInt8(-128 + toInt8(prompt_tokens % 2))) AS h FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: and/or/not of Bool are Bool",
        f"SELECT 1 AND 2 AND true AS a, NOT true AS b, NULL OR false AS c, (success > 0) AND true "
        f"AS d, true OR 0 OR NULL AS e, false AND NULL AS f, toString(d) AS g, NOT (success > 0) "
        f"AS h FROM {T} ORDER BY event_time, model_name LIMIT 3",
        tiers=("small",),
    ),
    q(
        "exact: Date runs to 2149-06-06 and wraps past it",
        f"SELECT toDate('2149-06-06') AS a, toDate('2120-01-01') AS b, toDate('2149-06-07') AS c, "
        f"toDate('2149-06-06') + 1 AS d, toDate('2149-06-06') + INTERVAL 1 DAY AS e, "
        f"toDateTime(toDate('2149-06-06')) AS f, toDate('2149-06-06') + INTERVAL 1 SECOND AS g, "
        f"toDate('2149-06-06') + INTERVAL 1 MONTH AS h, toStartOfMonth(toDate('2149-06-06')) AS i, "
        f"dateDiff('day', toDate('2149-06-06'), toDate('2024-01-01')) AS j, "
        f"max(toDate('2149-06-06')) AS k FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: scalar subqueries numbered as ClickHouse meets them",
        f"WITH (SELECT 5) AS w, u AS (SELECT * FROM {T}) SELECT (SELECT 1), w, "
        f"(SELECT (SELECT 3)), success IN (SELECT 1), (SELECT 2) FROM u WHERE w = 5 "
        f"ORDER BY event_time, model_name LIMIT 2",
        tiers=("small",),
    ),
    q(
        "exact: a FROM subquery counts before the select list",
        f"SELECT (SELECT 1) + x, (SELECT count() FROM {T}) FROM (SELECT (SELECT 4) AS x FROM {T}) "
        f"LIMIT 1",
        tiers=("small",),
    ),
    q(
        "exact: a subquery a literal condition rules out is numbered twice",
        f"SELECT if(false, (SELECT 1), 2), if(1, (SELECT 1), (SELECT 2)), CASE WHEN false THEN 1 "
        f"WHEN false THEN (SELECT 1) END, multiIf(success = 1, 1, false, (SELECT 1), 2) "
        f"FROM {T} ORDER BY event_time, model_name LIMIT 1",
        tiers=("small",),
    ),
    q(
        "exact: If and IF number a subquery in a dead branch once",
        f"SELECT If(0, (SELECT 1), 3), IF(false, (SELECT count() FROM {T}), 100), "
        f"if(0, (SELECT 2), 4) FROM {T} ORDER BY event_time, model_name LIMIT 1",
        tiers=("small",),
    ),
    q(
        "exact: arithmetic with a constant moves out of min and max",
        f"SELECT max(event_time + INTERVAL 12 MINUTE), min(event_time + INTERVAL 12 QUARTER), "
        f"max(toInt64(prompt_tokens) * -3), min(1 + total_tokens), "
        f"maxIf(event_time + INTERVAL 12 MINUTE, 1), min(latency / -2) FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: arithmetic with a constant expression moves out of min and max",
        f"SELECT max(event_time - toDateTime('2024-09-10 00:00:00')) AS a, "
        f"min(event_time - toDateTime('2024-09-10 00:00:00')), "
        f"max(event_time + INTERVAL length('ab') DAY), min(toInt8(prompt_tokens) * (1 - 2)), "
        f"max(toInt32(prompt_tokens) * toInt8('-3')) FROM {T} HAVING a < 100",
        tiers=("small",),
    ),
    q(
        "exact: a constant minus a column moves out of min and max, which swap",
        f"SELECT max(toInt64(-9223372036854775807) - toInt64(prompt_tokens)) AS a, "
        f"min(toInt64(9223372036854775807) - toInt64(prompt_tokens) * 2) AS b, "
        f"max(toDateTime('2024-09-10 00:00:00') - event_time) AS c, "
        f"min(toDateTime('2024-09-10 00:00:00') - event_time) AS d, max(1000 - latency) AS e FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: a constant minus a column out of min and max over no rows",
        f"SELECT max(toInt64(-9223372036854775807) - toInt64(prompt_tokens)) AS a, "
        f"min(toDateTime('2024-09-10 00:00:00') - event_time) AS b FROM {T} WHERE 0",
        tiers=("small",),
    ),
    q(
        "exact: min and max of arithmetic over no rows",
        f"SELECT max(prompt_tokens + 1), min(event_time - INTERVAL 1 DAY) FROM {T} WHERE 0",
        tiers=("small",),
    ),
    q(
        "exact: min and max of constant arithmetic stay whole",
        f"SELECT max(toDate('2024-09-10') + 5), min(toDateTime('2024-09-10 00:00:00') - 3), "
        f"max(1 + 2) FROM {T} WHERE 0",
        tiers=("small",),
    ),
    q(
        "exact: floats out of an integer type's range convert as on x86-64",
        f"SELECT max(toInt64(latency * 1e30)), max(toInt32(latency * 1e30)), "
        f"max(toUInt32(latency * 1e30)), max(toUInt64(latency * 1e30)), "
        f"sum(toUInt8(latency * 300.5)), sum(toUInt16(-latency)), sum(toInt8(latency * 1e10)), "
        f"max(toUInt64(latency * 2e19)) FROM {T} WHERE latency > 0.5 AND latency < 1000",
        tiers=("small",),
    ),
    q(
        "exact: rounding a Bool gives a Bool",
        f"SELECT floor(true, -1), round(true), ceil(true, -2), floor(false, 2), "
        f"round(success > 0) FROM {T} ORDER BY event_time, model_name LIMIT 2",
        tiers=("small",),
    ),
    q(
        "exact: a parenthesized negation of inf or nan is negate()",
        f"SELECT -(-nan), -nan, -(inf), -inf, - nan, -(-1), -(1) + 1 FROM {T} LIMIT 1",
        tiers=("small",),
    ),
    q(
        "exact: if, multiIf and coalesce of only NULLs are Nullable(Nothing)",
        f"SELECT if(success = 1, NULL, NULL), CASE WHEN success = 1 THEN NULL END, "
        f"if(success = 1, NULL, 0 < NULL), coalesce(NULL, NULL), ifNull(NULL, NULL) FROM {T} "
        f"ORDER BY event_time, model_name LIMIT 2",
        tiers=("small",),
    ),
    q(
        "exact: dateDiff in seconds reads a Date past 2106 as the last DateTime second",
        f"SELECT dateDiff('second', toDate('2149-06-06'), toDate('2024-10-01')), "
        f"dateDiff('second', toDate('2024-10-01'), toDate('2106-02-08')), "
        f"dateDiff('minute', toDate('2149-06-06'), toDate('2024-10-01')), "
        f"max(dateDiff('second', toDate(event_time), toDate('2120-01-01'))) FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: distinct counts of floats tell -0 from 0 and NaN signs apart",
        f"SELECT count(DISTINCT cost), uniqExact(cost), uniq(-cost), uniqExact(latency) FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: DISTINCT of floats by bits without a sort",
        f"SELECT count(), sum(c) FROM (SELECT DISTINCT cost AS c FROM {T} LIMIT 100000)",
        tiers=("small",),
    ),
    q(
        "exact: DISTINCT on sorted float keys by value",
        f"SELECT DISTINCT cost FROM {T} WHERE cost < 0.001 OR cost > 1e6 OR cost != cost "
        f"ORDER BY cost",
        tiers=("small",),
    ),
    q(
        "exact: LIMIT BY float keys by value only when sorted on all of them",
        f"SELECT (SELECT count() FROM (SELECT cost FROM {T} ORDER BY cost LIMIT 1 BY cost "
        f"LIMIT 100000)) AS sorted, (SELECT count() FROM (SELECT cost, latency FROM {T} "
        f"ORDER BY cost LIMIT 1 BY cost, latency LIMIT 100000)) AS partly",
        tiers=("small",),
    ),
    q(
        "exact: function names match GROUP BY keys and aggregates in any case",
        f"SELECT length(model_name) AS k, LENGTH(model_name), Avg(total_tokens), "
        f"avg(total_tokens), count() FROM {T} GROUP BY LENGTH(model_name), Round(total_tokens, -3) "
        f"ORDER BY length(model_name), round(total_tokens, -3) LIMIT 20",
        tiers=("small",),
    ),
    q(
        "exact: intDiv of unsigned and signed integers divides as signed",
        f"SELECT intDiv(completion_tokens, -3) AS k, intDiv(toUInt16(prompt_tokens), -7) AS m, "
        f"intDiv(toInt8(-100), toUInt8(success + 199)) AS s, intDiv(65535, -3) AS c, "
        f"intDiv(toInt8(-100), toUInt32(200)) AS w, count() FROM {T} "
        f"GROUP BY k, m, s, c, w ORDER BY k, m, s LIMIT 30",
        tiers=("small",),
    ),
    q(
        "exact: a signed number modulo a UInt64 above 2^63 is itself",
        f"SELECT toInt64(prompt_tokens) - 1000 AS a, a % 18446744073709551615 AS m, "
        f"a % toUInt64(9223372036854775808) AS h, toInt8(-1) % 18446744073709551615 AS c, "
        f"toInt16(-300) % toUInt64(18446744073709551615) AS d, count() FROM {T} "
        f"GROUP BY a, m, h, c, d ORDER BY a LIMIT 30",
        tiers=("small",),
    ),
    q(
        "exact: and/or of Nullable(Bool) are UInt8 unless a plain Bool takes part",
        f"SELECT (toNullable(success > 0) AND false) AND (prompt_tokens > 1) AS a, "
        f"toNullable(true) OR 0 AS b, (toNullable(success) AND false) AS c, "
        f"(toNullable(success > 0) OR (latency > 1)) AS d, toString(d) AS e, count() FROM {T} "
        f"GROUP BY a, b, c, d ORDER BY a, b, c, d",
        tiers=("small",),
    ),
    q(
        "exact: DISTINCT over every GROUP BY key keeps the -0 and 0 groups",
        f"SELECT count(), uniqExact(toString(r)) FROM (SELECT DISTINCT round(cost) AS r FROM {T} "
        f"GROUP BY r ORDER BY r LIMIT 100000) WHERE r = 0",
        tiers=("small",),
    ),
    q(
        "exact: a chain of constant aliases",
        "WITH 1 AS a0, a0 + a0 AS a1, a1 + a1 AS a2, a2 + a2 AS a3, a3 * a3 AS a4, "
        "-a4 AS a5 SELECT a5, a4 + 1, toString(a3) FROM llm_events LIMIT 1",
        tiers=("small",),
    ),
]

# Queries ClickHouse refuses, refused here too; next to each, the neighbouring query it answers.
QUERIES += [
    err("ch refuses: if of a UInt32 condition", f"SELECT if(prompt_tokens, 1, 2) FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "illegal type UInt32 of the condition of if"),
    err("ch refuses: if of an Int8 literal condition", f"SELECT if(-1, 1, 2) FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "illegal type Int8"),
    err("ch refuses: CASE of a UInt16 condition",
        f"SELECT CASE WHEN success = 1 THEN 'a' WHEN 1000 THEN 'b' END FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "illegal type UInt16 of the condition of multiIf"),
    err("ch refuses: an -If aggregate of a Float32 condition", f"SELECT countIf(cost) FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "illegal type Float32 of the condition of countIf"),
    err("ch refuses: an -If aggregate of a UInt16 constant condition",
        f"SELECT sumIf(prompt_tokens, 256) FROM {T}", "ILLEGAL_TYPE_OF_ARGUMENT",
        "illegal type UInt16"),
    q(
        "exact: UInt8, Bool, Nullable(UInt8) and NULL conditions",
        f"SELECT if(success, 1, 2) AS a, multiIf(toNullable(success), 'x', NULL, 'y', 'z') AS b, "
        f"if(prompt_tokens > 100 AND true, 1, 0) AS c, countIf(success) AS d, "
        f"sumIf(prompt_tokens, latency > 1) AS e, countIf(NULL) AS f, count() FROM {T} "
        f"GROUP BY a, b, c ORDER BY a, b, c",
        tiers=("small",),
    ),
    err("ch refuses: an Int32 remainder by the constant lowest Int8",
        f"SELECT (event_time - event_time) % -128 FROM {T}",
        "ILLEGAL_DIVISION", "division by the most negative number"),
    err("ch refuses: an Int64 remainder by the constant lowest Int16",
        f"SELECT toInt64(prompt_tokens) % toInt16(-32768) FROM {T} LIMIT 3",
        "ILLEGAL_DIVISION", "division by the most negative number"),
    err("ch refuses: a zero divisor in a coalesce argument after one that cannot be NULL",
        f"SELECT coalesce(prompt_tokens, reasoning_tokens % 0, 'x') FROM {T}",
        "ILLEGAL_DIVISION", "division by zero"),
    q(
        "coalesce arguments after one that cannot be NULL take no part in the type",
        f"SELECT coalesce(prompt_tokens, 'x') AS c, coalesce(NULL, success, [1]) AS d, count() "
        f"FROM {T} GROUP BY c, d ORDER BY c, d LIMIT 5",
    ),
    q(
        "IN an array written out of elements without a common type",
        f"SELECT countIf((event_time - toDateTime('2038-01-19 03:14:08')) IN "
        f"[-1, 18446744073709551615]), countIf(prompt_tokens IN [-1, 18446744073709551615, 100]), "
        f"countIf(prompt_tokens IN [1, 2.5, 100]) FROM {T}",
    ),
    err("ch refuses: a Date compared with a date-time string",
        f"SELECT count() FROM {T} WHERE toDate(event_time) <= '2024-09-01 00:00:00'",
        "TYPE_MISMATCH", "cannot convert string '2024-09-01 00:00:00' to type Date"),
    err("ch refuses: a Date in a list of date-time strings",
        f"SELECT count() FROM {T} WHERE toDate(event_time) IN ('2024-09-01', '2024-09-02 00:00:00')",
        "TYPE_MISMATCH", "to type Date"),
    q(
        "exact: a Date compared with a date string, a DateTime with a date",
        f"SELECT count(), countIf(toDate(event_time) = '2024-09-02'), "
        f"countIf(toDate(event_time) IN ('2024-09-01', '2024-09-03')), "
        f"countIf(event_time < '2024-09-03') FROM {T}",
        tiers=("small",),
    ),
    err("ch refuses: intDiv by a constant zero, with no row to divide",
        f"SELECT intDiv(prompt_tokens, 0) FROM {T} WHERE model_name = 'no such model'",
        "ILLEGAL_DIVISION", "division by zero"),
    err("ch refuses: modulo by a constant zero inside an aggregate over no rows",
        f"SELECT avg(total_tokens % 0) FROM {T} WHERE latency < -1",
        "ILLEGAL_DIVISION", "division by zero"),
    err("ch refuses: a zero divisor under a NULL dividend",
        f"SELECT sum(intDiv(if(success = 1, NULL, 7), cache_read_tokens)) FROM {T}",
        "ILLEGAL_DIVISION", "division by zero"),
    q(
        "exact: a zero divisor in a branch a constant rules out, or under a NULL divisor",
        f"SELECT if(0, intDiv(prompt_tokens, 0), 1) AS a, "
        f"sum(intDiv(7, if(cache_read_tokens = 0, NULL, cache_read_tokens))) AS b, count() "
        f"FROM {T} GROUP BY a",
        tiers=("small",),
    ),
    q(
        "exact: short-circuit: an if branch, a later multiIf condition and an and/or argument "
        "are computed only on the rows that read them",
        f"SELECT if(success = 0, 0, intDiv(prompt_tokens, success)) AS a, "
        f"multiIf(success = 0, -1, intDiv(7, success) = 7, toInt64(latency / success), -2) AS b, "
        f"countIf(success = 1 AND intDiv(1, success) = 1) AS c, "
        f"countIf(success = 0 OR intDiv(7, success) % 2 = 1) AS d, "
        f"countIf(success = 0 OR toInt8(prompt_tokens % 100 / success) > 0) AS e, count() "
        f"FROM {T} GROUP BY a, b ORDER BY a, b LIMIT 20",
        tiers=("small",),
    ),
    q(
        "exact: intDiv of floats: signed, of the dividend's width, truncated toward zero",
        f"SELECT intDiv(latency, 0.25) AS a, intDiv(latency, 3) AS b, intDiv(prompt_tokens, 2.5) AS c, "
        f"intDiv(toFloat64(latency), -7) AS d, intDiv(toInt8(-100), toFloat32(3)) AS e, "
        f"intDiv(toFloat32(16777217), 1) AS f, intDiv(toInt64(16777219), toFloat32(1)) AS g, "
        f"intDiv(-7.5, 2) AS h, intDiv(7, 2.5) AS i, intDiv(toUInt8(126), 1.) AS j, "
        f"intDiv(1.5, 0.1) AS l, toTypeName(intDiv(toNullable(cost), 2)) AS t, count() FROM {T} "
        f"WHERE latency BETWEEN 0 AND 1e6 AND cost BETWEEN 0 AND 1e6 "
        f"GROUP BY a, b, c, d, e, f, g, h, i, j, l, t ORDER BY a, b, c, d LIMIT 40",
        tiers=("small",),
    ),
    q(
        "exact: intDiv of floats by a constant zero with no row to divide",
        f"SELECT count(), sum(intDiv(cost, 0.)) FROM {T} WHERE model_name = 'no such model'",
        tiers=("small",),
    ),
    err("ch refuses: intDiv of a float by zero",
        f"SELECT intDiv(cost, 0.) FROM {T}",
        "ILLEGAL_DIVISION", "division by zero"),
    err("ch refuses: intDiv of NaN",
        f"SELECT intDiv(nan, 0) FROM {T}",
        "ILLEGAL_DIVISION", "infinite or too large floating point"),
    err("ch refuses: intDiv by an infinite float",
        f"SELECT intDiv(prompt_tokens, -inf) FROM {T}",
        "ILLEGAL_DIVISION", "infinite or too large floating point"),
    err("ch refuses: intDiv of floats with a quotient beyond the result type",
        f"SELECT intDiv(toUInt8(64), -0.5) FROM {T}",
        "ILLEGAL_DIVISION", "will produce infinite or too large number"),
    err("ch refuses: intDiv of floats with a quotient at the result type's maximum",
        f"SELECT intDiv(toUInt8(127), 1.) FROM {T}",
        "ILLEGAL_DIVISION", "will produce infinite or too large number"),
    err("ch refuses: intDiv of a Float64 by 1e-30",
        f"SELECT intDiv(1, 1e-30) FROM {T}",
        "ILLEGAL_DIVISION", "will produce infinite or too large number"),
    err("ch refuses: intDiv of the lowest Int32 by a float minus one",
        f"SELECT intDiv(toInt32(-2147483648), -1.) FROM {T}",
        "ILLEGAL_DIVISION", "minimal signed number by minus one"),
    q(
        "exact: lowerUTF8 and upperUTF8 map every letter (full case mapping, final sigma)",
        f"SELECT upperUTF8(model_name) AS u, lowerUTF8(upperUTF8(model_name)) AS l, "
        f"upperUTF8('straße ς σ İ ı ﬁ ǅ ǰ ŉ ΐ ᾳ') AS a, lowerUTF8('ΣΑΣ ΑΣ. Σ İ ẞ Ω K Å ǅ Ⱥ') AS b, "
        f"upperUTF8(concat(provider, ' ß ﬃ')) AS c, lowerUTF8(concat('ΟΔΟΣ ', provider)) AS d, "
        f"toTypeName(upperUTF8(provider)) AS t, count() FROM {T} GROUP BY u, l, a, b, c, d, t "
        f"ORDER BY u, c, d",
        tiers=("small",),
    ),
    err("ch refuses: upperUTF8 of a number",
        f"SELECT upperUTF8(prompt_tokens) FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "illegal type"),
    q(
        "exact: toStartOfWeek in every mode: odd modes start on Monday, even on Sunday",
        f"SELECT toStartOfWeek(event_time, 2) AS a, toStartOfWeek(toDate(event_time), 3) AS b, "
        f"toStartOfWeek(event_time, 4) AS c, toStartOfWeek(event_time, 5) AS d, "
        f"toStartOfWeek(event_time, 6) AS e, toStartOfWeek(event_time, 7) AS f, "
        f"toStartOfWeek(event_time, 8) AS g, toStartOfWeek(event_time, 9) AS h, "
        f"toStartOfWeek(event_time, 255) AS i, toStartOfWeek(toDate('1970-01-02'), 3) AS j, "
        f"toStartOfWeek(toDate('2149-06-06'), 9) AS k, count() FROM {T} "
        f"GROUP BY a, b, c, d, e, f, g, h, i, j, k ORDER BY a, b",
        tiers=("small",),
    ),
    q(
        "exact: age counts full units elapsed, in every unit and abbreviation",
        f"SELECT age('second', event_time, toDateTime('2024-10-01 12:00:00')) AS s, "
        f"age('minute', toDateTime('2024-09-01 10:30:45'), event_time) AS mi, "
        f"age('hour', event_time, toDateTime('2024-09-10 12:30:00')) AS h, "
        f"age('day', event_time, toDate('2024-10-01')) AS d, "
        f"age('week', toDate('2024-09-11'), event_time) AS w, "
        f"age('month', event_time, toDateTime('2024-12-31 00:00:00')) AS m, "
        f"age('quarter', toDate('2024-01-31'), event_time) AS q, "
        f"age('year', toDateTime('2023-09-05 10:00:00'), event_time) AS y, "
        f"age('ms', event_time, toDateTime('2024-09-15 00:00:00')) AS ms, "
        f"age('us', toDate('2024-01-01'), toDate(event_time)) AS us, "
        f"age('NS', toDate('2024-01-01'), toDate(event_time)) AS ns, "
        f"age('dd', event_time, toDate('2024-09-01'), 'UTC') AS dd, count() FROM {T} "
        f"GROUP BY s, mi, h, d, w, m, q, y, ms, us, ns, dd ORDER BY s, mi LIMIT 50",
        tiers=("small",),
    ),
    q(
        "exact: age at month ends, across years and Date range ends",
        f"SELECT age('month', toDate('2024-01-31'), toDate('2024-02-29')) AS a, "
        f"age('month', toDate('2024-02-29'), toDate('2024-01-31')) AS b, "
        f"age('year', toDateTime('2024-02-29 10:00:00'), toDateTime('2025-02-28 11:00:00')) AS c, "
        f"age('week', toDate('2024-09-18'), toDate('2024-09-11')) AS d, "
        f"age('quarter', toDate('2024-01-31'), toDate('2024-05-01')) AS e, "
        f"age('month', toDateTime('2024-01-31 10:00:00'), toDateTime('2024-03-31 09:00:00')) AS f, "
        f"age('second', toDate('2149-06-06'), toDate('1970-01-01')) AS g, "
        f"age('ms', toDate('1970-01-01'), toDate('2149-06-06')) AS h, "
        f"age('year', toDate('2024-03-01'), toDate('2023-03-02')) AS i, count() FROM {T}",
        tiers=("small",),
    ),
    q(
        "exact: age backward in weeks (the start's weekday against the end's) and of DateTime64",
        f"SELECT toDayOfWeek(event_time) AS w, age('week', event_time, event_time - INTERVAL 1 DAY) AS a, "
        f"age('week', event_time, event_time - INTERVAL 8 DAY) AS b, "
        f"age('week', event_time, toDate(event_time) - 15) AS c, "
        f"age('week', toDateTime('2024-09-16 10:00:00'), toDateTime('2024-09-09 11:00:00')) AS d, "
        f"age('second', toDateTime64('2024-01-01 00:00:00.500', 3), "
        f"toDateTime64('2024-01-01 00:00:01.200', 3)) AS e, "
        f"age('us', toDateTime64('2024-01-01 00:00:00.500', 3), toDateTime('2024-01-02 00:00:00')) AS f, "
        f"count() FROM {T} GROUP BY w, a, b, c, d, e, f ORDER BY w, a, b, c",
        tiers=("small",),
    ),
    err("ch refuses: age in an unknown unit",
        f"SELECT age('fortnight', event_time, event_time) FROM {T}",
        "BAD_ARGUMENTS", "does not support 'fortnight' unit"),
    err("ch refuses: an intDiv by a column, on the rows of a branch that take it",
        f"SELECT if(success = 1, 1, intDiv(1, success)) FROM {T}",
        "ILLEGAL_DIVISION", "division by zero"),
    err("ch refuses: an intDiv by a constant zero in a branch no row takes (computed on all)",
        f"SELECT if(success = 7, intDiv(prompt_tokens, 0), 1) FROM {T}",
        "ILLEGAL_DIVISION", "division by zero"),
    q(
        "exact: a narrow integer, or one signed unlike the divisor, by a constant zero with no "
        "row to divide",
        f"SELECT count(), max(intDiv(success, 0)), max(toInt32(prompt_tokens) % 0), "
        f"max(intDiv(prompt_tokens, toInt8(0))) FROM {T} WHERE model_name = 'no such model'",
        tiers=("small",),
    ),
    q(
        "exact: a column of a subquery or WITH table that nothing reads is not computed",
        f"WITH s AS (SELECT success AS k, intDiv(1, success) AS d FROM {T}) "
        f"SELECT (SELECT count() FROM s) AS a, count() AS b, sum(k) AS c FROM "
        f"(SELECT success AS k, intDiv(1, success) AS d, toInt64(latency / success) AS e, "
        f"intDiv(prompt_tokens, 0) AS z FROM {T})",
        tiers=("small",),
    ),
    q(
        "exact: an aggregate of a grouped subquery that nothing reads is not computed",
        f"SELECT k FROM (SELECT success AS k, sum(intDiv(1, success)) AS s, "
        f"toInt64(avg(latency / success)) AS v FROM {T} GROUP BY k) ORDER BY k",
        tiers=("small",),
    ),
    err("ch refuses: a subquery column that nothing reads is still type-checked",
        f"SELECT 1 FROM (SELECT if(total_tokens, 1, 2) AS c1, success FROM {T}) LIMIT 1",
        "ILLEGAL_TYPE_OF_ARGUMENT", "illegal type UInt32 of the condition"),
    err("ch refuses: a subquery column that is read raises",
        f"SELECT max(d) FROM (SELECT success, intDiv(1, success) AS d FROM {T})",
        "ILLEGAL_DIVISION", "division by zero"),
    err("ch refuses: NaN or an infinity converted to an integer",
        f"SELECT toInt64(cost) FROM {T}", "CANNOT_CONVERT_TYPE", "cannot convert inf or nan"),
    err("ch refuses: a NaN constant converted to an integer, with no rows",
        f"SELECT toUInt32(nan) FROM {T} WHERE latency < -1", "CANNOT_CONVERT_TYPE",
        "cannot convert inf or nan"),
    q(
        "exact: finite floats converted to integers",
        f"SELECT toInt64(cost * 1000) AS a, toUInt16(latency) AS b, count() FROM {T} "
        f"WHERE cost > -1e300 AND cost < 1e300 AND latency < 1e300 GROUP BY a, b "
        f"ORDER BY a, b LIMIT 20",
        tiers=("small",),
    ),
    err("ch refuses: an arraySlice length of the least Int64",
        f"SELECT arraySlice([1, 2, 3], 2, -9223372036854775808) FROM {T}",
        "ARGUMENT_OUT_OF_BOUND", "overflow in length argument"),
    err("ch refuses: an aggregate inside a lambda reading the lambda's parameter",
        f"SELECT arrayMap(x -> sum(x), [1, 2]) FROM {T}",
        "NOT_FOUND_COLUMN_IN_BLOCK", "reads the lambda's parameter x"),
    err("ch refuses: OFFSET after LIMIT BY without a LIMIT",
        f"SELECT model_name FROM {T} ORDER BY model_name LIMIT 1 BY model_name OFFSET 1",
        "SYNTAX_ERROR", "OFFSET"),
    q(
        "exact: OFFSET alone",
        f"SELECT count(), max(m) FROM (SELECT model_name AS m FROM {T} ORDER BY m OFFSET 5)",
        tiers=("small",),
    ),
    q(
        "exact: OFFSET with LIMIT after LIMIT BY",
        f"SELECT model_name AS m FROM {T} ORDER BY m LIMIT 1 BY m LIMIT 3 OFFSET 1",
        tiers=("small",),
    ),
    q(
        "exact: concat and || of Nullable and LowCardinality strings are NULL where an argument is",
        f"SELECT concat(provider, if(success = 1, '+', NULL)) AS a, "
        f"model_name || CASE WHEN latency > 1 THEN error_message END AS b, count() FROM {T} "
        f"GROUP BY a, b ORDER BY a, b LIMIT 30",
        tiers=("small",),
    ),
    q(
        "exact: an integer conversion skips the NaN under a NULL average",
        f"SELECT toInt64(avgIf(CASE WHEN cost > 0 THEN latency END, success = 7)) AS a, "
        f"toUInt32(avg(if(success = 1, latency, NULL))) AS b, count() FROM {T} "
        f"WHERE latency < 1e300 GROUP BY success ORDER BY success",
        tiers=("small",),
    ),
    err("ch refuses: sum of a Variant (if of Float64 and UInt64 branches)",
        f"SELECT sum(if(success = 1, cost, toUInt64(prompt_tokens))) FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "not supported: Variant"),
]

# JSON functions of strings. The documents are built from the columns (so that malformed ones
# come from the edge cases' odd strings) or are literals probing one rule each.
JDOC = (
    "concat('{\"m\":\"', model_name, '\",\"p\":', toString(prompt_tokens), ',\"l\":', "
    "toString(latency), ',\"e\":\"', error_message, '\",\"a\":[', toString(success), "
    "',{\"c\":', toString(cost), '}],\"n\":null}')"
)
QUERIES += [
    q(
        "json: extracts of documents built from the columns",
        f"SELECT JSONExtractString(d, 'm') AS m, JSONExtractString(d, 'e') AS e, "
        f"sum(JSONExtractUInt(d, 'p')) AS p, sum(JSONExtractInt(d, 'a', 1)) AS s, "
        f"round(sum(JSONExtractFloat(d, 'a', -1, 'c')), 3) AS c, "
        f"max(JSONExtractFloat(d, 'l')) AS l, min(JSONLength(d)) AS len, "
        f"min(JSONHas(d, 'n')) AS has, max(JSONExtractRaw(d, 'a')) AS raw, "
        f"max(JSONExtractBool(d, 'a', 1)) AS b, count() "
        f"FROM (SELECT {JDOC} AS d FROM {T}) GROUP BY m, e ORDER BY m, e LIMIT 40",
        tiers=("small",),
    ),
    q(
        "json: keys, array raw, typed extracts and visitParam over the columns",
        f"SELECT JSONExtractKeys(d) AS k, JSONExtractArrayRaw(d, 'a') AS r, "
        f"JSONExtract(d, 'a', 'Array(Nullable(Int64))') AS t, "
        f"JSONExtract(d, 'p', 'Nullable(UInt16)') AS p16, JSONExtract(d, 'm', 'String') AS ms, "
        f"visitParamExtractString(d, 'm') AS vm, visitParamExtractUInt(d, 'p') AS vp, "
        f"simpleJSONExtractRaw(d, 'a') AS va, visitParamHas(d, 'e') AS vh "
        f"FROM (SELECT {JDOC} AS d, request_id FROM {T}) ORDER BY request_id, d LIMIT 40",
        tiers=("small",),
    ),
    q(
        "json: JSONExtractString of a Nullable and a LowCardinality column",
        f"SELECT JSONExtractString(if(success = 1, concat('{{\"x\":\"', model_name, '\"}}'), "
        f"NULL), 'x') AS a, JSONExtractRaw(provider) AS b, JSONHas(source_format, 1) AS c, "
        f"visitParamExtractRaw(provider, 'x') AS d, count() FROM {T} "
        f"GROUP BY a, b, c, d ORDER BY a, b, c, d",
        tiers=("small",),
    ),
    q(
        "json: strings, escapes and malformed documents",
        r"""SELECT JSONExtractString('{"a":"x\u00e9\ud83d\ude00"}', 'a') AS s1,
        JSONExtractString('{"a":"\\ud800"}', 'a') AS s2, JSONExtractString('{"a":"\\x"}', 'a') AS s3,
        JSONExtractString('{"a":"tab\\there"}', 'a') AS s4, JSONExtractString(' {"a":"x"} ', 'a') AS s5,
        JSONExtractString('{"a":"x"} x', 'a') AS s6, JSONExtractString('', 'a') AS s7,
        JSONExtractString('{"a":"x"}') AS s8, JSONExtractString('"top"') AS s9,
        JSONExtractString('{"a":"x",}', 'a') AS s10, JSONExtractString('{"a":01}', 'a') AS s11,
        JSONExtractString('{"a":1.}', 'a') AS s12, JSONExtractString('{"a":NaN}', 'a') AS s13,
        JSONExtractString('{"a":"x","a":"y"}', 'a') AS s14, JSONExtractString('{"\\u0061":"e"}', 'a') AS s15,
        JSONExtractString('{"a\\"b":"q"}', 'a"b') AS s16, JSONExtractString('{"a":1.50}', 'a') AS s17,
        JSONExtractString('{"a":[1, 2]}', 'a') AS s18, JSONExtractString('{"a":null}', 'a') AS s19,
        JSONExtractString('{"a":true}', 'a') AS s20, JSONExtractString('{"a":12345678901234567890123}', 'a') AS s21,
        JSONExtractString('{"a":tru}', 'a') AS s22, JSONExtractString('[1,]', 1) AS s23,
        JSONExtractString('{"a":"\\u0000z"}', 'a') AS s24""",
    ),
    q(
        "json: numbers in range and out, from numbers, strings and booleans",
        r"""SELECT JSONExtractInt('{"a":1.9}', 'a') AS i1, JSONExtractInt('{"a":"12"}', 'a') AS i2,
        JSONExtractInt('{"a":-1e3}', 'a') AS i3, JSONExtractInt('{"a":9223372036854775808}', 'a') AS i4,
        JSONExtractInt('{"a":true}', 'a') AS i5, JSONExtractInt('{"a":"1.5"}', 'a') AS i6,
        JSONExtractInt('{"a":" 12"}', 'a') AS i7, JSONExtractInt('{"a":"+5"}', 'a') AS i8,
        JSONExtractInt('{"a":"1e2"}', 'a') AS i9, JSONExtractInt('{"a":"1x"}', 'a') AS i10,
        JSONExtractInt('{"a":1e19}', 'a') AS i11, JSONExtractInt('{"a":-9223372036854775809}', 'a') AS i12,
        JSONExtractInt('{"a":"9223372036854775808"}', 'a') AS i13, JSONExtractInt('{"a":-1.9}', 'a') AS i14,
        JSONExtractUInt('{"a":-1}', 'a') AS u1, JSONExtractUInt('{"a":18446744073709551615}', 'a') AS u2,
        JSONExtractUInt('{"a":18446744073709551616}', 'a') AS u3, JSONExtractUInt('{"a":1.9}', 'a') AS u4,
        JSONExtractUInt('{"a":"5"}', 'a') AS u5, JSONExtractUInt('{"a":"-1"}', 'a') AS u6,
        JSONExtractUInt('{"a":1.8446744073709552e19}', 'a') AS u7,
        JSONExtractFloat('{"a":"1.5"}', 'a') AS f1, JSONExtractFloat('{"a":1e400}', 'a') AS f2,
        JSONExtractFloat('{"a":18446744073709551615}', 'a') AS f3, JSONExtractFloat('{"a":true}', 'a') AS f4,
        JSONExtractFloat('{"a":"1e3"}', 'a') AS f5, JSONExtractFloat('{"a":"x"}', 'a') AS f6,
        JSONExtractFloat('{"a":".5"}', 'a') AS f7, JSONExtractFloat('{"a":-12345678901234567890123}', 'a') AS f8,
        JSONExtractBool('{"a":1}', 'a') AS b1, JSONExtractBool('{"a":"true"}', 'a') AS b2,
        JSONExtractBool('{"a":true}', 'a') AS b3, JSONExtractBool('{"a":1.5}', 'a') AS b4,
        JSONExtractBool('{"a":-1}', 'a') AS b5, JSONExtractBool('{"a":0}', 'a') AS b6""",
    ),
    q(
        "json: raw text, paths, lengths, keys and typed extracts",
        r"""SELECT JSONExtractRaw('{"a": [1, 2.50, {"b" : "\\u0041"}], "c": 1.0e2}', 'a') AS r1,
        JSONExtractRaw('{"c": 1.0e2}', 'c') AS r2, JSONExtractRaw('{"c": -0}', 'c') AS r3,
        JSONExtractRaw('{"c": "x\\/y"}', 'c') AS r4, JSONExtractRaw('[1,2,3]', -1) AS r5,
        JSONExtractRaw('[1,2,3]', 0) AS r6, JSONExtractRaw('{"a":1,"b":2}', 2) AS r7,
        JSONExtractRaw('{"a":1,"b":2}', -2) AS r8, JSONExtractRaw('{"a":1.5e300}', 'a') AS r9,
        JSONExtractRaw('{"a":123456789012345678901}', 'a') AS r10, JSONExtractRaw('{"a":1e21}', 'a') AS r11,
        JSONExtractRaw('{"a":1e20}', 'a') AS r12, JSONExtractRaw('{"a":-0.0}', 'a') AS r13,
        JSONExtractRaw('{"a":"\\u00e9\\n\\u0001\\u001f\\"\\\\\\/\\b\\f\\r\\t\\u2028"}', 'a') AS r14,
        JSONExtractRaw(' { "a" : 1 } ') AS r15, JSONExtractRaw('{"a":true, "b":null, "c":{}, "d":[]}') AS r16,
        JSONHas('{"a":{"b":[1,2]}}', 'a', 'b', 2) AS h1, JSONHas('{"a":{"b":[1,2]}}', 'a', 'b', 3) AS h2,
        JSONHas('[1]', 0) AS h3, JSONHas('bad') AS h4, JSONLength('{"a":{"b":[1,2]}}', 'a', 'b') AS l1,
        JSONLength('"abc"') AS l2, JSONLength('{"a":1,"a":2}') AS l3,
        JSONExtractKeys('{"a":1,"a":2,"\\u0062":3}') AS k1, JSONExtractKeys('[1]') AS k2,
        JSONExtractArrayRaw('[1e2, -0, "\\u0041", {"x" : 1}, [ ]]') AS a1, JSONExtractArrayRaw('{"a":1}') AS a2,
        JSONExtractInt('[1,[2,3]]', 2, -1) AS p1, JSONExtractInt('[1,2]', 9223372036854775807) AS p2,
        JSONExtractInt('[1,2,3]', 4294967298) AS p4, JSONExtractInt('[1,2,3]', 2147483648) AS p5,
        JSONExtractInt('[1,2,3]', toUInt8(255)) AS p6,
        JSONExtractString('{"a":{"b":{"c":"deep"}}}', 'a', 'b', 'c') AS p3,
        JSONExtract('{"a":[1,"x",null,2.5,true]}', 'a', 'Array(Int64)') AS t1,
        JSONExtract('[1,"x",null,2.5,true]', 'Array(Nullable(Int64))') AS t2,
        JSONExtract('{"a":null}', 'a', 'Nullable(Int64)') AS t3, JSONExtract('{"a":300}', 'a', 'UInt8') AS t4,
        JSONExtract('{"a":true}', 'a', 'Int64') AS t5, JSONExtract('{"a":2.5}', 'a', 'Bool') AS t6,
        JSONExtract('{"a":"7"}', 'a', 'UInt16') AS t7, JSONExtract('{"a":[1]}', 'a', 'Nullable(String)') AS t8,
        JSONExtract('[[1,2],[3]]', 'Array(Array(Int64))') AS t9, JSONExtract('{"a":-129}', 'a', 'Int8') AS t10,
        JSONExtract('{"a":1.5}', 'a', 'Float32') AS t11, JSONExtract('bad', 'Array(String)') AS t12""",
    ),
    q(
        "json: simpleJSON and visitParam read the text after the first key",
        r"""SELECT visitParamExtractString('{"a":"x\\ty","b":{"a":"inner"}}', 'a') AS v1,
        visitParamExtractString('{"b":{"a":"inner"},"a":"outer"}', 'a') AS v2,
        visitParamExtractInt('{"a":-12.7}', 'a') AS v3, visitParamExtractUInt('{"a":-12}', 'a') AS v4,
        visitParamExtractFloat('{"a":"3"}', 'a') AS v5, visitParamExtractFloat('{"a":1.5e2x}', 'a') AS v6,
        visitParamExtractBool('{"a":true}', 'a') AS v7, visitParamExtractBool('{"a":1}', 'a') AS v8,
        visitParamExtractRaw('{"a": [1, {"b":"]"}] ,"c":1}', 'a') AS v9, visitParamHas('{"a" :1}', 'a') AS v10,
        simpleJSONExtractInt('{"a":"12"}', 'a') AS s1, simpleJSONExtractInt('{"a":12abc}', 'a') AS s2,
        simpleJSONExtractUInt('{"a":1e3}', 'a') AS s3, simpleJSONExtractInt('{"a":99999999999999999999}', 'a') AS s4,
        simpleJSONExtractFloat('{"a":-1.5e1,}', 'a') AS s5, simpleJSONExtractRaw('{"a":"str\\"ing"}', 'a') AS s6,
        simpleJSONExtractRaw('{"a":  12 ,"b":1}', 'a') AS s7, simpleJSONExtractRaw('{"a":tr', 'a') AS s8,
        simpleJSONExtractString('{"a":12}', 'a') AS s9, simpleJSONExtractString('{"a":"\\ud83d\\ude00"}', 'a') AS s10,
        simpleJSONExtractString('{"a":"x\\qy"}', 'a') AS s11, simpleJSONExtractRaw('{"a":[1,"]",2]}', 'a') AS s12,
        simpleJSONHas('a "a":', 'a') AS s13, simpleJSONExtractFloat('{"b":1}', 'a') AS s14""",
    ),
    q(
        "json: nesting up to simdjson's 1024 levels, and beyond",
        "SELECT JSONHas('" + "[" * 1024 + "]" * 1024 + "', 1) AS a, "
        "JSONHas('" + "[" * 1025 + "]" * 1025 + "', 1) AS b, "
        "JSONLength('" + '{"a":' * 5000 + "1" + "}" * 5000 + "') AS c, "
        "length(JSONExtractRaw('" + "[" * 1024 + "]" * 1024 + "')) AS d, "
        "JSONExtractRaw('" + "[" * 1024 + "]" * 1024 + "', " + ", ".join(["1"] * 1022) + ") AS e",
    ),
    err("ch refuses: JSONExtractString with a float path argument",
        "SELECT JSONExtractString('{\"a\":\"x\"}', 'a', 1.5)",
        "ILLEGAL_TYPE_OF_ARGUMENT", "should be a string specifying key"),
]

# Elements of tuples written out (tuple values themselves are outside the subset).
QUERIES += [
    q(
        "tuple: elements of tuple literals and aliases",
        "WITH (1, 'a') AS t SELECT t.2, t.1 + 1, tupleElement((1, 'a', 2.5), 2), (1, 'a').1, "
        "tuple(1, 'x').2, tupleElement((1, 2), -1), tupleElement((1, 2), 3, 'dflt'), "
        "((1, 2), 3).1.2 AS nested, tuple(1, tuple(2, 3)).2.1",
    ),
    q(
        "tuple: elements of tuples of columns",
        f"SELECT (model_name, prompt_tokens).2 AS p, tuple(model_name, provider).1 AS m, "
        f"count() FROM {T} GROUP BY p, m ORDER BY p, m LIMIT 20",
    ),
    err("ch refuses: a tuple element out of range", "SELECT (1, 2).3",
        "ARGUMENT_OUT_OF_BOUND", "doesn't have element with index '3'"),
]

# Regular expressions (RE2 syntax): match, extract, extractAll, replaceRegexpOne/All.
QUERIES += [
    q(
        "regexp: match, extract and replaceRegexp over the columns",
        rf"""SELECT match(model_name, '^gpt-4') AS a, match(model_name, '(?i)CLAUDE|llama') AS b,
        match(error_message, '\\d{{3}}') AS c, match(model_name, '') AS d,
        extract(model_name, '-(\\w+)') AS e, extract(error_message, '[a-z]+') AS f,
        replaceRegexpOne(model_name, '([a-z]+)-(.*)', '\\2/\\1') AS g,
        replaceRegexpAll(model_name, '[aeiou]', '_') AS h, arrayStringConcat(extractAll(model_name, '\\d+'), ',') AS i,
        match(provider, 'a') AS j, extract(provider, '^.') AS k, count() FROM {T}
        GROUP BY a, b, c, d, e, f, g, h, i, j, k ORDER BY e, f, g, h, j, k, c LIMIT 60""",
        tiers=("small",),
    ),
    q(
        "regexp: a Nullable text",
        f"SELECT match(if(success = 1, model_name, NULL), 'o') AS a, "
        f"replaceRegexpAll(if(success = 1, model_name, NULL), 'o', 'O') AS b, count() FROM {T} "
        f"GROUP BY a, b ORDER BY a, b",
        tiers=("small",),
    ),
    q(
        "regexp: literals probing one rule each",
        r"""SELECT match('a\nb', 'a.b') AS m1, match('x\ny', '^y') AS m2, match('é', '^\\w$') AS m3,
        match('ABC', '(?i)abc') AS m4, match('٣', '\\d') AS m5, match('abc', '') AS m6,
        match('a b', 'a\\sb') AS m7, match('ab', '\\bb') AS m8, match('x', '[\\d\\s]') AS m9,
        extract('abc123', '\\d+') AS e1, extract('abc123', '([a-z])(\\d)') AS e2,
        extract('abc', '(x)?b') AS e3, extract('abc', 'z') AS e4, extract('héllo', 'h.l') AS e5,
        replaceRegexpOne('abc abc', '(b)(c)', '[\\2\\1\\0\\\\]') AS r1,
        replaceRegexpAll('abc', '', '-') AS r2, replaceRegexpAll('abc', '^', '-') AS r3,
        replaceRegexpAll('aaa', 'a*', '-') AS r4, replaceRegexpAll('héllo', '.', 'x') AS r5,
        replaceRegexpAll('abc', 'b*', '-') AS r6, replaceRegexpAll('abab', 'b|', '-') AS r7,
        replaceRegexpOne('abc', 'b', 'x\\ny\\') AS r8, extractAll('a1b22c333', '\\d+') AS x1,
        extractAll('a1b22', '([a-z])\\d') AS x2, extractAll('abc', 'b*') AS x3,
        extractAll('aXbX', '(X)|b') AS x4, replaceRegexpOne('abc', '', '-') AS r9""",
    ),
    err("ch refuses: regexp: a pattern that does not compile", "SELECT match('a', '(')",
        "CANNOT_COMPILE_REGEXP", "cannot compile re2: (, error:"),
    err("ch refuses: regexp: a replacement naming a group the pattern lacks",
        r"SELECT replaceRegexpAll('abc', '(b)', '\\2')",
        "BAD_ARGUMENTS", "Substitution '\\2' in replacement argument is invalid, regexp has only 1"),
]

# Window functions (OVER): ranking, offsets, aggregates over ROWS and RANGE frames, over groups
# and over rows, with ties among peers, NULLs and no rows. Where a function depends on the order
# of peers (row_number, ROWS frames, lagInFrame, first_value), the window's ORDER BY is unique.
RK = "event_time, model_name, request_id, prompt_tokens, completion_tokens, latency"
QUERIES += [
    q(
        "window: a running total over groups, the default frame with ties",
        f"SELECT success, count() AS c, sum(c) OVER (ORDER BY c DESC) AS running_total, "
        f"sum(count()) OVER (ORDER BY success), count() OVER (), sum(c) OVER (PARTITION BY c > 10) "
        f"FROM {T} GROUP BY success ORDER BY success",
    ),
    q(
        "window: ranking functions per partition, ties in ORDER BY",
        f"SELECT provider, model_name, success, count() AS c, "
        f"row_number() OVER (PARTITION BY provider ORDER BY c DESC, model_name, success) AS rn, "
        f"rank() OVER (PARTITION BY provider ORDER BY success) AS rk, "
        f"dense_rank() OVER (PARTITION BY provider ORDER BY success DESC) AS dr, "
        f"percent_rank() OVER (PARTITION BY provider ORDER BY success) AS pr, "
        f"cume_dist() OVER (PARTITION BY provider ORDER BY success) AS cd, "
        f"rank() OVER (ORDER BY provider), ROW_NUMBER() OVER (ORDER BY provider, model_name, success) "
        f"FROM {T} GROUP BY provider, model_name, success ORDER BY provider, model_name, success",
    ),
    q(
        "window: ROW_NUMBER inside CASE WHEN, and in ORDER BY",
        f"SELECT model_name, success, count() AS hits, CASE WHEN ROW_NUMBER() OVER "
        f"(PARTITION BY success ORDER BY hits DESC, model_name) <= 3 THEN 'top' ELSE 'other' END "
        f"AS tier FROM {T} GROUP BY model_name, success "
        f"ORDER BY row_number() OVER (ORDER BY success, model_name) DESC LIMIT 12",
    ),
    q(
        "window: ROWS frames over hours",
        f"SELECT toStartOfHour(event_time) AS h, count() AS n, "
        f"sum(n) OVER (ORDER BY h ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS a, "
        f"avg(n) OVER (ORDER BY h ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS b, "
        f"min(n) OVER (ORDER BY h ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS c, "
        f"max(n) OVER (ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS d, "
        f"count() OVER (ORDER BY h ROWS BETWEEN 3 PRECEDING AND 2 PRECEDING) AS e, "
        f"any(n) OVER (ORDER BY h ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS g, "
        f"sum(n) OVER (ORDER BY h ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING) AS k, "
        f"sum(n) OVER (ORDER BY h DESC ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS m, "
        f"avg(n) OVER (ORDER BY h ROWS BETWEEN 5 PRECEDING AND UNBOUNDED FOLLOWING) AS o, "
        f"sum(n) OVER (ORDER BY h ROWS UNBOUNDED PRECEDING), "
        f"sum(toFloat64(n)) OVER (ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) "
        f"FROM {T} GROUP BY h ORDER BY h",
    ),
    q(
        "window: RANGE frames, peers included",
        f"SELECT model_name, success, count() AS c, "
        f"sum(c) OVER (ORDER BY success RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS a, "
        f"sum(c) OVER (ORDER BY success RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS b, "
        f"count() OVER (ORDER BY success RANGE CURRENT ROW) AS d, "
        f"max(c) OVER (PARTITION BY model_name ORDER BY success RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS e, "
        f"sum(c) OVER (ORDER BY success DESC RANGE UNBOUNDED PRECEDING) "
        f"FROM {T} GROUP BY model_name, success ORDER BY model_name, success",
    ),
    q(
        "window: lagInFrame, leadInFrame, lag, lead, first, last and nth values",
        f"SELECT toStartOfHour(event_time) AS h, count() AS n, lagInFrame(n) OVER (ORDER BY h) AS prev, "
        f"n - prev AS delta, if(prev = 0, NULL, round((n - prev) / prev, 6)) AS rate, "
        f"leadInFrame(n) OVER (ORDER BY h) AS lead_default_frame, "
        f"leadInFrame(n, 2) OVER (ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l2, "
        f"lagInFrame(n, 2, 99) OVER (ORDER BY h) AS g2, lagInFrame(n, 0) OVER (ORDER BY h) AS g0, "
        f"leadInFrame(toNullable(n), 1, NULL) OVER (ORDER BY h ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS ln, "
        f"lagInFrame(n, 1, n + 1000) OVER (ORDER BY h) AS gd, "
        f"lag(n) OVER (ORDER BY h) AS lg, lead(n, 2) OVER (ORDER BY h) AS ld, "
        f"first_value(n) OVER (ORDER BY h ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS fv, "
        f"last_value(n) OVER (ORDER BY h ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING) AS lv, "
        f"nth_value(n, 2) OVER (ORDER BY h) AS nv, nth_value(toNullable(n), 3) OVER (ORDER BY h) AS nn, "
        f"any(n) OVER (ORDER BY h ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS a1 "
        f"FROM {T} GROUP BY h ORDER BY h",
    ),
    q(
        "window: NULL values, NULL keys and NULLS FIRST",
        f"SELECT model_name, success, count() AS c, if(success = 1, c, NULL) AS v, "
        f"sum(v) OVER (PARTITION BY model_name) AS s, count(v) OVER (PARTITION BY model_name) AS cn, "
        f"avg(v) OVER (PARTITION BY model_name) AS av, min(v) OVER (PARTITION BY model_name) AS mn, "
        f"first_value(v) OVER (PARTITION BY model_name ORDER BY success) AS fv, "
        f"last_value(v) OVER (PARTITION BY model_name ORDER BY success ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS lv, "
        f"lagInFrame(v) OVER (PARTITION BY model_name ORDER BY success) AS lg, "
        f"rank() OVER (ORDER BY v NULLS FIRST) AS r1, rank() OVER (ORDER BY v DESC) AS r2, "
        f"dense_rank() OVER (ORDER BY v) AS r3, count() OVER (PARTITION BY v) AS pc, "
        f"sum(c) OVER (PARTITION BY v ORDER BY model_name, success ROWS 1 PRECEDING) AS ps "
        f"FROM {T} GROUP BY model_name, success ORDER BY model_name, success",
    ),
    q(
        "window: no rows",
        f"SELECT count(), sum(a), max(b), sum(c), toTypeName(any(b)) FROM (SELECT count() OVER () AS a, "
        f"row_number() OVER (ORDER BY prompt_tokens) AS b, "
        f"sum(prompt_tokens) OVER (ORDER BY latency ROWS 2 PRECEDING) AS c FROM {T} "
        f"WHERE model_name = 'none')",
    ),
    q(
        "window: no rows after grouping, HAVING before the window",
        f"SELECT count(), sum(r) FROM (SELECT model_name, count() AS c, "
        f"sum(c) OVER (ORDER BY model_name) AS r FROM {T} GROUP BY model_name HAVING c > 1000000)",
    ),
    q(
        "window: HAVING runs before the window",
        f"SELECT model_name, count() AS c, sum(c) OVER (ORDER BY model_name) AS r, "
        f"row_number() OVER (ORDER BY c DESC, model_name) AS rn FROM {T} "
        f"GROUP BY model_name HAVING c > 100 ORDER BY model_name LIMIT 5",
    ),
    q(
        "window: over rows, per model",
        f"SELECT model_name, event_time, request_id, prompt_tokens, "
        f"row_number() OVER (PARTITION BY model_name ORDER BY {RK}) AS rn, "
        f"sum(prompt_tokens) OVER (PARTITION BY model_name ORDER BY {RK} ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s3, "
        f"lagInFrame(prompt_tokens) OVER (PARTITION BY model_name ORDER BY {RK}) AS prev, "
        f"rank() OVER (PARTITION BY model_name ORDER BY success) AS rk, "
        f"count() OVER (PARTITION BY model_name) AS pc, "
        f"sum(cost) OVER (PARTITION BY model_name, success) AS cs "
        f"FROM {T} ORDER BY model_name, rn LIMIT 300",
        tiers=("small",),
    ),
    q(
        "window: over rows, a running total and DISTINCT",
        f"SELECT DISTINCT model_name, count() OVER (PARTITION BY model_name) AS n, "
        f"max(prompt_tokens) OVER (PARTITION BY model_name) AS m FROM {T} ORDER BY model_name",
        tiers=("small",),
    ),
    q(
        "window: the WINDOW clause",
        f"SELECT model_name, count() AS c, sum(c) OVER w, rank() OVER w AS r, "
        f"row_number() OVER (w2) AS rn, sum(c) OVER (w3 ORDER BY model_name) AS s "
        f"FROM {T} GROUP BY model_name "
        f"WINDOW w AS (ORDER BY c), w2 AS (ORDER BY model_name DESC), w3 AS (PARTITION BY c > 100) "
        f"ORDER BY model_name",
    ),
    q(
        "window: aggregates with -If, uniqExact, argMax and groupArray",
        f"SELECT toStartOfHour(event_time) AS h, count() AS n, sum(prompt_tokens) AS p, "
        f"sumIf(n, n > 100) OVER (ORDER BY h) AS a, uniqExact(n % 7) OVER (ORDER BY h) AS b, "
        f"argMax(h, p) OVER (ORDER BY h ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) AS c, "
        f"groupArray(n) OVER (ORDER BY h ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS d, "
        f"varPop(n) OVER (ORDER BY h ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS e, "
        f"count(DISTINCT n % 3) OVER (ORDER BY h), avgIf(p, n > 50) OVER (ORDER BY h ROWS 1 PRECEDING) "
        f"FROM {T} GROUP BY h ORDER BY h",
    ),
    q(
        "window: RANGE frames with offsets over integers and times",
        f"SELECT toStartOfHour(event_time) AS h, toUInt8(toHour(h) % 5) AS k, count() AS n, "
        f"count() OVER (ORDER BY h RANGE BETWEEN 7200 PRECEDING AND CURRENT ROW) AS a, "
        f"sum(n) OVER (ORDER BY h DESC RANGE BETWEEN 3600 PRECEDING AND 3600 FOLLOWING) AS b, "
        f"sum(n) OVER (PARTITION BY k ORDER BY toDate(h) RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS c, "
        f"max(n) OVER (ORDER BY k RANGE BETWEEN 1 FOLLOWING AND 3 FOLLOWING) AS d, "
        f"count() OVER (ORDER BY k DESC RANGE BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING) AS e, "
        f"min(n) OVER (ORDER BY toInt64(k) - 2 RANGE BETWEEN 1 PRECEDING AND UNBOUNDED FOLLOWING) AS f, "
        f"lagInFrame(n) OVER (ORDER BY h RANGE BETWEEN 3600 PRECEDING AND CURRENT ROW) AS g, "
        f"sum(n) OVER (ORDER BY k RANGE 1 PRECEDING) "
        f"FROM {T} GROUP BY h ORDER BY h",
    ),
    err("ch refuses: window: RANGE offsets over two ORDER BY keys",
        f"SELECT count() OVER (ORDER BY success, model_name RANGE 1 PRECEDING) FROM {T}",
        "BAD_ARGUMENTS", "requires exactly one ORDER BY column"),
    q(
        "limits: LIMIT and OFFSET read aliases of constants and scalar subqueries",
        f"WITH (SELECT count() FROM {T} WHERE success = 2) AS p, 3 AS n "
        f"SELECT model_name, count() AS c FROM {T} GROUP BY model_name "
        f"ORDER BY c DESC, model_name LIMIT n OFFSET 1 * n - assumeNotNull(p)",
    ),
    err("ch refuses: window: a window function in WHERE",
        f"SELECT prompt_tokens FROM {T} WHERE row_number() OVER (ORDER BY prompt_tokens) < 3",
        "ILLEGAL_AGGREGATION", "is not allowed in WHERE"),
    err("ch refuses: window: a window function inside an aggregate",
        f"SELECT success, sum(row_number() OVER ()) FROM {T} GROUP BY success",
        "ILLEGAL_AGGREGATION", "is not allowed in aggregate function arguments"),
    err("ch refuses: window: a frame that starts after it ends",
        f"SELECT sum(prompt_tokens) OVER (ORDER BY latency ROWS BETWEEN 1 FOLLOWING AND 1 PRECEDING) FROM {T}",
        "BAD_ARGUMENTS", "does not precede the frame end"),
    err("ch refuses: window: a window the WINDOW clause does not name",
        f"SELECT sum(prompt_tokens) OVER w FROM {T}", "BAD_ARGUMENTS", "Window 'w' does not exist"),
    err("ch refuses: window: a default of another type",
        f"SELECT lagInFrame(prompt_tokens, 1, 'a') OVER (ORDER BY latency) FROM {T}",
        "BAD_ARGUMENTS", "is not the argument's type"),
]

# Arrays: literals, subscripts, functions, lambdas, distances, groupArray.
ORDER = "ORDER BY event_time, model_name, request_id, prompt_tokens, completion_tokens, latency"
QUERIES += [
    q(
        "arrays: literals, subscripts and their types",
        "SELECT [1, 2, 3][0], [1, 2, 3][-1], [1, 2, 3][5], ['a', 'b'][3], [NULL, 1][1], "
        "[[1, 2], [3]][2], [1.5][2], [NULL, 1][3], [], [1, NULL], array(1, 2), [[1], []], [1, -1], [1, 2.5], "
        "[toDate('2024-01-01')], [[1, 2], [3]][2][1], length([1, 2]), empty([]), notEmpty([1]), "
        "1 IN [1, 2], 'c' IN ['a', 'b'] FROM llm_events LIMIT 1",
        tiers=("small",),
    ),
    q(
        "arrays: constant functions",
        "SELECT arraySlice([1, 2, 3, 4, 5], 0), arraySlice([1, 2, 3, 4, 5], 2, 2), "
        "arraySlice([1, 2, 3, 4, 5], -2), arraySlice([1, 2, 3, 4, 5], 2, -1), "
        "arraySlice([1, 2, 3, 4, 5], -3, -1), arraySlice([1, 2, 3], 10), has([1, 2], 1), "
        "has([1, 2], NULL), has([NULL, 1], NULL), hasAny([1, 2], [2, 3]), hasAll([1, 2], []), "
        "hasAll([1, 2], [2, 5]), indexOf([1, 2, 3], 3), indexOf([1, 2], 9), has(['a'], 'a'), "
        "arrayConcat([1, 2], [3.5]), arrayDistinct([1, 1, 2, NULL, 2]), arraySort([3, 1, nan, 2]), "
        "arraySort(['b', 'a', 'B']), arrayReverse([1, 2, 3]), arrayStringConcat(['a', 'b'], '-'), "
        "arrayStringConcat([1, 2]), range(5), range(toUInt32(3)), range(1, 5), "
        "range(toInt8(-2), 3), range(0, 10, 3), range(10, 0, -3), splitByChar(',', 'a,b,,c'), "
        "splitByString('ab', 'xabyab'), splitByString('', 'abc'), splitByChar(',', '') "
        "FROM llm_events LIMIT 1",
        tiers=("small",),
    ),
    q(
        "arrays: NaN elements in folds, distinct, sort and search",
        "SELECT arrayMax([1., nan, 3.]) AS a, arrayMax([nan, nan, 2.]) AS b, "
        "arrayMin([2., nan, nan]) AS c, arrayMin([NULL, nan]) AS d, arrayMax([nan]) AS e, "
        "arrayMax([toFloat32(1), nan]) AS f, arrayMax([-inf, nan]) AS g, "
        "arrayMax(x -> x, [1., nan]) AS h, arrayDistinct([nan, 1., NULL, nan, -nan, 1.]) AS i, "
        "arrayDistinct([0., -0.]) AS j, arraySort([3., nan, 1., -inf, NULL, inf]) AS k, "
        "arraySort(x -> -x, [nan, 1., 2.]) AS l, has([1., nan], nan) AS m, "
        "indexOf([NULL, nan, 1.], 1) AS n, indexOf([nan], nan) AS o, hasAny([nan], [nan]) AS p, "
        "arrayMax(arrayMap(x -> x / 0, [0., 1.])) AS r FROM llm_events LIMIT 1",
        tiers=("small",),
    ),
    q(
        "arrays: slice offsets and lengths past either end",
        "SELECT arraySlice([1, 2, 3, 4, 5], -7, 3) AS a, arraySlice([1, 2, 3, 4, 5], -6, 1) AS b, "
        "arraySlice([1, 2, 3, 4, 5], -7, -3) AS c, arraySlice([1, 2, 3, 4, 5], -6, -5) AS d, "
        "arraySlice([1, 2, 3, 4, 5], -9223372036854775808, 2) AS e, "
        "arraySlice([1, 2, 3, 4, 5], toInt8(-128), 127) AS f, "
        "arraySlice([1, 2, 3, 4, 5], 2, 9223372036854775807) AS g, "
        "arraySlice([1, 2, 3, 4, 5], 2, 18446744073709551615) AS h, "
        "arraySlice([1, 2, 3, 4, 5], 18446744073709551615, 1) AS i, "
        "arraySlice([1, 2, 3, 4, 5], NULL) AS j, arraySlice([1, 2, 3, 4, 5], NULL, 2) AS k, "
        "arraySlice([1, 2, 3, 4, 5], -3, NULL) AS l, arraySlice([1, 2, 3, 4, 5], 5, -1) AS m, "
        "arraySlice([], -1, 1) AS n, arraySlice([1, 2, 3, 4, 5], 0, 3) AS o, "
        "arraySlice(splitByChar('-', model_name), -9, 8) AS p, "
        "arraySlice([prompt_tokens, completion_tokens], success - 3, 2) AS r "
        f"FROM {T} {ORDER} LIMIT 50",
        tiers=("small",),
    ),
    q(
        "arrays: arrayStringConcat of NULL, NaN and infinite elements",
        "SELECT arrayStringConcat(['a', NULL, 'b'], ',') AS a, arrayStringConcat([NULL, NULL], ',') AS b, "
        "arrayStringConcat(['a', NULL, 'b']) AS c, arrayStringConcat([1, NULL, 3], '-') AS d, "
        "arrayStringConcat([inf, -inf, nan, -0., 1.5], ',') AS e, "
        "arrayStringConcat([NULL, model_name, NULL, provider], '/') AS f, "
        "arrayStringConcat([latency / 0, cost], ';') AS g "
        f"FROM {T} {ORDER} LIMIT 50",
        tiers=("small",),
    ),
    q(
        "arrays: lambda parameters named like an alias or a column",
        f"SELECT 5 AS x, arrayMap(x -> x + 1, [1, 2]) AS r, total_tokens * 2 AS t, "
        f"arrayMap(t -> t + 1, [1, 2]) AS s, arrayMap(total_tokens -> total_tokens * 2, "
        f"[prompt_tokens]) AS u, arrayFilter(x -> x > t, [1, 100000]) AS v, "
        f"arrayMap(x -> x + sum_tokens, [1]) AS w, prompt_tokens AS sum_tokens "
        f"FROM {T} {ORDER} LIMIT 20",
        tiers=("small",),
    ),
    q(
        "aggregates of a NULL literal are NULL, count and uniq of it 0",
        f"SELECT sum(NULL) AS a, avg(NULL) AS b, quantile(NULL) AS c, groupArray(NULL) AS d, "
        f"sumIf(NULL, success = 1) AS e, varPop(NULL) AS f, covarPop(latency, NULL) AS g, "
        f"count(NULL) AS h, uniq(NULL) AS i, toTypeName(sum(NULL)) AS t FROM {T}",
        tiers=("small",),
    ),
    q(
        "aggregates of a NULL literal per group",
        f"SELECT model_name, sum(NULL) AS a, median(NULL) AS b, count() AS n FROM {T} "
        f"GROUP BY model_name ORDER BY model_name",
        tiers=("small",),
    ),
    q(
        "aggregates of a NULL literal over no rows",
        f"SELECT sum(NULL) AS a, avg(NULL) AS b, count(NULL) AS c FROM {T} WHERE 0",
        tiers=("small",),
    ),
    q(
        "arrays: an aggregate inside a lambda with a lambda of the same parameter name inside it",
        f"SELECT model_name, arrayMap(x -> x + max(arraySum(x -> x * 2, [prompt_tokens])), [1]) AS y "
        f"FROM {T} GROUP BY model_name ORDER BY model_name",
        tiers=("small",),
    ),
    q(
        "arrays: folds, distances and lambdas of constants",
        "SELECT arraySum([1, 2, 3]), arraySum([toInt8(-1)]), arraySum([1.5, 2]), arrayAvg([1, 2]), "
        "arrayMin([3, 1]), arrayMax(['a', 'b']), arraySum([toFloat32(1.5)]), "
        "arrayMin([toFloat32(1.5)]), arraySum([toUInt8(200), 100]), arrayCount([0, 1, 2]), "
        "cosineDistance([1, 2], [2, 3]), L2Distance([1, 2], [2, 3]), "
        "cosineDistance([toFloat32(1), 2], [toFloat32(2), 3]), "
        "L2Distance([toFloat32(1), 2], [toFloat32(2), 3]), cosineDistance([1.0, 2], [2, 3]), "
        "arrayMap(x -> x * 2, [1, 2, 3]), arrayFilter(x -> x > 1, [1, 2, 3]), "
        "arrayExists(x -> x > 2, [1, 2, 3]), arrayAll(x -> x > 0, [1, 2]), "
        "arrayCount(x -> x > 1, [1, 2, 3]), arrayMap((x, y) -> x + y, [1, 2], [3, 4]), "
        "arraySum(x -> x * 2, [1, 2]), arrayMin(x -> -x, [1, 2]), arraySort(x -> -x, [1, 2, 3]), "
        "arrayFirst(x -> x > 1, [1, 2, 3]), arrayFirst(x -> x > 5, [1, 2, 3]) "
        "FROM llm_events LIMIT 1",
        tiers=("small",),
    ),
    q(
        "arrays: functions of columns",
        f"SELECT model_name, [prompt_tokens, completion_tokens] AS a, a[1], a[-1], a[3], "
        f"a[success + 1], length(a), has(a, 0), indexOf(a, completion_tokens), arraySum(a), "
        f"arrayMax(a), arrayMin(a), arrayAvg(a), arraySort(a), arrayReverse(a), "
        f"arrayConcat(a, [1.5]), arraySlice(a, 2), arrayDistinct([success, success]), "
        f"splitByChar('-', model_name) AS parts, parts[1], parts[-1], "
        f"arrayStringConcat(parts, '+'), length(parts), range(success + 2), "
        f"has(parts, 'gpt'), hasAny(parts, ['4o', 'mini']), [provider, model_name], "
        f"L2Distance([latency, cost], [1.0, 2.0]), "
        f"cosineDistance([toFloat64(prompt_tokens), 1], [toFloat64(completion_tokens), 1]) "
        f"FROM {T} {ORDER} LIMIT 50",
        tiers=("small",),
    ),
    q(
        "arrays: lambdas over columns, captured columns and nested lambdas",
        f"SELECT [prompt_tokens, completion_tokens] AS a, arrayMap(x -> x * 2, a), "
        f"arrayFilter(x -> x > 100, a), arrayExists(x -> x > prompt_tokens, a), "
        f"arrayCount(x -> x > 0, a), arrayMap((x, y) -> x + y, a, [1, 2]), "
        f"arrayMap(x -> arrayMap(y -> x + y + success, [1, 2]), a), "
        f"arrayMap(x -> concat(x, model_name), splitByChar('-', model_name)), "
        f"arraySum(x -> x * latency, a), arrayFirst(x -> x > completion_tokens, a) "
        f"FROM {T} {ORDER} LIMIT 50",
        tiers=("small",),
    ),
    q(
        "arrayJoin: parts of a string grouped by their alias, filtered on it",
        f"SELECT arrayJoin(splitByChar('-', model_name)) AS part, count(), sum(prompt_tokens), "
        f"uniqExact(provider) FROM {T} WHERE part NOT IN ('gpt', 'claude') AND success = 1 "
        f"GROUP BY part ORDER BY part",
    ),
    q(
        "arrayJoin: GROUP BY the call itself, a time key and a calendar of days",
        f"SELECT toDate(event_time) + arrayJoin(range(3)) AS day, "
        f"arrayJoin(splitByChar('-', provider)) AS p, count(), max(latency) FROM {T} "
        f"GROUP BY day, p ORDER BY day, p",
    ),
    q(
        "arrayJoin: one call shared, different calls multiply, WHERE's repeats first",
        f"SELECT arrayJoin([1, 2]) AS a, arrayJoin(['x', 'y', 'z']) AS b, arrayJoin([1, 2]) AS c, "
        f"count(), sum(success) FROM {T} WHERE arrayJoin([5, 6, 7]) > 5 "
        f"GROUP BY a, b, c ORDER BY a, b, c",
    ),
    q(
        "arrayJoin: aggregates over repeated rows, empty arrays drop the row",
        f"SELECT count(), sum(arrayJoin(range(prompt_tokens % 3))), countIf(success = 0), "
        f"sum(completion_tokens), avg(arrayJoin([latency, cost])) FROM {T}",
    ),
    q(
        "arrayJoin: rows repeated without grouping, nested and of Nullable elements",
        f"SELECT model_name, arrayJoin(splitByChar('-', model_name)) AS p, toTypeName(p), "
        f"arrayJoin(arrayJoin([[1, 2], [3]])) AS n, arrayJoin([toNullable(success), NULL]) AS m, "
        f"toTypeName(m), prompt_tokens FROM {T} WHERE {WINDOW}",
        tiers=("small",),
    ),
    q(
        "arrayJoin: without FROM, LIMIT over repeated rows",
        "SELECT arrayJoin(range(5)) AS x, x * 2, toTypeName(x) ORDER BY x DESC LIMIT 3",
        tiers=("small",),
    ),
    q(
        "ARRAY JOIN: parts of a string by alias, filtered and grouped",
        f"SELECT p, count(), sum(prompt_tokens), toTypeName(p) FROM {T} "
        f"ARRAY JOIN splitByChar('-', model_name) AS p WHERE p != 'gpt' GROUP BY p ORDER BY p",
    ),
    q(
        "ARRAY JOIN: LEFT keeps a row of empty arrays with defaults, arrays zipped",
        f"SELECT r, s, count(), sum(success) FROM {T} LEFT ARRAY JOIN range(prompt_tokens % 3) "
        f"AS r, arrayMap(x -> toString(x), range(prompt_tokens % 3)) AS s "
        f"GROUP BY r, s ORDER BY r, s",
    ),
    q(
        "ARRAY JOIN: an array column read under its own name, then arrayJoin",
        f"SELECT model_name, parts, arrayJoin([1, 2]) AS n, length(parts) FROM "
        f"(SELECT model_name, splitByChar('-', model_name) AS parts FROM {T} WHERE {WINDOW}) "
        f"ARRAY JOIN parts",
        tiers=("small",),
    ),
    err("ch refuses: ARRAY JOIN of arrays of different sizes",
        f"SELECT x, y FROM {T} ARRAY JOIN [1, 2] AS x, [1] AS y",
        "SIZES_OF_ARRAYS_DONT_MATCH", "do not match"),
    err("ch refuses: arrayJoin of a number", f"SELECT arrayJoin(success) FROM {T}",
        "ILLEGAL_TYPE_OF_ARGUMENT", "must be Array"),
    q(
        "arrays: groupArray and groupUniqArray",
        f"SELECT provider, arraySort(groupUniqArray(model_name)), length(groupArray(model_name)), "
        f"length(groupArray(3)(model_name)), arraySort(groupUniqArray(success)), "
        f"length(groupUniqArray(2)(model_name)), arraySort(groupArrayIf(success, success = 0)), "
        f"arrayMap(x -> x + count(), [1, 2]), arraySort(groupUniqArray([success])) "
        f"FROM {T} GROUP BY provider ORDER BY provider",
    ),
    q(
        "arrays: maps, their lookups and functions",
        f"SELECT map('a', 1, 'b', 2) AS m, m['a'], m['z'], mapKeys(m), mapValues(m), "
        f"mapContains(m, 'b'), length(m), map(), map('x', 'y')['x'], map(1, 2.5), empty(map()), "
        f"notEmpty(m), map('a', NULL, 'b', 1)['c'], map(model_name, prompt_tokens) AS p, "
        f"p[model_name], p['none'], mapKeys(p), map('t', [success]) "
        f"FROM {T} {ORDER} LIMIT 20",
        tiers=("small",),
    ),
    q(
        "arrays: a missing element, an empty group and an unmatched join row give [] and {}",
        "SELECT any(range(2)), groupArray(1), any(map('a', 1)), arrayFirst(x -> x > 1, "
        "[toNullable(1)]), [[1]][2], map('a', [1])['b'], [map('a', 1)][3] "
        f"FROM {T} WHERE 0",
        tiers=("small",),
    ),
    q(
        "arrays: groupArray over ordered rows",
        f"SELECT groupArray(prompt_tokens), groupArray(2)(model_name) FROM (SELECT * FROM {T} "
        f"{ORDER} LIMIT 7)",
        tiers=("small",),
    ),
]

# UNION and JOIN: self-joins of the table against subqueries that aggregate it.
PER_MODEL = f"(SELECT model_name, sum(cost) AS total, count() AS n FROM {T} GROUP BY model_name)"
QUERIES += [
    q(
        "union: ALL of aggregates, UInt64 with UInt32 is UInt64",
        f"SELECT model_name, count() AS n FROM {T} GROUP BY model_name "
        f"UNION ALL SELECT 'all', toUInt32(count()) FROM {T}",
    ),
    q(
        "union: signed with unsigned is the signed supertype",
        f"SELECT toUInt8(success) AS x, prompt_tokens AS p FROM {T} WHERE latency > 20 "
        f"UNION ALL SELECT toInt8(-1), toInt32(completion_tokens) FROM {T} WHERE latency < 1",
    ),
    q(
        "union: in a FROM subquery, Float32 with Float64, then grouped",
        f"SELECT k, count(), round(sum(v), 6) FROM (SELECT model_name AS k, cost AS v FROM {T} "
        f"UNION ALL SELECT error_message, latency FROM {T}) GROUP BY k",
    ),
    q(
        "union: ORDER BY and LIMIT bind to each SELECT",
        f"SELECT model_name, event_time FROM {T} ORDER BY event_time, model_name LIMIT 3 "
        f"UNION ALL SELECT model_name, event_time FROM {T} ORDER BY event_time DESC, model_name "
        f"LIMIT 2",
        ordered=False,
    ),
    q(
        "union: DISTINCT after ALL drops repeats of everything before it",
        f"SELECT model_name FROM {T} WHERE success = 0 UNION ALL SELECT model_name FROM {T} "
        f"UNION DISTINCT SELECT 'none'",
    ),
    q(
        "union: in an IN subquery",
        f"SELECT count() FROM {T} WHERE model_name IN (SELECT 'gpt-4o' UNION ALL "
        f"SELECT 'claude-3-5-sonnet' UNION ALL SELECT model_name FROM {T} WHERE latency > 25)",
    ),
    q(
        "union: NULL makes the column Nullable; WITH reaches every part",
        f"WITH 2 AS k SELECT count() * k AS c FROM {T} UNION ALL SELECT NULL "
        f"UNION ALL SELECT count() + k FROM {T} WHERE success = 0",
    ),
    q(
        "join: per-model totals joined back to rows",
        f"SELECT e.model_name, count(), round(sum(e.cost / t.total), 6) AS share, any(t.n) "
        f"FROM {T} AS e INNER JOIN {PER_MODEL} AS t ON e.model_name = t.model_name "
        f"GROUP BY e.model_name",
    ),
    q(
        "join: LEFT USING, unmatched rows take the default",
        f"SELECT model_name, count() AS n, sum(t.errs), min(t.errs) FROM {T} LEFT JOIN "
        f"(SELECT model_name, countIf(success = 0) AS errs FROM {T} WHERE model_name LIKE 'gpt%' "
        f"GROUP BY model_name) AS t USING model_name GROUP BY model_name",
    ),
    q(
        "join: RIGHT OUTER, rows only the right side has",
        f"SELECT t.model_name, count(), countIf(e.cost > 0), sum(e.prompt_tokens) FROM "
        f"(SELECT * FROM {T} WHERE success = 0 AND model_name LIKE 'gpt%') AS e RIGHT OUTER JOIN "
        f"(SELECT DISTINCT model_name FROM {T}) AS t ON e.model_name = t.model_name "
        f"GROUP BY t.model_name",
    ),
    q(
        "join: FULL USING, the key from whichever side has it",
        f"SELECT h, a.n, b.m FROM (SELECT toStartOfHour(event_time) AS h, count() AS n FROM {T} "
        f"WHERE model_name = 'gpt-4o' AND latency > 10 GROUP BY h) AS a FULL OUTER JOIN "
        f"(SELECT toStartOfHour(event_time) AS h, count() AS m FROM {T} "
        f"WHERE model_name = 'claude-3-5-sonnet' AND latency > 10 GROUP BY h) AS b USING h "
        f"ORDER BY h",
    ),
    q(
        "join: FULL ON, unmatched columns of both sides take defaults",
        f"SELECT a.d, b.d, a.n, b.n FROM (SELECT toDate(event_time) AS d, count() AS n FROM {T} "
        f"WHERE success = 0 GROUP BY d) AS a FULL JOIN (SELECT toDate(event_time) AS d, "
        f"count() AS n FROM {T} WHERE latency > 28 GROUP BY d) AS b ON a.d = b.d "
        f"ORDER BY a.d, b.d",
    ),
    q(
        "join: ANY INNER keeps one row per key, ANY LEFT one per left row",
        f"SELECT (SELECT count() FROM {T} AS e ANY INNER JOIN {PER_MODEL} AS t USING model_name), "
        f"(SELECT count() FROM {T} AS e ANY LEFT JOIN {PER_MODEL} AS t USING model_name), "
        f"(SELECT sum(t.n) FROM {T} AS e ANY LEFT JOIN {PER_MODEL} AS t USING model_name)",
    ),
    q(
        "join: ALL multiplies matches; two keys, one an expression",
        f"SELECT count(), sum(a.n * b.c) FROM (SELECT toDate(event_time) AS d, model_name, "
        f"count() AS n FROM {T} GROUP BY d, model_name) AS a JOIN (SELECT toDate(event_time) AS d, "
        f"model_name, success, count() AS c FROM {T} GROUP BY d, model_name, success) AS b "
        f"ON a.d = b.d AND b.model_name = a.model_name",
    ),
    q(
        "join: CROSS and comma",
        f"SELECT count(), sum(a.n + b.m) FROM (SELECT model_name, count() AS n FROM {T} "
        f"GROUP BY model_name) AS a CROSS JOIN (SELECT success, count() AS m FROM {T} "
        f"GROUP BY success) AS b",
    ),
    q(
        "join: FULL USING, a qualified USING column reads its own side, named plainly",
        f"SELECT a.h, h, b.h, a.n, b.m FROM (SELECT toStartOfHour(event_time) AS h, count() AS n "
        f"FROM {T} WHERE model_name = 'gpt-4o' AND latency > 10 GROUP BY h) AS a FULL JOIN "
        f"(SELECT toStartOfHour(event_time) AS h, count() AS m FROM {T} "
        f"WHERE model_name = 'claude-3-5-sonnet' AND latency > 10 GROUP BY h) AS b USING h "
        f"ORDER BY h",
    ),
    q(
        "join: * names the right side's clashing columns table.column",
        f"SELECT * FROM (SELECT model_name, count() AS n FROM {T} GROUP BY model_name) AS a "
        f"JOIN (SELECT model_name, sum(prompt_tokens) AS n FROM {T} GROUP BY model_name) AS b "
        f"ON a.model_name = b.model_name ORDER BY model_name",
    ),
    q(
        "join: three tables, WHERE and GROUP BY over the joined rows; names more than one "
        "table has are qualified",
        f"SELECT e.model_name, s.success, count(), round(sum(e.cost * t.n), 4) FROM {T} AS e "
        f"JOIN {PER_MODEL} AS t USING model_name "
        f"LEFT JOIN (SELECT toUInt8(1) AS success, 'ok' AS label) AS s ON e.success = s.success "
        f"WHERE e.latency > 5 AND label != '' GROUP BY e.model_name, s.success",
    ),
    q(
        "join: * over three tables qualifies every name more than one table has",
        f"SELECT * FROM (SELECT model_name, count() AS n FROM {T} GROUP BY model_name) AS a "
        f"JOIN (SELECT model_name, sum(prompt_tokens) AS n, 1 AS k FROM {T} GROUP BY model_name) "
        f"AS b ON a.model_name = b.model_name JOIN (SELECT model_name, max(latency) AS top "
        f"FROM {T} GROUP BY model_name) AS c ON c.model_name = b.model_name ORDER BY a.model_name",
    ),
    q(
        "join: in a FULL join USING, a qualified key reads its own side (the default where "
        "only the other side has the row)",
        "SELECT t1.a AS l, t2.a AS r, a, t1.a FROM (SELECT 1 AS a, 10 AS x UNION ALL SELECT 2, 12) t1 "
        "FULL JOIN (SELECT 1 AS a, 3 AS c UNION ALL SELECT 5, 6) t2 USING a ORDER BY x, c",
    ),
    q(
        "join: in a RIGHT join USING, the left side's qualified key is named table.column",
        f"SELECT a, t1.a, t2.a FROM (SELECT model_name AS a, count() AS n FROM {T} "
        f"WHERE latency > 10 GROUP BY a) AS t1 RIGHT JOIN (SELECT model_name AS a, "
        f"max(latency) AS m FROM {T} GROUP BY a) AS t2 USING a ORDER BY a",
    ),
    q(
        "join: t.* selects one table's columns",
        f"SELECT t.*, e.latency FROM {T} AS e JOIN (SELECT model_name, count() AS n "
        f"FROM {T} GROUP BY model_name) AS t ON e.model_name = t.model_name "
        f"ORDER BY e.latency, t.n, t.model_name LIMIT 20",
    ),
    q(
        "join: t.* of each side of a RIGHT join USING",
        "SELECT t1.*, t2.* FROM (SELECT 1 AS a, 5 AS z UNION ALL SELECT 3, 4) AS t1 "
        "RIGHT JOIN (SELECT 2 AS a, 7 AS y UNION ALL SELECT 3, 8) AS t2 USING a ORDER BY y",
    ),
    q(
        "exact: variances, standard deviations, covariances and correlations per model",
        f"SELECT model_name, varPop(toFloat64(latency)), varSamp(toFloat64(latency)), "
        f"stddevPop(toFloat64(latency)), stddevSamp(toFloat64(cost)), varPop(prompt_tokens), "
        f"stddevSamp(toInt64(prompt_tokens) - 500), covarPop(prompt_tokens, toFloat64(latency)), "
        f"covarSamp(toFloat64(latency), toFloat64(cost)), corr(prompt_tokens, completion_tokens), "
        f"corr(toFloat64(latency), cost), varSampIf(toFloat64(latency), success = 0), "
        f"toTypeName(varPop(latency)), toTypeName(corr(latency, cost)), "
        f"toTypeName(covarSamp(latency, prompt_tokens)) FROM {T} GROUP BY model_name "
        f"ORDER BY model_name",
    ),
    q(
        "exact: moments of one row, of no rows, of constants, of NULLs and of huge Float32s",
        f"SELECT * FROM (SELECT 1 AS part, varSamp(x), stddevSamp(x), varPop(x), corr(x, x), "
        f"covarSamp(x, x), covarPop(x, x), varPop(n), stddevSamp(n), corr(n, x) FROM (SELECT "
        f"toFloat64(latency) AS x, if(success = 1, NULL, prompt_tokens) AS n FROM {T} ORDER BY "
        f"event_time, model_name LIMIT 1) UNION ALL SELECT 2, varSamp(x), stddevSamp(x), "
        f"varPop(x), corr(x, x), covarSamp(x, x), covarPop(x, x), varPop(n), stddevSamp(n), "
        f"corr(n, x) FROM (SELECT 0.1 AS x, if(success = 2, 1, NULL) AS n FROM {T} LIMIT 3) "
        f"UNION ALL SELECT 3, varPop(f), varSamp(f), stddevPop(f), corr(f, f), covarPop(f, f), "
        f"0, 0, 0, 0 FROM (SELECT toFloat32(3e38) AS f FROM {T} LIMIT 2)) ORDER BY part",
    ),
    q(
        "exact: moments merged from states per hour",
        f"SELECT model_name, varPopMerge(v), corrMerge(c) FROM (SELECT model_name, "
        f"varPopState(toFloat64(latency)) AS v, corrState(prompt_tokens, toFloat64(latency)) AS c "
        f"FROM {T} GROUP BY model_name, toStartOfHour(event_time)) GROUP BY model_name "
        f"ORDER BY model_name",
    ),
    q(
        "exact: Bool and UInt8 branches take the first one's type and keep the byte",
        f"SELECT if(success = 0, true, 5) AS b, toUInt8(b) AS b8, toString(b), b = 5, "
        f"if(success = 0, 5, true) AS u, coalesce(if(success = 1, false, NULL), 7) AS c, "
        f"toUInt8(c) AS c8, ifNull(if(0, true, NULL), 0) AS d, "
        f"multiIf(success = 0, NULL, latency > 5, true, 0) AS e, toUInt8(e) AS e8, "
        f"[true, 0] AS arr, count() FROM {T} GROUP BY b8, u, c8, d, e8, b, c, e "
        f"ORDER BY b8, u, c8, e8",
    ),
    q(
        "exact: float sums of constants over one block, to the last digit",
        f"SELECT toString(sum(0.30000000000000004)), toString(avg(1e30)), "
        f"toString(avgIf(0.1, success = 1)), toString(sumIf(0.7, latency > 1)), count() "
        f"FROM (SELECT * FROM {T} WHERE model_name = 'mistral-large')",
        tiers=("small",),
    ),
    q(
        "exact: Float32 column sums and averages per group, to the last digit",
        f"SELECT model_name, toString(sum(cost)), toString(avg(latency)), "
        f"toString(sum(prompt_tokens)), toString(avg(success)), count() FROM {T} "
        f"GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "exact: float sums of constants per group, to the last digit",
        f"SELECT model_name, toString(sum(0.30000000000000004)), toString(avg(1e30)), "
        f"toString(avgIf(0.1, success = 1)), toString(sumIf(0.7, latency > 1)) FROM {T} "
        f"GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "exact: a Date from 2106-02-07 on compares with a DateTime as 2106-02-06 00:00:00",
        f"SELECT toDateTime('2106-02-07 06:28:15') <= toDate('2106-02-08'), "
        f"toDate('2106-02-08') = toDateTime('2106-02-06 00:00:00'), "
        f"toDate('2149-06-06') > toDateTime('2106-02-06 00:00:01'), "
        f"countIf(event_time <= toDate(event_time) + 1), "
        f"countIf(toDate(event_time) + 2 > event_time), "
        f"countIf(event_time < toDate('2149-06-06')), "
        f"max(if(success = 1, toDate('2120-01-01'), event_time)) FROM {T}",
    ),
    q(
        "toDate of text from a column and of a constant made a grouping key",
        f"SELECT toDate(toString(event_time)) AS d, toString(toDate('2024-09-10')) AS k, "
        f"count() FROM {T} GROUP BY d, k ORDER BY d LIMIT 10",
    ),
    q(
        "join: a table or WITH table given an alias still answers to its own name",
        f"WITH stats AS (SELECT model_name, avg(latency) AS average FROM {T} GROUP BY model_name) "
        f"SELECT i.model_name, i.latency - stats.average AS d, {T}.latency, s.average "
        f"FROM {T} i JOIN stats s ON s.model_name = i.model_name AND stats.model_name = "
        f"{T}.model_name ORDER BY i.event_time, i.model_name, d LIMIT 20",
    ),
]

# Calendar grid: bucket counts by units by times at the ends of the DateTime and Date ranges.
EDGE_TIMES = ["1970-01-01 00:00:00", "1970-01-05 13:00:00", "2000-02-29 23:59:59",
              "2038-01-19 03:14:08", "2106-02-07 06:28:15"]
EDGE_DATES = ["1970-01-01", "2000-02-29", "2106-02-07", "2106-02-08", "2149-06-06"]
UNITS = ["SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]
for _unit in UNITS:
    _cols = [f"toStartOfInterval(toDateTime('{t}'), INTERVAL {k} {_unit})"
             for k in (2, 3, 7, 13, 90) for t in EDGE_TIMES]
    if _unit not in ("SECOND", "MINUTE", "HOUR"):
        _cols += [f"toStartOfInterval(toDate('{t}'), INTERVAL {k} {_unit})"
                  for k in (1, 2, 7, 13, 90) for t in EDGE_DATES]
    _cols.append(f"toStartOfInterval(event_time, INTERVAL 7 {_unit}) AS b")
    QUERIES.append(q(
        f"exact: toStartOfInterval by {_unit} with counts above 1 at the range ends",
        f"SELECT {', '.join(_cols)}, count() FROM {T} GROUP BY b ORDER BY b LIMIT 20",
        tiers=("small",),
    ))
    _cols = [f"{kind}('{t}') {sign} INTERVAL {k} {_unit}"
             for kind, times in (("toDateTime", EDGE_TIMES), ("toDate", EDGE_DATES))
             for t in times for sign in "+-" for k in (90, 1000, 5000, 100000)]
    QUERIES.append(q(
        f"exact: time {_unit} arithmetic past the range ends wraps, months and years saturate",
        f"SELECT {', '.join(_cols)}, max(event_time + INTERVAL 90 {_unit}), "
        f"min(toDate(event_time) - INTERVAL 1000 {_unit}) FROM {T}",
        tiers=("small",),
    ))

QUERIES += [
    q(
        "interval counts per row, named as ClickHouse names addDays and date_add",
        f"WITH toStartOfDay(min(event_time)) AS end SELECT model_name, "
        f"end + INTERVAL count() % 40 DAY AS d, addMinutes(end, toInt32(sum(success)) - 500), "
        f"subtractMonths(toDate(end), count() % 30) AS m, addHours(toDate(end), count() % 7), "
        f"date_add(DAY, count() % 3, toDate(end)), INTERVAL count() % 5 WEEK + end AS w "
        f"FROM {T} GROUP BY model_name ORDER BY model_name",
    ),
    q(
        "interval counts from a subquery's column",
        "WITH (toDateTime('2024-09-10 00:00:00') - INTERVAL 30 MINUTE) AS start "
        "SELECT addMinutes(toStartOfMinute(start), number) AS t, "
        "toDate('2024-01-31') + INTERVAL n MONTH AS mo, "
        "toDateTime('2024-01-31 10:00:00') - INTERVAL n YEAR AS y "
        "FROM (SELECT arrayJoin(range(1, 31)) AS number, "
        "if(number % 4 = 0, NULL, toInt64(number) - 15) AS n) ORDER BY t",
        tiers=("small",),
    ),
]

_FMT = "%a %b %c %C %d %D %e %f %F %g %G %h %H %i %I %j %k %l %m %M %n %p %Q %r %R %s %S %t %T %u %V %w %W %y %Y %% x"
QUERIES += [
    q(
        "formatDateTime of times and dates with every specifier",
        f"SELECT formatDateTime(event_time, '{_FMT} %z') AS a, "
        f"DATE_FORMAT(toDate(event_time), '{_FMT}') AS b, "
        f"formatDateTime(toStartOfMonth(event_time), '%Y-%m') AS ym, "
        f"formatDateTime(event_time + toIntervalSecond(1), '%F %T.%f', 'UTC') AS c, "
        f"formatDateTime(toStartOfWeek(event_time), '%m-%d') AS md, count() FROM {T} "
        f"GROUP BY a, b, ym, c, md ORDER BY a LIMIT 300",
        tiers=("small",),
    ),
    q(
        "formatDateTime at the range ends, of NULL, and unaliased",
        "SELECT formatDateTime(toDateTime('1970-01-01 00:00:00'), '%F %T %j %V %G %u'), "
        "formatDateTime(toDateTime('2106-02-07 06:28:15'), '%F %T %j %V %G %u %r'), "
        "formatDateTime(toDate('2149-06-06'), '%F %j %V %G %g'), "
        "formatDateTime(toDate('2021-01-03'), '%V %G %g %u'), "
        "formatDateTime(if(1 = 1, NULL, now()), '%Y'), "
        "formatDateTime(toDateTime('2024-02-29 12:00:00'), '')",
        tiers=("small",),
    ),
    q(
        "dateTrunc by every unit, toInterval functions",
        f"SELECT date_trunc('minute', event_time) AS mi, dateTrunc('hour', event_time) AS h, "
        f"DATE_TRUNC('day', event_time) AS d, date_trunc('day', toDate(event_time)) AS dd, "
        f"date_trunc('week', event_time) AS w, date_trunc('month', toDate(event_time)) AS mo, "
        f"date_trunc('quarter', event_time) AS qu, dateTrunc('year', event_time, 'UTC') AS y, "
        f"date_trunc('second', event_time) AS s, "
        f"toIntervalDay(2) + toDate(event_time) AS two, "
        f"event_time - toIntervalHour(toUInt8(success)) AS back, count() FROM {T} "
        f"GROUP BY mi, h, d, dd, w, mo, qu, y, s, two, back ORDER BY s, back LIMIT 200",
        tiers=("small",),
    ),
]

QUERIES += [
    q(
        "numbers() as a calendar joined to the rows",
        f"SELECT n.d, count(e.event_time) FROM "
        f"(WITH (SELECT toStartOfDay(min(event_time)) FROM {T}) AS start "
        f"SELECT toDate(start) + number AS d FROM numbers(40)) AS n "
        f"LEFT JOIN (SELECT event_time, toDate(event_time) AS d FROM {T}) AS e ON n.d = e.d "
        f"GROUP BY n.d ORDER BY n.d",
        tiers=("small",),
    ),
    q(
        "numbers() forms and types",
        "SELECT number, toTypeName(number), number * 2 AS twice FROM numbers(5, 7, 2) "
        "UNION ALL SELECT sum(number), 'total', count() FROM numbers(10) "
        "UNION ALL SELECT number, 'empty', 0 FROM numbers(0) ORDER BY 1, 2",
        tiers=("small",),
    ),
]

QUERIES += [
    q(
        "WITH aliases of an enclosing query in subqueries, columns and own aliases first",
        f"WITH 5 AS start, toDate('2024-09-10') AS day, start * 2 AS twice, 7 AS model_name "
        f"SELECT (SELECT start + 1), x, y, m, (SELECT twice), cnt FROM "
        f"(SELECT start + number AS x, day + number AS y FROM numbers(3)) AS a, "
        f"(SELECT any(model_name) AS m, count() AS cnt FROM {T} WHERE toDate(event_time) >= day) AS b "
        f"ORDER BY x",
        tiers=("small",),
    ),
]

QUERIES += [
    q(
        "greatest and least: supertypes, NULLs passed over, NaN by position, strings and times",
        "SELECT greatest(1, 2) a, least(toUInt8(1), toInt8(-1)) b, greatest(1, NULL) c, "
        "least(NULL, NULL) d, greatest(nan, 1) e, least(1, nan) f, greatest(3) g, "
        "greatest('a', 'b', '') h, least(toDate('2024-01-01'), toDateTime('2024-01-01 05:00:00')) i, "
        "greatest(1, 2.5) j, greatest(toUInt32(5), toInt32(-5)) k, greatest(true, 3) l, "
        "least(toNullable(5), 3, NULL) m",
        tiers=("small",),
    ),
    q(
        "greatest and least of Int64 and UInt64: Int64 and UInt64, the values compared as they are",
        "SELECT least(toInt64(-1), toUInt64(18446744073709551615)) a, "
        "greatest(toInt64(-1), toUInt64(18446744073709551615)) b, "
        "least(toUInt64(18446744073709551615), toInt64(5)) c, greatest(toInt64(-5), toUInt64(0)) d, "
        "least(toInt64(9223372036854775807), toUInt64(9223372036854775808)) e",
        tiers=("small",),
    ),
    q(
        "greatest and least of Int64 and UInt64 columns, a LowCardinality one converted first",
        f"SELECT sum(least(-(completion_tokens), prompt_tokens * toUInt64(4294967296))) a, "
        f"sum(greatest(toInt64(completion_tokens) - 1000, toUInt64(prompt_tokens))) b, "
        f"min(least(dateDiff('day', event_time, toDateTime('2024-09-10 00:00:00')), length(time_source))) c, "
        f"max(greatest(toInt64(-2), length(time_source))) d, "
        f"countIf(least(toInt64(completion_tokens) - 300, toUInt64(prompt_tokens)) < 0) e FROM {T}",
    ),
    err(
        "ch refuses: greatest of Int64 and Nullable(UInt64)",
        "SELECT greatest(toInt64(-1), toNullable(toUInt64(2)))",
        "NO_COMMON_TYPE", "illegal types",
    ),
    q(
        "greatest and least over columns, grouped",
        f"SELECT model_name, max(greatest(prompt_tokens, completion_tokens, total_tokens / 2)) AS g, "
        f"min(least(latency, cost * 100, if(success = 1, NULL, -1.5))) AS l, "
        f"max(greatest(model_name, error_message)) AS s, "
        f"countIf(least(event_time, toDate('2024-09-15')) = event_time) AS before FROM {T} "
        f"GROUP BY model_name ORDER BY model_name",
    ),
]

QUERIES += [
    q(
        "a multiIf over columns that a constant condition decides is no constant: not LowCardinality",
        f"SELECT coalesce(time_source, CASE WHEN true THEN 'c' WHEN 1 THEN time_source END) AS a, "
        f"concat(time_source, multiIf(false, model_name, 'd')) AS b, "
        f"coalesce(time_source, if(true, 'c', time_source)) AS c, "
        f"ifNull(if(0, user_id, NULL), provider) AS d FROM {T} ORDER BY a, b, c, d LIMIT 5",
    ),
    q(
        "subqueries in branches a constant expression rules out take a second number",
        "SELECT CASE WHEN empty('') THEN 0.5 WHEN false THEN (SELECT 1.5) "
        "ELSE toFloat64(multiIf(true, (SELECT 2), 3)) END, (SELECT 4), "
        "multiIf(1 = 1, 1, notEmpty(''), (SELECT 5), (SELECT 6)), if(1 > 2, (SELECT 7), 8)",
        tiers=("small",),
    ),
    q(
        "ORDER BY keys after every GROUP BY key are dropped: 0 before -0 whatever follows",
        "SELECT toString(k) AS s, count() AS c FROM (SELECT arrayJoin([-0., 0., 0., 0., 1.]) AS k) "
        "GROUP BY k ORDER BY k DESC, c",
        tiers=("small",),
    ),
    q(
        "ORDER BY keys after every GROUP BY key, in any order, are dropped",
        "SELECT toString(k) AS s, x, count() AS c FROM (SELECT arrayJoin([0., -0., 0., 0.]) AS k, "
        "'a' AS x) GROUP BY k, x ORDER BY c > 100, x, k, c",
        tiers=("small",),
    ),
]

QUERIES += [
    q(
        "toDate of numbers: day numbers up to 65535, seconds beyond, floats as ClickHouse reads them",
        "SELECT x, toDate(x), toDate(toFloat64(x) + 0.9), toDate(toUInt8(x % 256)), "
        "toDate(toInt32(x)), toDate(65535.9), toDate(toFloat32(1.5)), toDate(65535) "
        "FROM (SELECT arrayJoin([toInt64(0), 1, 65535, 65536, 1000000000, toInt64(4294967295), toInt64(5000000000), "
        "-1, -100000, toInt64(9223372036854775807)]) AS x) ORDER BY x",
        tiers=("small",),
    ),
    q(
        "toDate of a number column in a calendar of days",
        f"SELECT d, count() FROM (SELECT arrayJoin(arrayMap(x -> toDate(x), "
        f"range(toUInt32(toDate('2024-09-01')), toUInt32(toDate('2024-09-01')) + 20 * 86400, 86400))) AS d) "
        f"GROUP BY d ORDER BY d",
        tiers=("small",),
    ),
]

def sql_strings(texts: list[str]) -> str:
    """An SQL array literal of the strings `texts` (none holds a quote or a backslash)."""
    return "[" + ", ".join(f"'{t}'" for t in texts) + "]"


QUERIES += [
    q(
        "argMax and argMin of arrays and maps, grouped and over a window",
        f"SELECT provider, argMax(splitByChar('-', model_name), k) AS a, "
        f"argMin([prompt_tokens, completion_tokens], k) AS b, argMax(map(model_name, latency), k) AS c, "
        f"argMinIf(range(success + 1), k, success = 1) AS d FROM (SELECT *, concat(toString(event_time), "
        f"request_id, model_name, toString(latency), toString(prompt_tokens)) AS k FROM {T}) "
        f"GROUP BY provider ORDER BY provider",
    ),
    q(
        "argMax of an array over a running window",
        "SELECT x, argMax(range(x), x) OVER (ORDER BY x) AS a, "
        "argMin(['a', toString(x)], x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS b "
        "FROM (SELECT arrayJoin([3, 1, 2, 5]) AS x) ORDER BY x",
        tiers=("small",),
    ),
]

QUERIES += [
    q(
        "arrayEnumerate and arrayEnumerateUniq: NULLs and NaNs alike, 0 and -0 apart, several arrays",
        "SELECT arrayEnumerateUniq([1, 2, 1, NULL, NULL, nan, nan, 0, -0.]) a, arrayEnumerate([]) b, "
        "arrayEnumerateUniq(['a', 'a']) c, arrayEnumerateUniq([[1], [1], [2]]) d, "
        "arrayEnumerate([NULL, 1]) e, arrayEnumerateUniq([1, 1, 2, 1], ['a', 'a', 'a', 'b']) f",
        tiers=("small",),
    ),
    q(
        "arrayEnumerateUniq of split columns",
        f"SELECT model_name, arrayStringConcat(arrayEnumerate(splitByChar('-', model_name)), ',') AS a, "
        f"arrayStringConcat(arrayEnumerateUniq(arrayMap(c -> c % 3, range(prompt_tokens % 7))), ',') AS b, "
        f"count() FROM {T} "
        f"GROUP BY model_name, a, b ORDER BY model_name, b",
    ),
    err(
        "arrayEnumerateUniq of arrays of different lengths",
        "SELECT arrayEnumerateUniq([1, 1], [2])",
        raises="SIZES_OF_ARRAYS_DONT_MATCH",
        says="lengths of all arrays must be equal",
    ),
]

BE_TEXTS = ['2020-01-02T03:04:05+01:00', '2020-01-02', '1700000000', '1700000000.123', '1700000000123', 'Sat, 18 Aug 2018 07:22:16 GMT', '12/05/2021 10:00 PM', '20200102030405', '2020-01-02 !', '', '2020-02-30', '2020-01-02 03:04:05.1234Z', '2018-08-18T07:22:16-03:30', '18.08.2018', 'Tuesday, 18 August 2018', '2018-08-18 07:22:16 MSK', '2020-1-2 3:4:5', '202001', '2020-01-02 12 AM', '2020-01-02 25:61:61', '1969-12-31 23:59:59', '2300-01-01', '2020-01-02, 10:00', '13/13/2020', '31/12/2020', '21/Aug/2018:07:22:16 +0000', 'Married 2020']

QUERIES += [
    q(
        "parseDateTimeBestEffort and its forms over the formats ClickHouse reads",
        "SELECT s, parseDateTimeBestEffortOrNull(s) AS a, parseDateTimeBestEffortOrZero(s) AS b, "
        "parseDateTime64BestEffortOrNull(s) AS c, parseDateTime64BestEffortOrZero(s, 3) AS d, "
        "parseDateTime32BestEffortOrNull(s) AS e, parseDateTimeBestEffortUSOrNull(s) AS f, "
        "parseDateTime64BestEffortUSOrZero(s) AS g FROM (SELECT arrayJoin(%s) AS s) ORDER BY s"
        % sql_strings(BE_TEXTS),
        tiers=("small",),
    ),
    q(
        "parseDateTimeBestEffort of a column: ISO text, with NULLs, grouped",
        f"SELECT parseDateTimeBestEffort(formatDateTime(event_time, '%Y-%m-%dT%H:%i:%SZ')) AS t, "
        f"parseDateTime64BestEffort(concat(toString(event_time), '.25+01:00')) AS u, "
        f"parseDateTimeBestEffortOrNull(if(success = 1, toString(toUnixTimestamp(event_time)), NULL)) AS v, "
        f"parseDateTimeBestEffortOrNull(nullIf(model_name, 'gpt-4o')) AS w, "
        f"toTypeName(v), toTypeName(w), count() FROM {T} GROUP BY t, u, v, w ORDER BY t, u, v, w LIMIT 50",
    ),
    err(
        "parseDateTimeBestEffort of text it cannot read",
        "SELECT parseDateTimeBestEffort('2020-01-02 !')",
        raises="CANNOT_PARSE_TEXT",
        says="cannot parse string '2020-01-02 !' as DateTime",
    ),
    err(
        "parseDateTime64BestEffort of a day the month lacks",
        "SELECT parseDateTime64BestEffort('2021-02-29')",
        raises="CANNOT_PARSE_DATETIME",
        says="cannot parse DateTime64(3) from string",
    ),
    err(
        "parseDateTimeBestEffort of a number",
        "SELECT parseDateTimeBestEffort(1700000000)",
        raises="ILLEGAL_TYPE_OF_ARGUMENT",
        says="illegal types",
    ),
]

URLS = ["https://www.example.com:8080/a/b?x=1&y=2#frag", "http://example.com", "example.com/path",
        "//cdn.example.co.uk/x.js", "localhost", "http://127.0.0.1/", "https://user:pw@host.com/p", "",
        "mailto:me@x.org", "http:", "www.google.com", "https://example.com/?a=1?b=2#c=3&x=4",
        "https://a.b.c.d./x", "http://exa mple.com", "//www.a.com/x", "https://www.",
        "https://example.com/p.html?utm_source=google&x=%20y", "HTTPS://EXAMPLE.COM/A"]
QUERIES += [
    q(
        "URL functions: parts of URLs and URLs without them",
        "SELECT u, domain(u), domainWithoutWWW(u), topLevelDomain(u), protocol(u), path(u), "
        "pathFull(u), queryString(u), fragment(u), queryStringAndFragment(u), cutWWW(u), "
        "cutQueryString(u), cutFragment(u), cutQueryStringAndFragment(u), "
        "extractURLParameter(u, 'x'), extractURLParameter(u, 'utm_source') "
        "FROM (SELECT arrayJoin(%s) AS u) ORDER BY u" % sql_strings(URLS),
        tiers=("small",),
    ),
    q(
        "URL functions of columns, low-cardinality and Nullable",
        f"SELECT domain(concat('https://', model_name, '.example.org/p?m=', provider)) AS d, "
        f"extractURLParameter(concat('?m=', provider), 'm') AS p, topLevelDomain(provider) AS t, "
        f"protocol(nullIf(concat('https://', model_name), 'https://gpt-4o')) AS n, toTypeName(t), "
        f"toTypeName(n), count() FROM {T} GROUP BY d, p, t, n ORDER BY d, p, t, n",
    ),
    q(
        "multiSearchAny and multiMatchAny of constants",
        "SELECT multiSearchAny('Googlebot/2.1', ['bot', 'crawl']) a, multiSearchAny('abc', ['']) b, "
        "multiSearchAnyCaseInsensitive('GoogleBOT', ['bot']) c, multiSearchAnyUTF8('h\u00e9llo', ['\u00e9']) d, "
        "multiSearchAny(toNullable('x'), ['y', 'x']) e, "
        "multiMatchAny('abc123', ['^a.c\\\\d+$', 'zzz']) g, multiMatchAny('abc', ['x', '^b']) h, "
        "multiSearchAny(NULL, ['a']) i",
        tiers=("small",),
    ),
    q(
        "multiSearchAny and multiMatchAny over columns",
        f"SELECT model_name, provider, multiSearchAny(model_name, ['gpt', 'claude']) AS a, "
        f"multiSearchAnyCaseInsensitive(provider, ['OPEN', 'Anth']) AS b, "
        f"multiMatchAny(model_name, ['^gpt-4o(-mini)?$', 'sonnet']) AS c, "
        f"multiSearchAny(nullIf(model_name, 'gpt-4o'), ['4']) AS d, toTypeName(b), count() "
        f"FROM {T} GROUP BY model_name, provider, a, b, c, d ORDER BY model_name, provider",
    ),
    err(
        "multiSearchAny with no needles",
        "SELECT multiSearchAny('abc', [])",
        raises="ILLEGAL_TYPE_OF_ARGUMENT",
        says="illegal types",
    ),
    q(
        "JSON_VALUE: scalars as text, objects and arrays as empty",
        "SELECT JSON_VALUE('{\"a\":null}', '$.a') a, JSON_VALUE('{\"a\":1.0}', '$.a') b, "
        "JSON_VALUE('{\"a\":true}', '$.a') c, JSON_VALUE('{\"a\":\"x\\\\ny\"}', '$.a') d, "
        "JSON_VALUE('{\"a\":[1,[2,3]]}', '$.a[1][0]') e, JSON_VALUE('{\"a\":{\"b c\":3}}', '$.a[\"b c\"]') f, "
        "JSON_VALUE('{\"a\":[1,2]}', '$.a') g, JSON_VALUE('bad', '$.a') h, JSON_VALUE('{\"a\":1e3}', '$.a') i, "
        "JSON_VALUE('{\"a\":12345678901234567890}', '$.a') j, JSON_VALUE('{\"a b\":1}', '$.\"a b\"') k, "
        "JSON_VALUE('[5]', '$[0]') l, JSON_VALUE('{\"a\":1}', '$') m, JSON_VALUE('{\"a\":-0.5}', '$.b') n",
        tiers=("small",),
    ),
    q(
        "JSON_VALUE over a column of documents",
        f"SELECT JSON_VALUE(concat('{{\"m\":\"', model_name, '\",\"t\":', toString(prompt_tokens), '}}'), '$.m') AS m, "
        f"max(JSON_VALUE(concat('{{\"t\":', toString(prompt_tokens), '}}'), '$.t')) AS t, "
        f"count() FROM {T} GROUP BY m ORDER BY m",
    ),
    err(
        "JSON_VALUE with a path that does not start at $",
        "SELECT JSON_VALUE('{\"a\":1}', 'a')",
        raises="BAD_ARGUMENTS",
        says="unable to parse JSONPath",
    ),
]

RANGE = {"start_date": "2024-09-10 00:00:00", "end_date": "2024-09-20 12:00:00"}
MODELS = {"models": ["gpt-4o", "claude-3-5-sonnet", "gemini-1.5-flash"]}
NARROW = {"start_date": "2024-09-10 00:00:00", "end_date": "2024-09-10 03:00:00"}

PIPE_CASES: list[tuple[str, dict]] = [
    ("llm_usage_by_model", {}),
    ("llm_performance", {}),
    ("llm_kpis", {}),
    ("llm_kpis", {**RANGE, **MODELS}),
    ("llm_kpis", {"models": "gpt-4o-mini,llama-3.1-70b"}),
    ("llm_latency_percentiles", {}),
    ("llm_latency_percentiles", {**RANGE, **MODELS}),
    ("llm_timeseries", {}),
    ("llm_timeseries", {**RANGE, **MODELS}),
    ("llm_timeseries", NARROW),
    ("llm_timeseries", {**NARROW, "bucket": "hour"}),
    ("llm_timeseries", {**RANGE, "bucket": "day", "models": ["mistral-large"]}),
    ("llm_top_errors", {}),
    ("llm_top_errors", {**RANGE, "limit": 5}),
    ("llm_top_errors", {**MODELS, "limit": "3"}),
    ("llm_dimensions", {}),
    ("llm_dimensions", {"start_date": "2024-09-15 00:00:00"}),
    ("llm_dimensions", {**MODELS, "end_date": "2024-09-30 00:00:00"}),
    ("llm_usage_by_model_filtered", {}),
    ("llm_usage_by_model_filtered", {**RANGE, **MODELS}),
    ("llm_usage_by_model_filtered", {**NARROW, "models": "gpt-4o-mini,llama-3.1-70b"}),
    ("llm_performance_filtered", {}),
    ("llm_performance_filtered", {**RANGE, **MODELS}),
    ("llm_performance_filtered", {"end_date": "2024-09-12 00:00:00", "models": ["mistral-large"]}),
]


def param_args(params: dict) -> list[str]:
    args = []
    for key, value in params.items():
        if isinstance(value, str):
            args += ["--param", f"{key}={value}"]
        else:
            args += ["--param", f"{key}:={json.dumps(value)}"]
    return args


def expand(pipe: str, params: dict) -> str:
    assert diff.CLI is not None
    proc = subprocess.run(
        [str(diff.CLI), "expand", pipe, *param_args(params)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"expand {pipe} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode()


def pipe_cases() -> list[Case]:
    out = []
    for pipe, params in PIPE_CASES:
        label = f"pipe {pipe}" + (f" {json.dumps(params, sort_keys=True)}" if params else "")
        sql = expand(pipe, params)
        out.append(Case(label=label, sql=sql, ordered="ORDER BY" in sql, pipe=pipe, params=params))
    return out


def run_ours(cases: list[Case], files: list[Path], workdir: Path) -> list[dict]:
    """One llm-metrics process: loads `files`, answers every case, one JSON line each."""
    batch = workdir / "queries.jsonl"
    with batch.open("w", encoding="utf-8") as f:
        for case in cases:
            spec = {"pipe": case.pipe, "params": case.params} if case.pipe else {"sql": case.sql}
            f.write(json.dumps(spec) + "\n")
    out = diff.run_cli(["sql", "--batch", str(batch), *map(str, files)])
    results = out if isinstance(out, list) else [out]
    if len(results) != len(cases):
        raise RuntimeError(f"expected {len(cases)} results, got {len(results)}")
    return results


def check_refused(suite: diff.Suite, case: Case, result: dict) -> list[str]:
    """Both engines refuse `case`: chDB with the error it names, llm-metrics with its text."""
    problems = []
    try:
        suite.engine.query(case.sql)
        problems.append(f"chDB answered; expected {case.raises}")
    except Exception as exc:  # noqa: BLE001 - chDB raises a plain RuntimeError
        if f"({case.raises})" not in str(exc):
            problems.append(f"chDB raised another error: {str(exc)[:300]}")
    # After an error the session may hand the rows it had streamed to the next query: take them.
    try:
        suite.engine.query("SELECT 1")
    except Exception:  # noqa: BLE001 - only the leftover output is wanted here
        pass
    if "error" not in result:
        problems.append(f"llm-metrics answered: {json.dumps(result)[:300]}")
    elif case.says not in result["error"]:
        problems.append(f"llm-metrics: {result['error']} (expected {case.says!r})")
    return problems


def run_tier(
    suite: diff.Suite, tier: str, files: list[Path], cases: list[Case], workdir: Path
) -> None:
    chosen = [c for c in cases if tier in c.tiers]
    start = time.perf_counter()
    suite.engine.load(files)
    print(f"--   {tier}: loaded into chDB in {time.perf_counter() - start:.2f}s")
    start = time.perf_counter()
    ours = run_ours(chosen, files, workdir)
    print(f"--   {tier}: llm-metrics loaded and answered {len(chosen)} queries in "
          f"{time.perf_counter() - start:.2f}s")
    for case, result in zip(chosen, ours):
        if case.raises:
            suite.check(f"{tier}: {case.label}", lambda c=case, r=result: check_refused(suite, c, r))
            continue
        if "error" in result:
            suite.record(f"{tier}: {case.label}", [f"llm-metrics: {result['error']}"])
            continue
        suite.check_query(f"{tier}: {case.label}", case.sql, lambda r=result: r, case.ordered)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", help="llm-metrics binary (default: target/release/llm-metrics)")
    parser.add_argument("--small-only", action="store_true", help="skip the 1M-row tier")
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="directory to write generated files to (kept afterwards)")
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    diff.CLI = diff.find_cli(args.bin)
    suite = diff.Suite(diff.ChdbEngine(diff.read_schema()))
    cases = QUERIES + pipe_cases()
    if args.only:
        cases = [c for c in cases if args.only in c.label]
    print(f"--   {len(cases)} cases ({len(QUERIES)} queries, {len(PIPE_CASES)} pipe runs)")
    with tempfile.TemporaryDirectory(prefix="llm-metrics-sql-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        tiers = [("small", 20_000, 11)]
        if not args.small_only:
            tiers.append(("large", args.large_rows, 12))
        for tier, rows, seed in tiers:
            path = workdir / f"{tier}-{rows}.ndjson"
            if not path.exists():
                subprocess.run(
                    [str(diff.CLI), "gen", "--rows", str(rows), "--seed", str(seed), "--out",
                     str(path)],
                    check=True,
                    timeout=600,
                )
            files = [path]
            if tier == "small":
                files.append(diff.FIXTURES / "edge_cases.ndjson")
            run_tier(suite, tier, files, cases, workdir)
    print(suite.summary())
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
