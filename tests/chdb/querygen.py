"""A seeded, grammar-driven generator of random ClickHouse queries over ``llm_events``.

Queries are built as a small syntax tree (:class:`E` expressions inside :class:`Query` nodes),
rendered to SQL by :func:`render`, and shrunk by :func:`shrink_candidates`, which proposes
smaller variants of a tree (clauses dropped, subexpressions replaced by their children or by
constants) for a delta-debugging loop.

The grammar covers the SQL subset llm-metrics implements (src/query/funcs.rs and agg.rs): every
aggregate with its ``-If`` combinator, every scalar function, ``WHERE``/``HAVING``/``GROUP BY``/
``ORDER BY``/``LIMIT BY``/``LIMIT``/``OFFSET``/``DISTINCT``, ``WITH`` (aliases and table
subqueries), subqueries in ``FROM``, ``IN`` and as scalars, NULL-producing expressions, and edge
constants. A few functions outside the subset (``concat``, ``ifNull``, ...) are
generated on purpose, so that their refusal is checked to be a clean ``not supported`` error.

Type tags used while generating: ``i`` integer, ``f`` float, ``s`` string, ``t`` DateTime,
``d`` Date, ``b`` condition, ``a`` array (quantiles, select lists only).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Iterator

TABLE = "llm_events"

#: The columns of llm_events with their type tags.
COLUMNS: list[tuple[str, str]] = [
    ("event_time", "t"),
    ("model_name", "s"),
    ("prompt_tokens", "i"),
    ("completion_tokens", "i"),
    ("total_tokens", "i"),
    ("cost", "f"),
    ("latency", "f"),
    ("success", "i"),
    ("error_message", "s"),
    ("provider", "s"),
    ("cache_read_tokens", "i"),
    ("cache_write_tokens", "i"),
    ("reasoning_tokens", "i"),
    ("source_format", "s"),
    ("request_id", "s"),
    ("user_id", "s"),
    ("cost_source", "s"),
    ("time_source", "s"),
]

INT_EDGES = [
    "0", "1", "2", "3", "7", "10", "100", "1000", "255", "256", "65535", "65536", "4294967295",
    "4294967296", "9223372036854775807", "18446744073709551615", "-1", "-128", "-2147483648",
    "-9223372036854775808", "-0",
]
SMALL_INTS = ["0", "1", "2", "3", "5", "7", "10", "60", "100", "1000", "-1", "-3"]
FLOAT_EDGES = [
    "0.5", "-0.0", "0.", "1.5", "0.1", "1e30", "1e-7", "-2.5", "1e308", "3.14159", "100.25",
    "-1e-7", "2.5e3", "1e-320", "0.30000000000000004",
]
NON_FINITE = ["nan", "inf", "-inf", "-nan"]
STR_EDGES = [
    "''", "'gpt-4o'", "'gpt-4o-mini'", "'claude-3-haiku'", "'claude-3-5-sonnet'",
    "'gemini-1.5-flash'", "'mistral-large'", "'llama-3.1-70b'", "'é'", "'模型-ü'",
    "'caf\u00e9 \U0001F600'", "'a\\\\b'", "'it\\'s'", "'tab\\there'", "'nl\\n'", "'x'",
    "'rate limit exceeded'", "'%'", "'Timeout'", "'GPT-4O'", "' '", "'\\0'",
    "'openai'", "'anthropic'", "'log'", "'unpriced'", "'stream'", "'claude_code'",
]
LIKE_PATTERNS = [
    "'gpt%'", "'%mini%'", "'GPT%'", "'%'", "''", "'_'", "'%e%'", "'gemini-1._-flash'",
    "'%\\\\_%'", "'claude%'", "'%-%-%'", "'%rate%limit%'", "'%模型%'", "'_%_'", "'%\\\\%%'",
]
DATETIMES = [
    "1970-01-01 00:00:00", "2106-02-07 06:28:15", "2024-09-01 00:00:00", "2024-09-10 12:30:00",
    "2024-09-15 00:00:00", "2024-10-01 00:00:00", "2024-02-29 23:59:59", "2024-12-31 23:59:59",
    "2023-12-31 23:59:59", "2024-09-30 23:59:59", "2000-02-29 12:00:00", "2038-01-19 03:14:08",
]
DATES = [
    "1970-01-01", "2106-02-07", "2149-06-06", "2024-09-01", "2024-09-10", "2024-10-01",
    "2024-02-29", "2023-12-31", "2024-01-01", "2000-02-29",
]
UNITS = ["SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]
SUBDAY_UNITS = ["SECOND", "MINUTE", "HOUR"]
DATE_UNITS = ["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]
INTERVAL_NS = ["1", "1", "2", "3", "5", "7", "11", "12", "15", "30", "90", "0", "-1", "100"]
DIFF_UNITS = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"]
CASE_INSENSITIVE = {"count", "sum", "avg", "min", "max", "if", "coalesce", "lower", "upper",
                    "length", "round", "floor", "ceil", "abs"}
LEVELS = ["0", "0.01", "0.1", "0.25", "0.5", "0.5", "0.75", "0.9", "0.95", "0.99", "1"]


# ------------------------------------------------------------------------------------------------
# The syntax tree


@dataclass
class E:
    """An expression node. ``args`` holds the child expressions the shrinker may descend into."""

    kind: str
    text: str = ""
    args: list["E"] = field(default_factory=list)
    params: list[str] | None = None  # parametric aggregates: quantile(0.5)(x)
    neg: bool = False
    sub: "Query | None" = None
    tag: str = ""


@dataclass
class Query:
    """A SELECT statement."""

    withs: list[tuple[str, object]] = field(default_factory=list)  # (name, E | Query)
    distinct: bool = False
    select: list[tuple[E, str | None]] = field(default_factory=list)
    from_table: str | None = TABLE
    from_sub: "Query | None" = None
    from_alias: str | None = None
    where: E | None = None
    group_by: list[E] = field(default_factory=list)
    having: E | None = None
    order_by: list[tuple[E, bool]] = field(default_factory=list)
    limit_by: tuple[int, int | None, list[E]] | None = None
    limit: int | None = None
    offset: int | None = None
    limit_style: str = "plain"  # plain | comma | offset_only
    star_columns: list[str] = field(default_factory=list)  # the columns * expands to


def col(name: str, tag: str = "") -> E:
    return E("col", name, tag=tag)


def lit(text: str, tag: str = "") -> E:
    return E("lit", text, tag=tag)


def fn(name: str, *args: E, params: list[str] | None = None, tag: str = "") -> E:
    return E("func", name, list(args), params=params, tag=tag)


def binop(op: str, a: E, b: E, tag: str = "") -> E:
    return E("bin", op, [a, b], tag=tag)


# ------------------------------------------------------------------------------------------------
# Rendering


def render(e: E) -> str:
    k = e.kind
    if k in ("col", "lit", "ref", "raw"):
        return e.text
    if k == "star":
        return "*"
    if k == "func":
        args = ", ".join(render(a) for a in e.args)
        if e.params:
            return f"{e.text}({', '.join(e.params)})({args})"
        return f"{e.text}({args})"
    if k == "distinct_count":
        return f"count(DISTINCT {', '.join(render(a) for a in e.args)})"
    if k == "bin":
        return f"({render(e.args[0])} {e.text} {render(e.args[1])})"
    if k == "neg":
        return f"-({render(e.args[0])})"
    if k == "not":
        return f"NOT ({render(e.args[0])})"
    if k in ("and", "or"):
        return "(" + f" {k.upper()} ".join(render(a) for a in e.args) + ")"
    if k == "isnull":
        return f"({render(e.args[0])} IS {'NOT ' if e.neg else ''}NULL)"
    if k == "like":
        return f"({render(e.args[0])} {'NOT ' if e.neg else ''}{e.text} {render(e.args[1])})"
    if k == "in":
        left = render(e.args[0])
        op = "NOT IN" if e.neg else "IN"
        if e.sub is not None:
            return f"({left} {op} ({render_query(e.sub)}))"
        if e.text == "array":
            return f"({left} {op} [{', '.join(render(a) for a in e.args[1:])}])"
        return f"({left} {op} ({', '.join(render(a) for a in e.args[1:])}))"
    if k == "between":
        a, lo, hi = (render(x) for x in e.args)
        return f"({a} {'NOT ' if e.neg else ''}BETWEEN {lo} AND {hi})"
    if k == "case":
        parts = ["CASE"]
        n = len(e.args)
        pairs = n // 2
        for i in range(pairs):
            parts.append(f"WHEN {render(e.args[2 * i])} THEN {render(e.args[2 * i + 1])}")
        if n % 2:
            parts.append(f"ELSE {render(e.args[-1])}")
        parts.append("END")
        return " ".join(parts)
    if k == "interval":
        return f"INTERVAL {render(e.args[0])} {e.text}"
    if k == "subq":
        assert e.sub is not None
        return f"({render_query(e.sub)})"
    raise ValueError(f"unknown node {k}")


def render_query(q: Query) -> str:
    out = []
    if q.withs:
        items = []
        for name, item in q.withs:
            if isinstance(item, Query):
                items.append(f"{name} AS ({render_query(item)})")
            else:
                items.append(f"{render(item)} AS {name}")
        out.append("WITH " + ", ".join(items))
    sel = []
    for e, alias in q.select:
        sel.append(render(e) + (f" AS {alias}" if alias else ""))
    out.append("SELECT " + ("DISTINCT " if q.distinct else "") + ", ".join(sel))
    if q.from_sub is not None:
        out.append(f"FROM ({render_query(q.from_sub)})" + (f" AS {q.from_alias}" if q.from_alias else ""))
    elif q.from_table:
        out.append(f"FROM {q.from_table}")
    if q.where is not None:
        out.append(f"WHERE {render(q.where)}")
    if q.group_by:
        out.append("GROUP BY " + ", ".join(render(g) for g in q.group_by))
    if q.having is not None:
        out.append(f"HAVING {render(q.having)}")
    if q.order_by:
        out.append(
            "ORDER BY " + ", ".join(render(o) + (" DESC" if d else "") for o, d in q.order_by)
        )
    if q.limit_by is not None:
        n, off, by = q.limit_by
        lb = f"LIMIT {n}" + (f" OFFSET {off}" if off is not None else "")
        out.append(lb + " BY " + ", ".join(render(b) for b in by))
    if q.limit is not None:
        if q.offset is not None and q.limit_style == "comma":
            out.append(f"LIMIT {q.offset}, {q.limit}")
        elif q.offset is not None:
            out.append(f"LIMIT {q.limit} OFFSET {q.offset}")
        else:
            out.append(f"LIMIT {q.limit}")
    elif q.offset is not None:
        out.append(f"OFFSET {q.offset}")
    return " ".join(out)


# ------------------------------------------------------------------------------------------------
# Order analysis


def output_names(q: Query) -> list[str]:
    """A key per output column: its alias or its rendered expression."""
    names = []
    for e, alias in q.select:
        if e.kind == "star":
            names.extend(q.star_columns)
        else:
            names.append(alias or render(e))
    return names


def is_total_order(q: Query) -> bool:
    """Whether ORDER BY names every output column (so the output order is determined)."""
    if not q.order_by:
        return False
    keys = set()
    for o, _ in q.order_by:
        keys.add(render(o))
        if o.kind == "lit" and o.text.isdigit():
            i = int(o.text) - 1
            names = output_names(q)
            if 0 <= i < len(names):
                keys.add(names[i])
    covered = []
    for e, alias in q.select:
        if e.kind == "star":
            covered.extend(c in keys for c in q.star_columns)
        else:
            covered.append(render(e) in keys or (alias is not None and alias in keys))
    return all(covered)


def deterministic(q: Query) -> bool:
    """A LIMIT (or LIMIT BY, or OFFSET) is only deterministic after a total ORDER BY; the same
    holds for every subquery."""
    if (q.limit is not None or q.limit_by is not None or q.offset is not None) and not is_total_order(q):
        return False
    for sub in subqueries(q):
        if not deterministic(sub):
            return False
    return True


def subqueries(q: Query) -> Iterator[Query]:
    for _, item in q.withs:
        if isinstance(item, Query):
            yield item
        else:
            yield from expr_subqueries(item)
    if q.from_sub is not None:
        yield q.from_sub
    for e in query_exprs(q):
        yield from expr_subqueries(e)


def query_exprs(q: Query) -> Iterator[E]:
    for e, _ in q.select:
        yield e
    if q.where is not None:
        yield q.where
    yield from q.group_by
    if q.having is not None:
        yield q.having
    for o, _ in q.order_by:
        yield o
    if q.limit_by is not None:
        yield from q.limit_by[2]


def expr_subqueries(e: E) -> Iterator[Query]:
    if e.sub is not None:
        yield e.sub
    for a in e.args:
        yield from expr_subqueries(a)


def functions_in(e: E) -> list[str]:
    """Names of functions and operators in `e`, outermost first."""
    out = []
    if e.kind == "func":
        out.append(e.text)
    elif e.kind in ("bin", "like"):
        out.append(e.text)
    elif e.kind in ("neg", "not", "and", "or", "isnull", "in", "between", "case", "interval",
                    "subq", "distinct_count"):
        out.append(e.kind)
    for a in e.args:
        out.extend(functions_in(a))
    return out


# ------------------------------------------------------------------------------------------------
# Generation


@dataclass
class Scope:
    """What a query's expressions may refer to."""

    columns: list[tuple[str, str]]
    names: list[tuple[str, str]] = field(default_factory=list)  # WITH aliases usable as leaves
    table: str = TABLE


