//! Tinybird's file grammar as public projects write it, on a project of our own
//! (tests/fixtures/tinybird/grammar): connector settings, `--` comment lines, `INCLUDE`,
//! `TOKEN … CREATE`, Kafka meta columns in keys, a `Join` engine, a partition key over nested
//! calls, `ENGINE` lines in a materialized pipe, and an endpoint that uses trailing commas,
//! `{% set %}` variables, `::` casts, a `GROUP BY … AS` alias, `end` as an alias and `addDays`.
//! Expected answers come from chDB (ClickHouse 26.9) running the same SQL over
//! tests/fixtures/tinybird/grammar/clicks.ndjson with `session_timezone = 'UTC'`.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{read_project_dir, EventStore, Options, Params};
use std::path::Path;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tinybird/grammar"
);

fn project() -> EventStore {
    let files = read_project_dir(Path::new(DIR)).expect("project files");
    assert_eq!(files.len(), 7);
    EventStore::from_project(&files, Options::default())
}

#[test]
fn every_file_loads_and_connector_settings_are_noted() {
    let store = project();
    assert_eq!(store.load_errors(), &[]);
    assert_eq!(
        store.datasource_names(),
        vec!["clicks", "shop_totals", "shops"]
    );
    let mut pipes = store.pipe_names();
    pipes.sort();
    assert_eq!(pipes, vec!["pages", "shop_totals_mv", "top_page"]);
    let notes: Vec<String> = store
        .load_notes()
        .iter()
        .map(|n| format!("{}:{}: {}", n.file, n.line, n.message))
        .collect();
    for want in [
        "datasources/clicks.datasource:3: TOKEN is read but not used: the store has no access control",
        "datasources/clicks.datasource:17: KAFKA_TOPIC is read but not run in a browser",
        "datasources/clicks.datasource:21: KAFKA_KEY_AVRO_DESERIALIZATION is read but not run in a browser",
        "datasources/clicks.datasource:16: Kafka meta columns __value, __topic, __partition, __offset, __timestamp, __key added, read from rows' fields of the same name (__timestamp defaults to the time of writing)",
        "datasources/shops.datasource:15: IMPORT_STRATEGY is read but not run in a browser",
        // The include's settings are read where the INCLUDE line is.
        "datasources/shops.datasource:17: IMPORT_BUCKET_URI is read but not run in a browser",
        "pipes/shop_totals_mv.pipe:1: ENGINE in node 'totals' is read but not applied: the target datasource's own file gives its engine",
    ] {
        assert!(notes.contains(&want.to_string()), "{want}\n{notes:#?}");
    }
}

