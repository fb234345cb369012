//! Constructs that public Tinybird projects use, in files of our own: `INCLUDE` files (with a
//! variable of the environment in the name, with `NAME=value` settings), copy pipes whose SQL
//! runs only on Tinybird, aggregate `FILTER (WHERE …)` clauses, `countMerge` of `countIf`
//! states, a string beside an `INTERVAL`, keywords as qualified column names (`t.window`) and
//! `-Merge` of states over a window. Expected answers come from ClickHouse (chDB, the
//! queries are quoted beside them) or are counted by hand from the rows written.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{load_project, EventStore, Options, Params};

const KAFKA_DS: &str = "SCHEMA >
    `v` String `json:$.v`

ENGINE \"MergeTree\"
ENGINE_PARTITION_KEY \"toYYYYMM(__timestamp)\"
ENGINE_SORTING_KEY \"__timestamp\"

INCLUDE \"../includes/stream_$TB_ENV.incl\"
";

const KAFKA_PROD: &str = "KAFKA_CONNECTION_NAME 'broker'
KAFKA_TOPIC 'prod_topic'
KAFKA_GROUP_ID 'g_prod'
";

const KAFKA_STAGING: &str = "KAFKA_CONNECTION_NAME 'broker'
KAFKA_TOPIC 'staging_topic'
KAFKA_GROUP_ID 'g_staging'
";

const SCORES_DS: &str = "SCHEMA >
    `k` String `json:$.k`,
    `v` Int32 `json:$.v`

ENGINE \"MergeTree\"
ENGINE_SORTING_KEY \"k\"
";

const FILTERED_PIPE: &str = "INCLUDE \"../includes/by_key.incl\" \"MIN_V=1\"

NODE endpoint
SQL >
    SELECT k, c, q FROM by_key ORDER BY k

TYPE endpoint
";

const BY_KEY_INCL: &str = "NODE by_key
SQL >
    SELECT
        k,
        count(*) FILTER (WHERE v > $MIN_V) AS c,
        quantile(0.5)(v) FILTER (WHERE v > ${MIN_V}) AS q
    FROM scores
    GROUP BY k
";

const COPY_PIPE: &str = "NODE generate
SQL >
    SELECT toString(number) AS k, toInt32(number) AS v
    FROM generateRandom('number UInt64')
    LIMIT 10

TYPE copy
TARGET_DATASOURCE scores
COPY_SCHEDULE @on-demand
";

fn files() -> Vec<(String, String)> {
    [
        ("datasources/stream.datasource", KAFKA_DS),
        ("includes/stream_staging.incl", KAFKA_STAGING),
        ("includes/stream_prod.incl", KAFKA_PROD),
        ("datasources/scores.datasource", SCORES_DS),
        ("endpoints/filtered.pipe", FILTERED_PIPE),
        ("includes/by_key.incl", BY_KEY_INCL),
        ("copies/generate_scores.pipe", COPY_PIPE),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), t.to_string()))
    .collect()
}

fn rows(e: &llm_metrics::Endpoint) -> Vec<String> {
    e.data
        .iter()
        .map(|row| {
            let mut out = String::new();
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                v.write_json(&mut out);
            }
            out
        })
        .collect()
}

fn notes(files: &[(String, String)]) -> Vec<String> {
    load_project(files)
        .notes
        .iter()
        .map(|n| format!("{}:{}: {}", n.file, n.line, n.message))
        .collect()
}

#[test]
fn includes_are_written_in_and_every_file_loads() {
    let files = files();
    let p = load_project(&files);
    assert_eq!(p.errors, vec![]);
    let names: Vec<&str> = p.datasources.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["stream", "scores"]);
    let pipes: Vec<&str> = p.pipes.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(pipes, ["filtered", "generate_scores"]);
    let notes = notes(&files);
    // The environment is unknown: of the two files `stream_$TB_ENV.incl` may name, the first
    // in path order is used, and said so on the INCLUDE's line.
    for want in [
        "datasources/stream.datasource:8: INCLUDE ../includes/stream_$TB_ENV.incl: the variable is not known here; includes/stream_prod.incl is used (of 2 files it could name)",
        // The included Kafka settings make it a Kafka datasource (its meta columns key it).
        "datasources/stream.datasource:8: Kafka meta columns __value, __topic, __partition, __offset, __timestamp, __key added, read from rows' fields of the same name (__timestamp defaults to the time of writing)",
        "copies/generate_scores.pipe:3: node 'generate': not supported: table function generateRandom() (the copy pipe is not run here)",
        "copies/generate_scores.pipe:1: a copy pipe into 'scores': read and described, not run",
    ] {
        assert!(notes.contains(&want.to_string()), "{want}\n{notes:#?}");
    }
    // `.incl` files are read, not listed as skipped.
    assert!(!notes.iter().any(|n| n.contains("skipped")), "{notes:#?}");
}