class Gen:
    """Random queries from one seed."""

    def __init__(self, seed: int, sampled_quantiles: bool = False, unsupported: float = 0.03):
        self.r = random.Random(seed)
        self.sampled_quantiles = sampled_quantiles
        self.unsupported = unsupported
        self.sub_depth = 0
        self.alias_n = 0
        self.cur_keys: list[E] = []

    # --- helpers
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def alias(self, prefix: str = "a") -> str:
        self.alias_n += 1
        return f"{prefix}{self.alias_n}"

    def cols(self, scope: Scope, tag: str) -> list[E]:
        out = [col(n, t) for n, t in scope.columns if t == tag]
        out += [E("ref", n, tag=t) for n, t in scope.names if t == tag]
        return out

    # --- literals
    def literal(self, tag: str) -> E:
        r = self.r
        if tag == "i":
            return lit(r.choice(INT_EDGES if self.chance(0.3) else SMALL_INTS), "i")
        if tag == "f":
            text = r.choice(NON_FINITE if self.chance(0.1) else FLOAT_EDGES)
            return lit(text, "f")
        if tag == "s":
            return lit(r.choice(STR_EDGES), "s")
        if tag == "t":
            v = r.choice(DATETIMES)
            return fn("toDateTime", lit(f"'{v}'"), tag="t")
        if tag == "d":
            return fn("toDate", lit(f"'{r.choice(DATES)}'"), tag="d")
        if tag == "b":
            return lit(r.choice(["1", "0", "true", "false"]), "b")
        return lit("NULL")

    def interval(self, units: list[str] | None = None) -> E:
        unit = self.pick(units or UNITS)
        n = self.pick(INTERVAL_NS)
        if unit in ("MONTH", "QUARTER") and self.chance(0.5):
            n = self.pick(["1", "2", "3", "4", "6", "12", "13", "24"])
        return E("interval", unit, [lit(n, "i")])

    def null_wrap(self, e: E, scope: Scope, depth: int) -> E:
        """An expression of e's type that is sometimes NULL."""
        tag = e.tag
        c = self.r.randrange(7)
        if c in (4, 5) and self.chance(0.6):
            c = 6 if self.chance(0.5) else 0
        if c == 0:
            return fn("if", self.expr("b", scope, depth - 1), e, lit("NULL"), tag=tag)
        if c == 1:
            return fn("if", self.expr("b", scope, depth - 1), lit("NULL"), e, tag=tag)
        if c == 2:
            return E("case", args=[self.expr("b", scope, depth - 1), e], tag=tag)
        if c == 3:
            return fn("coalesce", fn("if", self.expr("b", scope, depth - 1), e, lit("NULL")),
                      self.expr(tag, scope, 0), tag=tag)
        if c == 4:
            return fn("nullIf", e, self.literal(tag), tag=tag)
        if c == 5:
            return fn("ifNull", fn("if", self.expr("b", scope, depth - 1), e, lit("NULL")),
                      self.expr(tag, scope, 0), tag=tag)
        return fn("coalesce", lit("NULL"), e, tag=tag)

    # --- row expressions
    def leaf(self, tag: str, scope: Scope) -> E:
        cands = self.cols(scope, tag)
        if tag == "d" and not cands:
            cands = [fn("toDate", x, tag="d") for x in self.cols(scope, "t")]
        if tag == "b":
            cands = [binop(self.pick(["=", "!=", ">", "<"]), c, self.literal("i"), tag="b")
                     for c in self.cols(scope, "i")]
        if cands and self.chance(0.75):
            return self.pick(cands)
        if self.sub_depth < 2 and self.chance(0.04) and tag in "ifst":
            return self.scalar_subquery(tag)
        return self.literal(tag)

    def expr(self, tag: str, scope: Scope, depth: int) -> E:
        if depth <= 0 or self.chance(0.25):
            return self.leaf(tag, scope)
        if self.chance(0.06):
            return self.null_wrap(self.expr(tag, scope, depth - 1), scope, depth)
        d = depth - 1
        x = lambda t: self.expr(t, scope, d)  # noqa: E731
        r = self.r
        if tag == "i":
            c = r.randrange(20)
            if c == 0:
                return binop(self.pick(["+", "-", "*"]), x("i"), x("i"), tag="i")
            if c == 1:
                return fn("intDiv", x(self.pick("iiif")), self.pick([lit(self.pick(["1", "2", "7", "1000", "-3", "0"])), x("i")]), tag="i")
            if c == 2:
                return binop(self.pick(["%", "%", "%", "MOD", "DIV"]), x("i"), self.pick([lit(self.pick(["2", "7", "10", "-3", "0"])), x("i")]), tag="i")
            if c == 3:
                return fn("length", x("s"), tag="i")
            if c == 4:
                part = self.pick(["toYear", "toMonth", "toDayOfMonth", "toDayOfWeek", "toYYYYMM",
                                  "toYYYYMMDD"])
                return fn(part, x(self.pick("td")), tag="i")
            if c == 5:
                part = self.pick(["toHour", "toMinute", "toSecond", "toUnixTimestamp"])
                return fn(part, x("t"), tag="i")
            if c == 6:
                return fn(self.pick(["dateDiff"] * 5 + ["age"]), lit(f"'{self.pick(DIFF_UNITS)}'"),
                          x(self.pick("td")), x(self.pick("td")), tag="i")
            if c == 7:
                return fn("abs", x(self.pick("ii")), tag="i")
            if c == 8:
                return E("neg", args=[x("i")], tag="i")
            if c == 9:
                name = self.pick(["toInt8", "toInt16", "toInt32", "toInt64", "toUInt8",
                                  "toUInt16", "toUInt32", "toUInt64"])
                arg = x(self.pick("iifb")) if self.chance(0.85) else lit(self.pick(["'12'", "'-5'", "'abc'", "''", "' 7'"]))
                return fn(name, arg, tag="i")
            if c == 10:
                return fn(self.pick(["round", "floor", "ceil"]), x("i"),
                          lit(self.pick(["-1", "-2", "0", "1"])), tag="i")
            if c == 11:
                return fn("if", x("b"), x("i"), x("i"), tag="i")
            if c == 12:
                return self.multi_if("i", scope, d)
            if c == 13:
                return self.case("i", scope, d)
            if c == 14:
                return fn(self.pick(["empty", "notEmpty"]), x("s"), tag="i")
            if c == 15:
                return binop("-", x("t"), x("t"), tag="i")
            if c == 16:
                return fn("coalesce", x("i"), x("i"), tag="i")
            if c == 17:
                return fn(self.pick(["greatest", "least"]), x("i"), x("i"), tag="i")
            return x("b") if self.chance(0.3) else self.leaf("i", scope)
        if tag == "f":
            c = r.randrange(14)
            if c == 0:
                return binop(self.pick(["+", "-", "*"]), x("f"), x(self.pick("if")), tag="f")
            if c == 1:
                return binop("/", x(self.pick("if")), x(self.pick("if")), tag="f")
            if c == 2:
                return fn("round", x("f"), *([lit(self.pick(["0", "1", "2", "3", "-1"]))] if self.chance(0.7) else []), tag="f")
            if c == 3:
                return fn(self.pick(["floor", "ceil", "ceil", "ceiling"]), x("f"), *([lit(self.pick(["0", "1", "2", "-1"]))] if self.chance(0.5) else []), tag="f")
            if c == 4:
                return fn("abs", x("f"), tag="f")
            if c == 5:
                return fn(self.pick(["toFloat32", "toFloat64"]), x(self.pick("ifi")) if self.chance(0.9) else lit(self.pick(["'1.5'", "'nan'", "'x'", "'1e3'"])), tag="f")
            if c == 6:
                return fn("if", x("b"), x("f"), x(self.pick("fi")), tag="f")
            if c == 7:
                return self.multi_if("f", scope, d)
            if c == 8:
                return self.case("f", scope, d)
            if c == 9:
                return E("neg", args=[x("f")], tag="f")
            if c == 10:
                return binop("*", x("f"), lit(self.pick(["1000", "0.001", "-1", "1e30"])), tag="f")
            return self.leaf("f", scope)
        if tag == "s":
            c = r.randrange(12)
            if c == 0:
                return fn(self.pick(["lower", "upper", "lowerUTF8", "upperUTF8"]), x("s"), tag="s")
            if c == 1:
                return fn("toString", x(self.pick("ifsdtb")), tag="s")
            if c == 2:
                return fn("if", x("b"), x("s"), x("s"), tag="s")
            if c == 3:
                return self.multi_if("s", scope, d)
            if c == 4:
                return self.case("s", scope, d)
            if c == 5:
                return fn("coalesce", x("s"), x("s"), tag="s")
            if c == 6 and self.chance(self.unsupported * 10):
                return self.pick([fn("concat", x("s"), x("s"), tag="s"), binop("||", x("s"), x("s"), tag="s")])
            return self.leaf("s", scope)
        if tag == "t":
            c = r.randrange(9)
            if c == 0:
                name = self.pick(["toStartOfMinute", "toStartOfFiveMinutes", "toStartOfTenMinutes",
                                  "toStartOfFifteenMinutes", "toStartOfHour", "toStartOfDay"])
                return fn(name, x("t"), tag="t")
            if c == 1:
                return fn("toDateTime", x(self.pick("td")) if self.chance(0.8) else lit(f"'{self.pick(DATETIMES)}'"), tag="t")
            if c == 2:
                return binop(self.pick(["+", "-"]), x("t"), self.interval(), tag="t")
            if c == 3:
                return fn("toStartOfInterval", x("t"), self.interval(SUBDAY_UNITS + ["DAY"]), tag="t")
            if c == 4:
                return fn("if", x("b"), x("t"), x("t"), tag="t")
            if c == 5:
                return binop("+", x("d"), self.interval(SUBDAY_UNITS), tag="t")
            return self.leaf("t", scope)
        if tag == "d":
            c = r.randrange(8)
            if c == 0:
                name = "toDate32" if self.chance(self.unsupported) else "toDate"
                return fn(name, x(self.pick("tt")) if self.chance(0.8) else lit(f"'{self.pick(DATES)}'"), tag="d")
            if c == 1:
                name = self.pick(["toMonday", "toStartOfMonth", "toStartOfQuarter", "toStartOfYear"])
                return fn(name, x(self.pick("td")), tag="d")
            if c == 2:
                return fn("toStartOfWeek", x(self.pick("td")), *([lit(self.pick(["0", "1", "2", "3"]))] if self.chance(0.5) else []), tag="d")
            if c == 3:
                return binop(self.pick(["+", "-"]), x("d"), self.interval(DATE_UNITS), tag="d")
            if c == 4:
                return fn("toStartOfInterval", x("t"), self.interval(["WEEK", "MONTH", "QUARTER", "YEAR"]), tag="d")
            if c == 5:
                return fn("if", x("b"), x("d"), x("d"), tag="d")
            return self.leaf("d", scope)
        if tag == "b":
            return self.cond(scope, depth)
        raise ValueError(tag)

    def multi_if(self, tag: str, scope: Scope, d: int) -> E:
        n = self.r.randint(1, 3)
        args = []
        for _ in range(n):
            args += [self.expr("b", scope, d), self.expr(tag, scope, d)]
        args.append(self.expr(tag, scope, d))
        return fn("multiIf", *args, tag=tag)

    def case(self, tag: str, scope: Scope, d: int) -> E:
        n = self.r.randint(1, 3)
        args = []
        for _ in range(n):
            args += [self.expr("b", scope, d), self.expr(tag, scope, d)]
        if self.chance(0.6):
            args.append(self.expr(tag, scope, d))
        return E("case", args=args, tag=tag)

    def cond(self, scope: Scope, depth: int) -> E:
        d = depth - 1
        x = lambda t: self.expr(t, scope, d)  # noqa: E731
        c = self.r.randrange(16)
        cmp = self.pick(["=", "!=", "<>", "<", ">", "<=", ">=", "=="])
        if c <= 2:
            return binop(cmp, x(self.pick("iff")), x(self.pick("if")), tag="b")
        if c == 3:
            return binop(cmp, x("s"), x("s"), tag="b")
        if c == 4:
            right = self.pick([x(self.pick("td")), lit(f"'{self.pick(DATETIMES + DATES)}'")])
            return binop(cmp, x(self.pick("td")), right, tag="b")
        if c == 5:
            return E(self.pick(["and", "or"]), args=[x("b") for _ in range(self.r.randint(2, 3))], tag="b")
        if c == 6:
            return E("not", args=[x("b")], tag="b")
        if c == 7:
            return E("like", self.pick(["LIKE", "ILIKE"]), [x("s"), lit(self.pick(LIKE_PATTERNS))],
                     neg=self.chance(0.3), tag="b")
        if c == 8:
            return self.in_expr(scope, d)
        if c == 9:
            t = self.pick("ift")
            return E("between", args=[x(t), x(t), x(t)], neg=self.chance(0.3), tag="b")
        if c == 10:
            inner = self.null_wrap(x(self.pick("ifs")), scope, depth) if self.chance(0.7) else x(self.pick("ifs"))
            return E("isnull", args=[inner], neg=self.chance(0.5), tag="b")
        if c == 11:
            return fn(self.pick(["empty", "notEmpty"]), x("s"), tag="b")
        if c == 12 and self.cols(scope, "t"):
            return binop(cmp, self.pick(self.cols(scope, "t")),
                         binop("-", fn(self.pick(["now", "today", "yesterday"])), self.interval(["YEAR"]) if self.chance(0.5) else E("interval", "YEAR", [lit("100")])), tag="b")
        if c == 13:
            return binop(cmp, x("i"), lit("NULL") if self.chance(0.3) else self.literal("i"), tag="b")
        if c == 14:
            return x("i")
        return self.leaf("b", scope)

    def in_expr(self, scope: Scope, d: int) -> E:
        t = self.pick("isstd")
        left = self.expr(t, scope, d)
        neg = self.chance(0.3)
        if self.sub_depth < 2 and self.chance(0.3) and t in "is":
            sub = self.column_subquery(t)
            return E("in", args=[left], neg=neg, sub=sub, tag="b")
        n = self.r.randint(1, 4)
        items = []
        for _ in range(n):
            if t == "t":
                items.append(lit(f"'{self.pick(DATETIMES)}'"))
            elif t == "d":
                items.append(lit(f"'{self.pick(DATES)}'"))
            else:
                items.append(self.literal(t) if self.chance(0.85) else lit("NULL"))
        form = "array" if self.chance(0.2) else "tuple"
        return E("in", form, [left] + items, neg=neg, tag="b")

    # --- subqueries used as expressions
    def scalar_subquery(self, tag: str) -> E:
        self.sub_depth += 1
        saved, self.cur_keys = self.cur_keys, []
        try:
            scope = Scope(COLUMNS)
            q = Query()
            q.select = [(self.agg_call(tag, scope, 1), None)]
            if self.chance(0.4):
                q.where = self.expr("b", scope, 2)
            return E("subq", sub=q, tag=tag)
        finally:
            self.sub_depth -= 1
            self.cur_keys = saved

    def column_subquery(self, tag: str) -> Query:
        self.sub_depth += 1
        saved, self.cur_keys = self.cur_keys, []
        try:
            scope = Scope(COLUMNS)
            q = Query()
            if self.chance(0.5):
                e = self.expr(tag, scope, 1)
                q.select = [(e, None)]
                q.where = self.expr("b", scope, 2)
                if self.chance(0.3):
                    q.distinct = True
            else:
                key = self.key_expr(scope)
                self.cur_keys = [key]
                q.group_by = [key]
                q.select = [(self.agg_call(tag, scope, 1), None)]
                if self.chance(0.5):
                    q.having = self.agg_expr("b", scope, [key], 1)
            return q
        finally:
            self.sub_depth -= 1
            self.cur_keys = saved

    # --- aggregates
    def agg_arg(self, tag: str, scope: Scope) -> E:
        return self.expr(tag, scope, self.r.randint(0, 2))

    def agg_call(self, tag: str, scope: Scope, depth: int) -> E:
        r = self.r
        a = lambda t: self.agg_arg(t, scope)  # noqa: E731
        cond = lambda: self.expr("b", scope, 2)  # noqa: E731
        det = lambda t: self.determined(t)  # noqa: E731
        ifc = self.chance(0.25)
        if tag == "f" and self.chance(0.04):
            # Variances, covariances and correlations, over Float64 arguments: over Float32
            # ones ClickHouse sums the moments in Float32, whose rounding depends on the order
            # rows are met in (sql_suite checks their types).
            name = self.pick(["varPop", "varSamp", "stddevPop", "stddevSamp", "covarPop",
                              "covarSamp", "corr"])
            args = [fn("toFloat64", a(self.pick("if")), tag="f")]
            if name in ("covarPop", "covarSamp", "corr"):
                args.append(fn("toFloat64", a(self.pick("if")), tag="f"))
            if ifc:
                return fn(name + "If", *args, cond(), tag="f")
            return fn(name, *args, tag="f")
        if self.chance(self.unsupported / 3):
            # (groupArray and groupUniqArray give rows in an order ClickHouse leaves open;
            # sql_suite checks them sorted.)
            name = self.pick(["uniqCombined", "argMinIf", "sumMap", "anyHeavy", "topK"])
            if name == "argMinIf":
                return fn(name, a(tag if tag in "ifst" else "f"), a("f"), cond(), tag=tag)
            return fn(name, a(tag if tag in "ifst" else "f"), tag=tag)
        if tag == "i":
            c = r.randrange(12)
            if c == 0:
                return fn("countIf", cond(), tag="i") if ifc else fn("count", tag="i")
            if c == 1:
                arg = a(self.pick("ifst"))
                if ifc:
                    return fn("countIf", arg, cond(), tag="i")
                return self.pick([fn("count", arg, tag="i"), fn("count", E("star"), tag="i")])
            if c == 2:
                return E("distinct_count", args=[a(self.pick("ifst"))], tag="i")
            if c == 3:
                name = self.pick(["uniq", "uniqExact", "countDistinct"])
                args = [a(self.pick("ifstd")) for _ in range(self.pick([1, 1, 1, 2]))]
                if ifc and name != "countDistinct":
                    return fn(name + "If", *args, cond(), tag="i")
                return fn(name, *args, tag="i")
            if c in (4, 5):
                return fn("sumIf", a("i"), cond(), tag="i") if ifc else fn("sum", a("i"), tag="i")
            if c in (6, 7):
                name = self.pick(["min", "max"])
                return fn(name + "If", a("i"), cond(), tag="i") if ifc else fn(name, a("i"), tag="i")
            if c == 8:
                name = self.pick(["any", "anyLast"])
                return fn(name + "If", det("i"), cond(), tag="i") if ifc else fn(name, det("i"), tag="i")
            if c == 9:
                return self.arg_min_max("i", scope)
            if c == 10:
                name = self.pick(["quantileExact", "medianExact"])
                params = [self.pick(LEVELS)] if name == "quantileExact" or self.chance(0.3) else []
                if ifc:
                    return fn(name + "If", a("i"), cond(), params=params, tag="i")
                return fn(name, a("i"), params=params, tag="i")
            return fn("count", tag="i")
        if tag == "f":
            c = r.randrange(9)
            if c <= 2:
                return fn("avgIf", a(self.pick("if")), cond(), tag="f") if ifc else fn("avg", a(self.pick("if")), tag="f")
            if c == 3:
                return fn("sumIf", a("f"), cond(), tag="f") if ifc else fn("sum", a("f"), tag="f")
            if c == 4:
                name = self.pick(["min", "max", "any", "anyLast"])
                arg = det("f") if name.startswith("any") else a("f")
                return fn(name + "If", arg, cond(), tag="f") if ifc else fn(name, arg, tag="f")
            if c == 5:
                names = ["quantileExact", "quantileExactInclusive", "medianExact"]
                if self.sampled_quantiles:
                    names += ["quantile", "median"]
                name = self.pick(names)
                params = [self.pick(LEVELS)] if name.startswith("quantile") or self.chance(0.3) else []
                arg = a(self.pick("fi")) if name != "quantileExact" else a("f")
                if ifc:
                    return fn(name + "If", arg, cond(), params=params, tag="f")
                return fn(name, arg, params=params, tag="f")
            if c == 6:
                return self.arg_min_max("f", scope)
            return fn("avg", a(self.pick("if")), tag="f")
        if tag == "s":
            c = r.randrange(4)
            if c == 0:
                name = self.pick(["min", "max"])
                return fn(name + "If", a("s"), cond(), tag="s") if ifc else fn(name, a("s"), tag="s")
            if c == 1:
                name = self.pick(["any", "anyLast"])
                return fn(name + "If", det("s"), cond(), tag="s") if ifc else fn(name, det("s"), tag="s")
            return self.arg_min_max("s", scope)
        if tag in ("t", "d"):
            c = r.randrange(4)
            if c <= 1:
                name = self.pick(["min", "max"])
                return fn(name + "If", a(tag), cond(), tag=tag) if ifc else fn(name, a(tag), tag=tag)
            if c == 2:
                return self.arg_min_max(tag, scope)
            return fn("quantileExact", a(tag), params=[self.pick(LEVELS)], tag=tag)
        if tag == "a":
            names = ["quantilesExact", "quantilesExactInclusive"]
            if self.sampled_quantiles:
                names.append("quantiles")
            name = self.pick(names)
            levels = [self.pick(LEVELS) for _ in range(self.r.randint(1, 4))]
            arg = a(self.pick("if" if name != "quantilesExact" else "ift"))
            if ifc:
                return fn(name + "If", arg, cond(), params=levels, tag="a")
            return fn(name, arg, params=levels, tag="a")
        if tag == "b":
            return binop(self.pick([">", "<", "=", ">=", "!="]), self.agg_call("i", scope, depth),
                         self.literal("i"), tag="b")
        raise ValueError(tag)

    def determined(self, tag: str) -> E:
        """An argument for any()/anyLast() whose value is the same on every row of a group: a
        group key, a function of one, or a constant (which row comes first is unspecified)."""
        keys = [k for k in self.cur_keys if k.tag == tag]
        if keys and self.chance(0.7):
            return copy.deepcopy(self.pick(keys))
        keys = self.cur_keys
        if keys and self.chance(0.6):
            k = copy.deepcopy(self.pick(keys))
            return self.derive(k, tag)
        return self.expr(tag, Scope([]), 1)

    def derive(self, e: E, tag: str) -> E:
        """An expression of type `tag` that is a function of `e` alone."""
        if e.tag == tag:
            return e
        if e.tag == "s":
            test = binop(">", fn("length", e), lit("3"))
        elif e.tag in "td":
            test = binop(">", fn("toDayOfMonth", e), lit("15"))
        else:
            test = binop(">", e, lit("1"))
        if tag == "s":
            if e.tag in "ifb":
                return fn("if", test, lit("'big'"), lit("'small'"), tag="s")
            return fn("toString", e, tag="s")
        if tag == "i":
            if e.tag == "s":
                return fn("length", e, tag="i")
            if e.tag in "td":
                return fn(self.pick(["toYear", "toYYYYMMDD", "toDayOfMonth"]), e, tag="i")
            return fn("if", test, lit("1"), lit("2"), tag="i")
        if tag == "f":
            if e.tag in "ifb":
                return binop("*", e, lit("0.5"), tag="f")
            return fn("if", test, lit("0.5"), lit("1.5"), tag="f")
        if tag == "t":
            if e.tag == "d":
                return fn("toDateTime", e, tag="t")
            return fn("if", test, fn("toDateTime", lit("'2024-09-01 00:00:00'")),
                      fn("toDateTime", lit("'2024-10-01 12:00:00'")), tag="t")
        if tag == "d":
            if e.tag == "t":
                return fn("toDate", e, tag="d")
            return fn("if", test, fn("toDate", lit("'2024-09-01'")), fn("toDate", lit("'2024-10-01'")), tag="d")
        return e

    def arg_min_max(self, tag: str, scope: Scope) -> E:
        """argMin/argMax whose value does not depend on which of tied rows comes first: the
        value is a function of the ordering argument."""
        name = self.pick(["argMin", "argMax"])
        by = self.agg_arg(self.pick("iftss"), scope)
        return fn(name, self.derive(copy.deepcopy(by), tag), by, tag=tag)

    def agg_expr(self, tag: str, scope: Scope, keys: list[E], depth: int) -> E:
        """An expression over aggregates, group keys and constants."""
        key_leaves = [k for k in keys if k.tag == tag]
        if depth <= 0 or self.chance(0.45):
            if key_leaves and self.chance(0.15):
                return copy.deepcopy(self.pick(key_leaves))
            if self.chance(0.05):
                return self.literal(tag)
            return self.agg_call(tag, scope, depth)
        d = depth - 1
        x = lambda t: self.agg_expr(t, scope, keys, d)  # noqa: E731
        c = self.r.randrange(8)
        if tag == "i":
            if c == 0:
                return binop(self.pick(["+", "-", "*"]), x("i"), x("i"), tag="i")
            if c == 1:
                return fn("intDiv", x("i"), lit(self.pick(["2", "10", "0"])), tag="i")
            if c == 2:
                return fn("if", x("b"), x("i"), x("i"), tag="i")
            if c == 3:
                return fn(self.pick(["round", "floor"]), x("i"), lit("-1"), tag="i")
            if c == 4:
                return fn("toInt64", x("f"), tag="i")
            return self.agg_call("i", scope, depth)
        if tag == "f":
            if c == 0:
                return binop("/", x(self.pick("if")), x(self.pick("if")), tag="f")
            if c == 1:
                return fn("round", x("f"), lit(self.pick(["1", "2", "4"])), tag="f")
            if c == 2:
                return binop(self.pick(["+", "-", "*"]), x("f"), x(self.pick("if")), tag="f")
            if c == 3:
                return fn("if", x("b"), x("f"), x("f"), tag="f")
            if c == 4:
                return binop("*", x("f"), lit(self.pick(["1000", "100", "0.5"])), tag="f")
            if c == 5:
                return fn("if", x("b"), x("f"), lit("NULL"), tag="f")
            return self.agg_call("f", scope, depth)
        if tag == "s":
            if c == 0:
                return fn("toString", x(self.pick("if")), tag="s")
            if c == 1:
                return fn(self.pick(["lower", "upper"]), x("s"), tag="s")
            if c == 2:
                return fn("if", x("b"), x("s"), x("s"), tag="s")
            return self.agg_call("s", scope, depth)
        if tag == "b":
            t = self.pick("iifst")
            if c <= 3:
                return binop(self.pick([">", "<", "=", ">=", "<=", "!="]), x(t if t != "s" else "i"), self.literal(t if t != "s" else "i") if self.chance(0.6) else x(t if t != "s" else "i"), tag="b")
            if c == 4:
                return E(self.pick(["and", "or"]), args=[x("b"), x("b")], tag="b")
            if c == 5:
                return E("not", args=[x("b")], tag="b")
            if c == 6:
                return E("isnull", args=[x(self.pick("if"))], neg=self.chance(0.5), tag="b")
            return x("i")
        if tag in ("t", "d"):
            if c == 0:
                return binop(self.pick(["+", "-"]), x(tag), self.interval(DATE_UNITS if tag == "d" else None), tag=tag)
            if c == 1:
                return fn("toDate", x("t"), tag="d") if tag == "d" else fn("toStartOfHour", x("t"), tag="t")
            return self.agg_call(tag, scope, depth)
        if tag == "a":
            return self.agg_call("a", scope, depth)
        raise ValueError(tag)

    # --- queries
    def key_expr(self, scope: Scope) -> E:
        """A GROUP BY key, mostly of low cardinality."""
        s_cols = self.cols(scope, "s")
        i_cols = self.cols(scope, "i")
        t_cols = self.cols(scope, "t")
        f_cols = self.cols(scope, "f")
        cands = []
        cands += s_cols
        cands += [c for c in i_cols if c.text in ("success",)]
        for t in t_cols:
            cands += [
                fn("toDate", t, tag="d"),
                fn("toHour", t, tag="i"),
                fn("toDayOfWeek", t, tag="i"),
                fn("toStartOfDay", t, tag="t"),
                fn("toStartOfWeek", t, tag="d"),
                fn("toStartOfMonth", t, tag="d"),
                fn("toYYYYMM", t, tag="i"),
                fn("toStartOfInterval", t, self.interval(["DAY", "WEEK", "MONTH", "QUARTER", "HOUR"]), tag=self.pick("td")),
            ]
        for i in i_cols:
            cands.append(fn("intDiv", i, lit(self.pick(["100", "1000", "5000"])), tag="i"))
            cands.append(binop("%", i, lit(self.pick(["2", "3", "10"])), tag="i"))
        for f in f_cols:
            cands.append(fn("round", f, tag="f"))
            cands.append(fn("floor", f, lit("-1"), tag="f"))
        for s in s_cols:
            cands.append(fn("length", s, tag="i"))
            cands.append(fn(self.pick(["lower", "upper"]), s, tag="s"))
        if not cands or self.chance(0.12):
            e = self.expr(self.pick("isb"), scope, 2)
            if e.kind != "lit":
                return e
            if not cands:
                return fn("toString", e, tag="s")
        return copy.deepcopy(self.pick(cands))

    def source(self, scope_cols: list[tuple[str, str]]) -> tuple[Query, Scope]:
        """A subquery usable in FROM, with the columns it outputs."""
        self.sub_depth += 1
        saved = self.cur_keys
        try:
            inner_scope = Scope(COLUMNS)
            q = Query()
            if self.chance(0.35):
                q.select = [(E("star"), None)]
                q.star_columns = [n for n, _ in COLUMNS]
                if self.chance(0.7):
                    q.where = self.expr("b", inner_scope, 2)
                return q, Scope(list(COLUMNS))
            cols: list[tuple[str, str]] = []
            if self.chance(0.6):
                keys = [self.key_expr(inner_scope) for _ in range(self.r.randint(1, 2))]
                self.cur_keys = keys
                q.group_by = []
                for k in keys:
                    name = self.alias("k")
                    q.select.append((k, name))
                    q.group_by.append(E("ref", name, tag=k.tag))
                    cols.append((name, k.tag or "i"))
                for _ in range(self.r.randint(1, 3)):
                    t = self.pick("iiffsst")
                    name = self.alias("v")
                    q.select.append((self.agg_expr(t, inner_scope, keys, 1), name))
                    cols.append((name, t))
            else:
                for _ in range(self.r.randint(1, 4)):
                    t = self.pick("iifstd")
                    name = self.alias("c")
                    q.select.append((self.expr(t, inner_scope, 2), name))
                    cols.append((name, t))
                # Keep some columns under their own names as well.
                for n, t in self.r.sample(COLUMNS, 2):
                    q.select.append((col(n, t), None))
                    cols.append((n, t))
            if self.chance(0.5):
                q.where = self.expr("b", inner_scope, 2)
            return q, Scope(cols, table="")
        finally:
            self.sub_depth -= 1
            self.cur_keys = saved

    def query(self, big: bool = True) -> Query:
        """A random top-level query. `big`: the data has many rows, so row queries get LIMITs."""
        self.alias_n = 0
        q = Query()
        scope = Scope(list(COLUMNS))
        c = self.r.random()
        if c < 0.1:
            sub, scope = self.source(COLUMNS)
            q.from_sub = sub
            q.from_table = None
            if self.chance(0.3):
                q.from_alias = "s"
        elif c < 0.18:
            sub, scope = self.source(COLUMNS)
            name = "t" + str(self.r.randint(1, 9))
            q.withs.append((name, sub))
            q.from_table = name
        if self.chance(0.2):
            for _ in range(self.r.randint(1, 2)):
                t = self.pick("iifsbt")
                name = self.alias("w")
                if self.chance(0.3) and t in "ifst":
                    e = self.scalar_subquery(t)
                elif self.chance(0.5):
                    e = self.literal(t) if t != "b" else self.literal("i")
                else:
                    e = self.expr(t, scope, 2)
                q.withs.append((name, e))
                scope.names.append((name, t if t != "b" else "i"))
        shape = self.r.random()
        if shape < 0.08 and not q.withs:
            # Constants only (no FROM): function semantics on edge values.
            q.from_table = None
            const = Scope([])
            items = []
            for _ in range(self.r.randint(1, 4)):
                t = self.pick("iiffsstdb")
                items.append((self.expr(t, const, self.r.randint(1, 3)), self.alias() if self.chance(0.3) else None))
            q.select = dedupe(items, self)
            self.respell(q)
            return q
        if self.chance(0.5):
            q.where = self.expr("b", scope, self.r.randint(1, 3))
        if shape < 0.3:
            self.fill_aggregate(q, scope, [])
        elif shape < 0.75:
            keys = [self.key_expr(scope) for _ in range(self.r.choice([1, 1, 2, 2, 3]))]
            self.fill_aggregate(q, scope, keys)
        else:
            self.fill_rows(q, scope, big)
        self.respell(q)
        return q

    def respell(self, q: Query) -> None:
        """Writes a few case-insensitive function names in capitals (SUM, Count, IF)."""
        def walk(e: E) -> None:
            if e.kind == "func" and e.text.lower() in CASE_INSENSITIVE and self.chance(0.06):
                e.text = self.pick([e.text.upper(), e.text.capitalize()])
            for a in e.args:
                walk(a)
            if e.sub is not None:
                self.respell(e.sub)
        for e in query_exprs(q):
            walk(e)
        for _, item in q.withs:
            if isinstance(item, Query):
                self.respell(item)
            else:
                walk(item)
        if q.from_sub is not None:
            self.respell(q.from_sub)

    def fill_aggregate(self, q: Query, scope: Scope, keys: list[E]) -> None:
        saved, self.cur_keys = self.cur_keys, keys
        try:
            self._fill_aggregate(q, scope, keys)
        finally:
            self.cur_keys = saved

    def _fill_aggregate(self, q: Query, scope: Scope, keys: list[E]) -> None:
        items: list[tuple[E, str | None]] = []
        key_refs: list[E] = []
        for k in keys:
            alias = self.alias("k") if self.chance(0.5) else None
            if self.chance(0.85):
                items.append((k, alias))
                key_refs.append(E("ref", alias, tag=k.tag) if alias else k)
            else:
                key_refs.append(k)  # grouped by but not selected
        n = self.r.randint(1, 4)
        for _ in range(n):
            t = self.pick("iiiffffssta" + "d")
            e = self.agg_expr(t, scope, keys, self.r.randint(0, 2))
            alias = self.alias() if self.chance(0.5) else None
            items.append((e, alias))
        self.r.shuffle(items)
        # GROUP BY: the expression, its alias, or its position.
        q.group_by = []
        for i, k in enumerate(keys):
            pos = next((j for j, (e, _) in enumerate(items) if e is k), None)
            c = self.r.random()
            if pos is not None and c < 0.15:
                q.group_by.append(lit(str(pos + 1), "i"))
            elif key_refs[i].kind == "ref" and c < 0.6:
                q.group_by.append(copy.deepcopy(key_refs[i]))
            else:
                q.group_by.append(copy.deepcopy(k))
        q.select = dedupe(items, self)
        if self.chance(0.08) and keys:
            q.distinct = True
        if self.chance(0.3):
            q.having = self.agg_expr("b", scope, keys, 2)
            if self.chance(0.3):
                aliased = [(e, a) for e, a in q.select if a and e.tag in "if"]
                if aliased:
                    e, a = self.pick(aliased)
                    q.having = binop(self.pick([">", "<", "!="]), E("ref", a, tag=e.tag), self.literal(e.tag), tag="b")
        many = bool(keys) and any(k.kind not in ("col", "func") or k.tag == "f" for k in keys)
        self.order_and_limit(q, force_limit=many)

    def fill_rows(self, q: Query, scope: Scope, big: bool) -> None:
        if self.chance(0.06) and not scope.names:
            q.select = [(E("star"), None)]
            q.star_columns = [n for n, _ in scope.columns]
        else:
            items = []
            for _ in range(self.r.randint(1, 4)):
                t = self.pick("iifsstdb")
                e = self.expr(t, scope, self.r.randint(0, 3))
                items.append((e, self.alias() if self.chance(0.4) else None))
            q.select = dedupe(items, self)
        if self.chance(0.15):
            q.distinct = True
        self.order_and_limit(q, force_limit=big)

    def order_and_limit(self, q: Query, force_limit: bool) -> None:
        want_limit = force_limit or self.chance(0.3)
        want_limit_by = self.chance(0.1)
        total = want_limit or want_limit_by or self.chance(0.4)
        if total:
            q.order_by = []
            names = []
            for i, (e, alias) in enumerate(q.select):
                if e.kind == "star":
                    for c in q.star_columns:
                        names.append((col(c), None, None))
                else:
                    names.append((e, alias, i))
            self.r.shuffle(names)
            for e, alias, i in names:
                c = self.r.random()
                if e.kind == "lit" and not alias:
                    c = 0.6  # a constant key would read as a position
                if alias and (c < 0.5 or e.kind == "lit"):
                    key = E("ref", alias, tag=e.tag)
                elif i is not None and c < 0.65:
                    key = lit(str(i + 1), "i")
                else:
                    key = copy.deepcopy(e)
                q.order_by.append((key, self.chance(0.35)))
        elif self.chance(0.3) and q.select[0][0].kind != "star":
            e, alias = self.pick(q.select)
            if alias or e.kind != "lit":
                q.order_by = [(E("ref", alias) if alias else copy.deepcopy(e), self.chance(0.5))]
        e, alias = self.pick(q.select)
        if want_limit_by and e.kind != "star" and (alias or e.kind != "lit"):
            by = E("ref", alias) if alias else copy.deepcopy(e)
            q.limit_by = (self.pick([1, 1, 2, 3]), self.pick([None, None, 1]), [by])
        if want_limit:
            q.limit = self.pick([1, 3, 5, 10, 20, 50, 0])
            if self.chance(0.3):
                q.offset = self.pick([0, 1, 2, 5, 100])
                q.limit_style = self.pick(["plain", "comma"])
        elif total and self.chance(0.05):
            q.offset = self.pick([1, 3])


