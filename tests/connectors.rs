//! Datasources of Tinybird's connectors: the meta columns a DynamoDB datasource and a Kafka one
//! with `KAFKA_STORE_HEADERS` have without declaring them, filled from rows' fields of their
//! names, usable in engine settings, pipes and queries. Expected answers are derived by hand
//! from the rows written (a missing field takes its type's default).
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{EventStore, Options, Params};

const DYNAMODB: &str = "SCHEMA >
    `id` String `json:$.id`,
    `name` String `json:$.name`

ENGINE \"ReplacingMergeTree\"
ENGINE_SORTING_KEY \"id\"
ENGINE_VER \"_timestamp\"

IMPORT_SERVICE 'dynamodb'
IMPORT_CONNECTION_NAME 'ddb'
IMPORT_TABLE_ARN 'arn:aws:dynamodb:eu-west-1:1:table/users'
IMPORT_EXPORT_BUCKET 'exports'
";

const KAFKA: &str = "SCHEMA >
    `v` String `json:$.v`

KAFKA_CONNECTION_NAME 'k'
KAFKA_TOPIC 'events'
KAFKA_STORE_HEADERS 'True'
";

const PIPE: &str = "NODE latest
SQL >
    SELECT id, name, _event_name, _is_deleted, _old_record FROM users FINAL
    WHERE NOT _is_deleted ORDER BY id
";

fn project() -> EventStore {
    let files = vec![
        (
            "datasources/users.datasource".to_string(),
            DYNAMODB.to_string(),
        ),
        (
            "datasources/events.datasource".to_string(),
            KAFKA.to_string(),
        ),
        ("pipes/latest_users.pipe".to_string(), PIPE.to_string()),
    ];
    EventStore::from_project(&files, Options::default())
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

#[test]
fn dynamodb_and_kafka_meta_columns_load_fill_and_answer() {
    let mut store = project();
    assert_eq!(store.load_errors(), &[]);
    let notes: Vec<String> = store
        .load_notes()
        .iter()
        .map(|n| format!("{}:{}: {}", n.file, n.line, n.message))
        .collect();
    for want in [
        "datasources/users.datasource:9: DynamoDB meta columns _record, _old_record, _timestamp, _event_name, _is_deleted added, read from rows' fields of the same name (_timestamp defaults to the time of writing)",
        "datasources/events.datasource:4: Kafka meta columns __value, __topic, __partition, __offset, __timestamp, __key, __headers added, read from rows' fields of the same name (__timestamp defaults to the time of writing)",
    ] {
        assert!(notes.contains(&want.to_string()), "{want}\n{notes:#?}");
    }

    store.begin_into("users.ndjson", "users").unwrap();
    let changes = concat!(
        r#"{"id":"a","name":"Ann","_record":"{}","_timestamp":"2024-01-01 00:00:00.250","_event_name":"INSERT","_is_deleted":0}"#,
        "\n",
        r#"{"id":"a","name":"Anna","_old_record":"{\"name\":\"Ann\"}","_timestamp":"2024-01-02 00:00:00","_event_name":"MODIFY"}"#,
        "\n",
        r#"{"id":"b","name":"Bo","_timestamp":"2024-01-01 00:00:00","_event_name":"INSERT"}"#,
        "\n",
        r#"{"id":"b","name":"Bo","_timestamp":"2024-01-03 00:00:00","_event_name":"REMOVE","_is_deleted":1}"#,
        "\n",
    );
    store.write(changes.as_bytes()).unwrap();
    assert_eq!(store.end().unwrap().rows, 4);
    // The latest change per id (the highest _timestamp), deleted ones left out.
    let latest = store.pipe("latest_users", &Params::new()).unwrap();
    assert_eq!(
        rows(&latest),
        vec![r#""a","Anna","MODIFY",0,"{\"name\":\"Ann\"}""#.to_string()]
    );
    let q = store
        .sql(
            "SELECT toTypeName(_old_record), toTypeName(_timestamp) FROM users LIMIT 1",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        rows(&q),
        vec![r#""Nullable(String)","DateTime64(3)""#.to_string()]
    );
    let q = store
        .sql(
            "SELECT max(_timestamp), countIf(_old_record IS NULL), countIf(_record = '') \
             FROM users",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        rows(&q),
        vec![r#""2024-01-03 00:00:00.000",3,3"#.to_string()]
    );

    store.begin_into("events.ndjson", "events").unwrap();
    let messages = concat!(
        r#"{"v":"1","__headers":{"trace":"t1"},"__offset":5,"__partition":2,"__key":"k"}"#,
        "\n",
        r#"{"v":"2"}"#,
        "\n",
    );
    store.write(messages.as_bytes()).unwrap();
    assert_eq!(store.end().unwrap().rows, 2);
    let q = store
        .sql(
            "SELECT v, __headers['trace'], length(__headers), __offset, __partition, __key, \
             toTypeName(__headers) FROM events ORDER BY v",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        rows(&q),
        vec![
            r#""1","t1",1,5,2,"k","Map(String, String)""#.to_string(),
            r#""2","",0,0,0,"","Map(String, String)""#.to_string(),
        ]
    );
}