#[test]
fn the_endpoint_answers_as_clickhouse() {
    let mut store = project();
    store.begin_into("clicks.ndjson", "clicks").unwrap();
    let rows = std::fs::read(format!("{DIR}/clicks.ndjson")).unwrap();
    store.write(&rows).unwrap();
    assert_eq!(store.end().unwrap().rows, 5);
    let q = store
        .sql(
            "SELECT __offset, __partition, __key, __topic FROM clicks ORDER BY __offset LIMIT 2",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        shape(&q),
        (
            "__offset Int64, __partition Int16, __key String, __topic LowCardinality(String)"
                .to_string(),
            vec![r#"7,0,"","""#.to_string(), r#"8,0,"","""#.to_string()]
        )
    );
    let run = |params: serde_json::Value| {
        let p: Params = params.as_object().cloned().unwrap_or_default();
        shape(&store.pipe("pages", &p).unwrap())
    };
    let meta = "page String, year UInt16, clicks UInt64, end DateTime".to_string();
    assert_eq!(
        run(serde_json::json!({})),
        (
            meta.clone(),
            vec![
                r#""/home",2024,2,"2024-03-03 10:00:00""#.to_string(),
                r#""/cart",2024,1,"2024-03-04 10:00:00""#.to_string(),
            ]
        )
    );
    assert_eq!(
        run(serde_json::json!({"since": "2023-01-01 00:00:00"})),
        (
            meta.clone(),
            vec![
                r#""/home",2024,2,"2024-03-03 10:00:00""#.to_string(),
                r#""/cart",2024,1,"2024-03-04 10:00:00""#.to_string(),
                r#""/home",2023,1,"2024-01-01 23:00:00""#.to_string(),
            ]
        )
    );
    // Another endpoint pipe read as a table, with the same parameters: ClickHouse's answer to
    // `SELECT page, clicks FROM (<pages' SQL>) ORDER BY clicks DESC, page LIMIT 1`.
    let top = |params: serde_json::Value| {
        let p: Params = params.as_object().cloned().unwrap_or_default();
        shape(&store.pipe("top_page", &p).unwrap())
    };
    assert_eq!(
        top(serde_json::json!({})),
        (
            "page String, clicks UInt64".to_string(),
            vec![r#""/home",2"#.to_string()]
        )
    );
    // A parameter error of the pipe read reaches the caller.
    let p: Params = serde_json::json!({"since": "not a time"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(store.pipe("top_page", &p).is_err());
}

/// The columns as `name Type, …` and each row's values as JSON, comma-separated (ClickHouse's
/// `JSONCompact` rows without the brackets).
fn shape(e: &llm_metrics::Endpoint) -> (String, Vec<String>) {
    let meta = e
        .meta
        .iter()
        .map(|m| format!("{} {}", m.name, m.ty))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = e
        .data
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
        .collect();
    (meta, rows)
}

/// `Date` columns: read from JSON as ClickHouse's JSONEachRow reads them (a `YYYY-M-D` or
/// `YYYYMMDD` text, a day number), with a `DEFAULT` date, queried, and saved and reopened in a
/// store file. Answers from chDB over the four rows ClickHouse and this store both accept;
/// the rows of a day the month lacks (ClickHouse rolls it over) and of a time (ClickHouse
/// refuses it) are quarantined.
#[test]
fn date_columns_are_stored_queried_and_saved() {
    let text = "SCHEMA >\n    `day` Date `json:$.day`,\n    `n` UInt32 `json:$.n`,\n    `since` Date `json:$.since` DEFAULT '2024-01-01'\n\nENGINE \"MergeTree\"\nENGINE_PARTITION_KEY \"toYYYYMM(day)\"\nENGINE_SORTING_KEY \"day\"\n";
    let mut store = EventStore::from_datasource(text).unwrap();
    store.begin("days.ndjson").unwrap();
    store
        .write(
            concat!(
                r#"{"day":"2024-01-02","n":1}"#,
                "\n",
                r#"{"day":"2024-1-5","n":2,"since":"2023-12-31"}"#,
                "\n",
                r#"{"day":19000,"n":3}"#,
                "\n",
                r#"{"day":"20240229","n":4}"#,
                "\n",
                r#"{"day":"2024-02-30","n":5}"#,
                "\n",
                r#"{"day":"2024-01-02 10:00:00","n":6}"#,
                "\n",
                r#"{"day":70000,"n":7}"#,
                "\n",
            )
            .as_bytes(),
        )
        .unwrap();
    let report = store.end().unwrap();
    assert_eq!((report.rows, report.quarantined), (4, 3));
    let q = "SELECT day, n, since, toStartOfMonth(day) AS m, day + 1 AS next, toString(day) AS s FROM days WHERE day >= '2022-01-01' ORDER BY day";
    let want = (
        "day Date, n UInt32, since Date, m Date, next Date, s String".to_string(),
        vec![
            r#""2022-01-08",3,"2024-01-01","2022-01-01","2022-01-09","2022-01-08""#.to_string(),
            r#""2024-01-02",1,"2024-01-01","2024-01-01","2024-01-03","2024-01-02""#.to_string(),
            r#""2024-01-05",2,"2023-12-31","2024-01-01","2024-01-06","2024-01-05""#.to_string(),
            r#""2024-02-29",4,"2024-01-01","2024-02-01","2024-03-01","2024-02-29""#.to_string(),
        ],
    );
    let name = store.store().datasource().name.clone();
    let q = q.replace("FROM days", &format!("FROM {name}"));
    assert_eq!(shape(&store.sql(&q, &Params::new()).unwrap()), want);
    let file = store.to_store_file().unwrap();
    let reopened = EventStore::open_store_file(&file, Options::default()).unwrap();
    assert_eq!(shape(&reopened.sql(&q, &Params::new()).unwrap()), want);
    let g = format!("SELECT day, count() AS c FROM {name} GROUP BY day ORDER BY day DESC LIMIT 1");
    assert_eq!(
        shape(&reopened.sql(&g, &Params::new()).unwrap()),
        (
            "day Date, c UInt64".to_string(),
            vec![r#""2024-02-29",1"#.to_string()]
        )
    );
}

/// `DEFAULT now()` / `now64()` / `today()`: the time the row is written (a fixed clock here,
/// 2024-05-06 07:08:09 UTC = 1714979289 s, day 19849), kept through a store file.
#[test]
fn defaults_of_the_insert_time() {
    let text = "SCHEMA >\n    `id` UInt8 `json:$.id`,\n    `at` DateTime `json:$.at` DEFAULT now(),\n    `at_ms` DateTime64(3) `json:$.at_ms` DEFAULT now64(),\n    `day` Date `json:$.day` DEFAULT today()\n";
    let mut store = EventStore::from_datasource(text).unwrap();
    fn clock() -> i64 {
        1_714_979_289
    }
    store.set_wall_clock(clock);
    store.begin("d.ndjson").unwrap();
    store
        .write(b"{\"id\":1}\n{\"id\":2,\"at\":\"2020-01-01 00:00:00\",\"day\":\"2020-01-02\"}\n")
        .unwrap();
    assert_eq!(store.end().unwrap().rows, 2);
    let name = store.store().datasource().name.clone();
    let q = format!("SELECT id, at, at_ms, day FROM {name} ORDER BY id");
    let want = (
        "id UInt8, at DateTime, at_ms DateTime64(3), day Date".to_string(),
        vec![
            r#"1,"2024-05-06 07:08:09","2024-05-06 07:08:09.000","2024-05-06""#.to_string(),
            r#"2,"2020-01-01 00:00:00","2024-05-06 07:08:09.000","2020-01-02""#.to_string(),
        ],
    );
    assert_eq!(shape(&store.sql(&q, &Params::new()).unwrap()), want);
    let reopened =
        EventStore::open_store_file(&store.to_store_file().unwrap(), Options::default()).unwrap();
    assert_eq!(reopened.store().datasource(), store.store().datasource());
    // A DEFAULT expression that is not the insert time is still refused, naming it.
    let e = EventStore::from_datasource("SCHEMA >\n    `s` String DEFAULT now()\n")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("DEFAULT now()"), "{e}");
}