#[test]
fn an_include_the_project_lacks_is_noted_as_before() {
    let files: Vec<(String, String)> = files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("includes/stream"))
        .collect();
    let p = load_project(&files);
    // Without its Kafka settings the sorting key names a column the datasource lacks.
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].file, "datasources/stream.datasource");
    assert_eq!(p.errors[0].line, 6);
    let notes = notes(&files);
    assert!(
        notes.contains(
            &"datasources/stream.datasource:8: INCLUDE ../includes/stream_$TB_ENV.incl is read but not resolved: its settings are not applied".to_string()
        ),
        "{notes:#?}"
    );
}

#[test]
fn an_error_inside_an_include_is_given_the_include_line() {
    let mut files = files();
    for (p, t) in &mut files {
        if p == "includes/by_key.incl" {
            *t = t.replace("GROUP BY k", "GROUP BY k FILTER");
        }
    }
    let p = load_project(&files);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].file, "endpoints/filtered.pipe");
    assert_eq!(p.errors[0].line, 1);
    // The lines after the include keep their own numbers.
    let mut files = self::files();
    for (p, t) in &mut files {
        if p == "endpoints/filtered.pipe" {
            *t = t.replace("ORDER BY k", "ORDER BY k LIMIT");
        }
    }
    let p = load_project(&files);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].line, 5);
}

#[test]
fn filter_clauses_merges_of_count_if_states_and_strings_beside_intervals() {
    let mut store = EventStore::from_project(&files(), Options::default());
    store.begin_into("scores.ndjson", "scores").unwrap();
    let lines = concat!(
        r#"{"k":"a","v":1}"#,
        "\n",
        r#"{"k":"a","v":2}"#,
        "\n",
        r#"{"k":"b","v":3}"#,
        "\n",
        r#"{"k":"b","v":5}"#,
        "\n",
    );
    store.write(lines.as_bytes()).unwrap();
    assert_eq!(store.end().unwrap().rows, 4);
    // chDB: SELECT k, count(*) FILTER (WHERE v > 1) AS c, quantile(0.5)(v) FILTER (WHERE v > 1)
    // AS q FROM t GROUP BY k ORDER BY k  ->  ["a",1,2], ["b",2,4]
    let e = store.pipe("filtered", &Params::new()).unwrap();
    assert_eq!(rows(&e), ["\"a\",1,2", "\"b\",2,4"]);
    let q = |sql: &str| rows(&store.sql(sql, &Params::new()).unwrap());
    // chDB: [3, 2, 3, 0, 4]
    assert_eq!(
        q(
            "SELECT count() FILTER (WHERE v > 1), min(v) FILTER (WHERE v > 1), \
           sum(v) FILTER (WHERE k = 'a'), max(v) FILTER (WHERE v > 10), \
           avg(v) FILTER (WHERE k = 'b') FROM scores"
        ),
        ["3,2,3,0,4"]
    );
    // `filter` is still a name where no `(` follows.
    assert_eq!(q("SELECT count() filter FROM scores"), ["4"]);
    // chDB: SELECT countMerge(s), countIfMerge(s) FROM (SELECT countIfState(v > 1) AS s ...)
    // -> [3, 3]; grouped by k -> ["a",1], ["b",2]
    assert_eq!(
        q("SELECT countMerge(s), countIfMerge(s) FROM (SELECT countIfState(v > 1) AS s FROM scores)"),
        ["3,3"]
    );
    assert_eq!(
        q("SELECT k, countMerge(s) FROM (SELECT k, countIfState(v > 1) AS s FROM scores GROUP BY k) \
           GROUP BY k ORDER BY k"),
        ["\"a\",1", "\"b\",2"]
    );
    // Other `-If` states stay apart, as ClickHouse keeps them.
    assert!(store
        .sql(
            "SELECT uniqMerge(s) FROM (SELECT uniqIfState(v, v > 1) AS s FROM scores)",
            &Params::new()
        )
        .is_err());
    // chDB: ["2024-02-07 00:00:00.000", "DateTime64(3)", "2024-03-09 00:00:00.000",
    // "2024-03-08 00:30:00.000"]
    assert_eq!(
        q("SELECT toString('2024-03-08 00:00:00' - INTERVAL 30 DAY), \
           toTypeName('2024-03-08' - INTERVAL 1 DAY), toString(INTERVAL 1 DAY + '2024-03-08'), \
           toString('2024-03-08 00:00:00' + INTERVAL 30 MINUTE)"),
        ["\"2024-02-07 00:00:00.000\",\"DateTime64(3)\",\"2024-03-09 00:00:00.000\",\"2024-03-08 00:30:00.000\""]
    );
    // chDB: "2024-03-08 10:00:00.000","2024-03-08 10:00:00.000","2024-03-08 00:00:00.000",
    // "2023-11-14 22:13:20.000","2023-11-14 22:13:20.000","2024-03-08 10:00:00.123",
    // "2024-03-08 00:00:00"
    assert_eq!(
        q("SELECT toString(toDateTime64('2024-03-08 10:00:00', 3)), \
           toString(toDateTime64(toDateTime('2024-03-08 10:00:00'), 3)), \
           toString(toDateTime64(toDate('2024-03-08'), 3)), \
           toString(toDateTime64(toUInt32(1700000000), 3)), \
           toString(toDateTime64(1700000000, 3, 'UTC')), \
           toString(toDateTime64('2024-03-08 10:00:00.123456', 3)), \
           toString(toStartOfDay(toDateTime64('2024-03-08 10:00:00', 3)))"),
        [
            "\"2024-03-08 10:00:00.000\",\"2024-03-08 10:00:00.000\",\"2024-03-08 00:00:00.000\",\
          \"2023-11-14 22:13:20.000\",\"2023-11-14 22:13:20.000\",\"2024-03-08 10:00:00.123\",\
          \"2024-03-08 00:00:00\""
        ]
    );
    assert_eq!(
        q("SELECT toTypeName(toDateTime64(1, 3))"),
        ["\"DateTime64(3)\""]
    );
    // Other precisions are not kept here.
    assert!(store
        .sql("SELECT toDateTime64(1, 6)", &Params::new())
        .is_err());
    // A keyword after `table.` names a column (chDB: 1,2,3).
    assert_eq!(
        q("SELECT t.window, t.end, t.from FROM (SELECT 1 AS window, 2 AS end, 3 AS from) AS t"),
        ["1,2,3"]
    );
    // A string that is no time is refused, as ClickHouse refuses it.
    assert!(store
        .sql("SELECT 'abc' - INTERVAL 1 DAY", &Params::new())
        .is_err());
}