def dedupe(items: list[tuple[E, str | None]], g: Gen) -> list[tuple[E, str | None]]:
    """Gives an alias to select items whose name would repeat an earlier one."""
    seen = set()
    out = []
    for e, alias in items:
        name = alias or render(e)
        if name in seen:
            alias = g.alias("d")
            name = alias
        seen.add(name)
        out.append((e, alias))
    return out


# ------------------------------------------------------------------------------------------------
# Shrinking


CONSTANTS = {"i": "1", "f": "0.5", "s": "'x'", "t": "toDateTime('2024-09-10 00:00:00')",
             "d": "toDate('2024-09-10')", "b": "1", "a": "1", "": "1"}


def expr_variants(e: E) -> Iterator[E]:
    """Smaller expressions to try in place of `e`: each child, then a constant."""
    for a in e.args:
        if a.kind != "interval":
            yield a
    if e.kind not in ("lit", "col", "ref", "star") and e.kind != "interval":
        yield lit(CONSTANTS.get(e.tag, "1"), e.tag)
        if e.tag in ("i", "b", ""):
            yield lit("0", e.tag)
    if e.kind == "func" and len(e.args) > 1 and e.params is None:
        # Drop optional arguments (round's digits, multiIf branches, ...).
        for i in range(len(e.args)):
            smaller = copy.copy(e)
            smaller.args = e.args[:i] + e.args[i + 1:]
            yield smaller
    if e.kind == "case" and len(e.args) > 2:
        for i in range(0, len(e.args) - 1, 2):
            smaller = copy.copy(e)
            smaller.args = e.args[:i] + e.args[i + 2:]
            yield smaller
        if len(e.args) % 2:
            smaller = copy.copy(e)
            smaller.args = e.args[:-1]
            yield smaller
    if e.kind in ("and", "or") and len(e.args) > 2:
        for i in range(len(e.args)):
            smaller = copy.copy(e)
            smaller.args = e.args[:i] + e.args[i + 1:]
            yield smaller
    if e.kind == "in" and e.sub is None and len(e.args) > 2:
        for i in range(1, len(e.args)):
            smaller = copy.copy(e)
            smaller.args = e.args[:i] + e.args[i + 1:]
            yield smaller
    if e.kind == "func" and e.params and len(e.params) > 1:
        for i in range(len(e.params)):
            smaller = copy.copy(e)
            smaller.params = e.params[:i] + e.params[i + 1:]
            yield smaller
    if e.sub is not None:
        for sq in query_variants(e.sub):
            smaller = copy.copy(e)
            smaller.sub = sq
            yield smaller
    for i, a in enumerate(e.args):
        for v in expr_variants(a):
            smaller = copy.copy(e)
            smaller.args = list(e.args)
            smaller.args[i] = v
            yield smaller