#[test]
fn merges_of_states_over_a_window() {
    let files = vec![(
        "datasources/plays.datasource".to_string(),
        "SCHEMA >
    `k` String `json:$.k`,
    `ts` UInt32 `json:$.ts`,
    `v` UInt32 `json:$.v`

ENGINE \"MergeTree\"
ENGINE_SORTING_KEY \"k\"
"
        .to_string(),
    )];
    let mut store = EventStore::from_project(&files, Options::default());
    assert_eq!(store.load_errors(), &[]);
    store.begin_into("plays.ndjson", "plays").unwrap();
    let lines = concat!(
        r#"{"k":"a","ts":1,"v":10}"#,
        "\n",
        r#"{"k":"a","ts":2,"v":20}"#,
        "\n",
        r#"{"k":"b","ts":1,"v":5}"#,
        "\n",
        r#"{"k":"b","ts":3,"v":7}"#,
        "\n",
        r#"{"k":"a","ts":3,"v":20}"#,
        "\n",
        r#"{"k":"a","ts":3,"v":30}"#,
        "\n",
    );
    store.write(lines.as_bytes()).unwrap();
    assert_eq!(store.end().unwrap().rows, 6);
    let e = store
        .sql(
            "SELECT k, ts, countMerge(c) OVER (ORDER BY k, ts) AS rc, \
             sumMerge(s) OVER (PARTITION BY k ORDER BY ts) AS rs, \
             uniqMerge(u) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS ru, \
             avgMerge(a) OVER (PARTITION BY k) AS pa, \
             countMerge(c) OVER (ORDER BY ts DESC, k) AS back \
             FROM (SELECT k, ts, countState() AS c, sumState(v) AS s, uniqState(v) AS u, \
             avgState(v) AS a FROM plays GROUP BY k, ts) ORDER BY k, ts",
            &Params::new(),
        )
        .unwrap();
    // chDB, the same query over the same rows:
    // ["a",1,1,10,1,20,5], ["a",2,2,30,2,20,4], ["a",3,4,80,2,20,2], ["b",1,5,5,1,6,6],
    // ["b",3,6,12,2,6,3]; types UInt64, UInt64, UInt64, Float64, UInt64.
    assert_eq!(
        rows(&e),
        [
            "\"a\",1,1,10,1,20,5",
            "\"a\",2,2,30,2,20,4",
            "\"a\",3,4,80,2,20,2",
            "\"b\",1,5,5,1,6,6",
            "\"b\",3,6,12,2,6,3"
        ]
    );
    let types: Vec<String> = e.meta.iter().map(|m| m.ty.clone()).collect();
    assert_eq!(
        types,
        ["String", "UInt32", "UInt64", "UInt64", "UInt64", "Float64", "UInt64"]
    );
    // A state of another aggregate is refused, as ClickHouse refuses it.
    assert!(store
        .sql(
            "SELECT sumMerge(c) OVER () FROM (SELECT countState() AS c FROM plays)",
            &Params::new()
        )
        .is_err());
}