def query_variants(q: Query) -> Iterator[Query]:
    """Smaller queries to try in place of `q`: clauses dropped first, then expressions shrunk."""

    def with_(**changes) -> Query:
        c = copy.copy(q)
        for k, v in changes.items():
            setattr(c, k, v)
        return c

    if q.limit_by is not None:
        yield with_(limit_by=None)
    if q.limit is not None or q.offset is not None:
        yield with_(limit=None, offset=None)
    if q.having is not None:
        yield with_(having=None)
    if q.where is not None:
        yield with_(where=None)
    if q.distinct:
        yield with_(distinct=False)
    if q.order_by:
        yield with_(order_by=[])
    for i in range(len(q.withs)):
        yield with_(withs=q.withs[:i] + q.withs[i + 1:])
    if len(q.select) > 1:
        for i in range(len(q.select)):
            sel = q.select[:i] + q.select[i + 1:]
            order = [(o, d) for o, d in q.order_by if not _refers_to(o, q.select[i], i)]
            order = [(_renumber(o, i), d) for o, d in order]
            group = [_renumber(g, i) for g in q.group_by]
            yield with_(select=sel, order_by=order, group_by=group)
    if len(q.group_by) > 1:
        for i in range(len(q.group_by)):
            yield with_(group_by=q.group_by[:i] + q.group_by[i + 1:])
    if len(q.order_by) > 1:
        for i in range(len(q.order_by)):
            yield with_(order_by=q.order_by[:i] + q.order_by[i + 1:])
    if q.group_by:
        yield with_(group_by=[])
    if q.from_sub is not None:
        for sq in query_variants(q.from_sub):
            yield with_(from_sub=sq)
    for i, (name, item) in enumerate(q.withs):
        if isinstance(item, Query):
            for sq in query_variants(item):
                ws = list(q.withs)
                ws[i] = (name, sq)
                yield with_(withs=ws)
        else:
            for v in expr_variants(item):
                ws = list(q.withs)
                ws[i] = (name, v)
                yield with_(withs=ws)
    for i, (e, alias) in enumerate(q.select):
        if alias is not None and e.kind != "star":
            sel = list(q.select)
            sel[i] = (e, None)
            # Only when nothing refers to the alias.
            if alias not in render_query(with_(select=[(lit("1"), None)])):
                yield with_(select=sel)
        for v in expr_variants(e):
            sel = list(q.select)
            sel[i] = (v, alias)
            yield with_(select=sel)
    if q.where is not None:
        for v in expr_variants(q.where):
            yield with_(where=v)
    if q.having is not None:
        for v in expr_variants(q.having):
            yield with_(having=v)
    for i, g in enumerate(q.group_by):
        for v in expr_variants(g):
            gs = list(q.group_by)
            gs[i] = v
            yield with_(group_by=gs)
    if q.limit is not None and q.limit > 1:
        yield with_(limit=1)
    if q.offset:
        yield with_(offset=None)


def _refers_to(o: E, item: tuple[E, str | None], index: int) -> bool:
    e, alias = item
    if o.kind == "lit" and o.text == str(index + 1):
        return True
    if alias is not None and o.kind == "ref" and o.text == alias:
        return True
    return render(o) == render(e)


def _renumber(o: E, removed: int) -> E:
    if o.kind == "lit" and o.text.isdigit() and o.tag == "i" and int(o.text) > removed + 1:
        return lit(str(int(o.text) - 1), "i")
    return o


def shrink_candidates(q: Query) -> Iterator[Query]:
    """Deterministic smaller variants of `q` (only those whose result is well defined)."""
    seen = set()
    for v in query_variants(q):
        if not deterministic(v):
            continue
        text = render_query(v)
        if text in seen:
            continue
        seen.add(text)
        yield v
