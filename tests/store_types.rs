//! Columns of every type the store holds: `Array(T)` filled from JSON arrays and `json:$.a[:]`
//! paths, `SimpleAggregateFunction(f, T)` stored as `T`, and `AggregateFunction(…)` states,
//! in tables of the MergeTree family. Expected values come from ClickHouse 26.9 (chDB) running
//! the same `CREATE TABLE` and `INSERT … FORMAT JSONEachRow` (tests/chdb/store_types.py prints
//! them).
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{EventStore, Options, Params, Value};

const TYPES: &str = "SCHEMA >\n    `k` String `json:$.k`,\n    `a` Array(String) `json:$.a[:]`,\n    `b` Array(LowCardinality(String)) `json:$.b`,\n    `c` Array(Nullable(Int32)) `json:$.c[:]`,\n    `n` Array(Array(UInt8)) `json:$.n`,\n    `s` SimpleAggregateFunction(sum, Int64) `json:$.s`,\n    `st` AggregateFunction(count) `json:$.st`,\n    `u` AggregateFunction(uniq, String) `json:$.u`\n\nENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"k\"\n";

fn store() -> EventStore {
    let files = vec![("datasources/t.datasource".to_string(), TYPES.to_string())];
    let s = EventStore::from_project(&files, Options::default());
    assert_eq!(s.load_errors(), &[]);
    s
}

/// Each row as ClickHouse's JSONCompactEachRow writes it (64-bit integers unquoted), sorted.
fn json_rows(s: &EventStore, sql: &str) -> Vec<String> {
    let r = s.sql(sql, &Params::new()).unwrap();
    let mut rows: Vec<String> = (0..r.rows())
        .map(|i| {
            let cells: Vec<String> = r
                .meta
                .iter()
                .map(|m| {
                    let mut v = String::new();
                    r.get(i, &m.name)
                        .cloned()
                        .unwrap_or(Value::Null)
                        .write_json(&mut v);
                    v
                })
                .collect();
            format!("[{}]", cells.join(", "))
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn arrays_and_states_read_as_clickhouse_reads_json() {
    let mut s = store();
    s.begin_into("t.ndjson", "t").unwrap();
    let lines = [
        r#"{"a":["x","y"],"c":[1,null,3],"n":[[1],[2,3]],"s":5}"#,
        r#"{"a":null}"#,
        r#"{}"#,
        r#"{"a":[1,2]}"#,
        r#"{"a":"x"}"#,
        r#"{"a":[null]}"#,
        r#"{"c":["1"]}"#,
        r#"{"c":[1.5]}"#,
        r#"{"a":[["x"]]}"#,
        r#"{"st":1}"#,
        r#"{"st":null}"#,
        r#"{"u":"abc"}"#,
        r#"{"c":[true]}"#,
        r#"{"a":[true, {"k":1}]}"#,
        r#"{"n":[1]}"#,
    ];
    for l in lines {
        s.write(format!("{l}\n").as_bytes()).unwrap();
    }
    let report = s.end().unwrap();
    assert_eq!(report.rows, 10);
    assert_eq!(report.quarantined, 5);
    // The lines ClickHouse refuses: 5, 8, 10, 12 and 15.
    let q = s.quarantine().rows();
    let refused: Vec<u64> = q.iter().map(|r| r.line).collect();
    assert_eq!(refused, [5, 8, 10, 12, 15]);
    assert_eq!(
        json_rows(&s, "SELECT a, b, c, n, s FROM t"),
        [
            r#"[[""], [], [], [], 0]"#,
            r#"[["1","2"], [], [], [], 0]"#,
            r#"[["[\"x\"]"], [], [], [], 0]"#,
            r#"[["true","{\"k\":1}"], [], [], [], 0]"#,
            r#"[["x","y"], [], [1,null,3], [[1],[2,3]], 5]"#,
            r#"[[], [], [1], [], 0]"#,
            r#"[[], [], [1], [], 0]"#,
            r#"[[], [], [], [], 0]"#,
            r#"[[], [], [], [], 0]"#,
            r#"[[], [], [], [], 0]"#,
        ]
    );
    assert_eq!(
        json_rows(
            &s,
            "SELECT countMerge(st) AS k, uniqMerge(u) AS q, sum(s) AS total, count() AS c FROM t"
        ),
        ["[0, 0, 5, 10]"]
    );
    let meta = s
        .sql("SELECT k, a, b, c, n, s FROM t LIMIT 0", &Params::new())
        .unwrap();
    let mut types: Vec<String> = meta.meta.iter().map(|m| m.ty.clone()).collect();
    let names = s
        .sql(
            "SELECT toTypeName(st) AS x, toTypeName(u) AS y FROM t LIMIT 1",
            &Params::new(),
        )
        .unwrap();
    for c in ["x", "y"] {
        if let Some(Value::Str(t)) = names.get(0, c) {
            types.push(t.clone());
        }
    }
    assert_eq!(
        types,
        [
            "String",
            "Array(String)",
            "Array(LowCardinality(String))",
            "Array(Nullable(Int32))",
            "Array(Array(UInt8))",
            "SimpleAggregateFunction(sum, Int64)",
            "AggregateFunction(count)",
            "AggregateFunction(uniq, String)"
        ]
    );
}

#[test]
fn hostile_arrays_end_in_quarantine_within_the_budget() {
    let schema = "SCHEMA >\n    `k` String `json:$.k`,\n    `a` Array(String) `json:$.a[:]`,\n    `n` Array(Array(UInt8)) `json:$.n`\n";
    let files = vec![("datasources/t.datasource".to_string(), schema.to_string())];
    let max_bytes = 4 << 20;
    let mut s = EventStore::from_project(
        &files,
        Options {
            max_bytes,
            ..Options::default()
        },
    );
    s.begin_into("hostile.ndjson", "t").unwrap();
    // 3 MiB of one-byte strings: 1.5 million elements, far more than 4 MiB once held.
    let huge = format!("{{\"a\":[{}\"x\"]}}\n", "\"\",".repeat(1 << 20));
    s.write(huge.as_bytes()).unwrap();
    // Nesting far deeper than the type.
    let deep = format!("{{\"n\":{}{}}}\n", "[".repeat(5000), "]".repeat(5000));
    s.write(deep.as_bytes()).unwrap();
    let deeper_than_type = "{\"n\":[[[1]]]}\n";
    s.write(deeper_than_type.as_bytes()).unwrap();
    // Within the type's depth, an array in a String element is its JSON text.
    let text = format!("{{\"a\":[{}{}]}}\n", "[".repeat(900), "]".repeat(900));
    s.write(text.as_bytes()).unwrap();
    s.write(b"{\"k\":\"ok\",\"a\":[\"x\"]}\n").unwrap();
    let report = s.end().unwrap();
    assert_eq!((report.rows, report.quarantined), (2, 3));
    let errors: Vec<String> = s
        .quarantine()
        .rows()
        .iter()
        .map(|r| r.errors.join("; "))
        .collect();
    assert!(
        errors[0].contains("more than the store has room for"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("is not Array(Array(UInt8))"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("is not Array(Array(UInt8))"),
        "{errors:?}"
    );
    assert!(s.store().bytes() <= max_bytes);
    let r = s
        .sql(
            "SELECT length(a[1]) AS l FROM t WHERE k = ''",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(r.get(0, "l"), Some(&Value::UInt(1800)));
}

#[test]
fn saving_a_store_with_state_columns_is_refused_naming_the_column() {
    let mut s = store();
    s.begin_into("t.ndjson", "t").unwrap();
    s.write(b"{\"a\":[\"x\"]}\n").unwrap();
    s.end().unwrap();
    let e = s.to_store_file().unwrap_err().to_string();
    assert!(
        e.contains("saving the AggregateFunction(count) column 'st' of datasource 't'"),
        "{e}"
    );
}

#[test]
fn array_and_map_columns_are_saved_and_reopened() {
    let schema = "SCHEMA >\n    `t` DateTime `json:$.t`,\n    `s` Array(String) `json:$.s[:]`,\n    `f` Array(Nullable(Float64)) `json:$.f`,\n    `d` Array(Array(Date)) `json:$.d`,\n    `x` SimpleAggregateFunction(max, UInt16) `json:$.x`,\n    `m` Array(Map(String, Nullable(Float32))) `json:$.m[:]`\n\nENGINE \"MergeTree\"\nENGINE_PARTITION_KEY \"toYYYYMM(t)\"\n";
    let files = vec![("a.datasource".to_string(), schema.to_string())];
    let mut s = EventStore::from_project(&files, Options::default());
    assert_eq!(s.load_errors(), &[]);
    s.begin_into("a.ndjson", "a").unwrap();
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            "{{\"t\":\"2024-0{}-01 00:00:00\",\"s\":[\"q\\\"{i}\",\"\\u00e9\\n\",{i}],\"f\":[{i}.5,null,\"nan\",\"-inf\"],\"d\":[[\"2024-02-29\"],[]],\"x\":{i},\"m\":[{{\"k\\\"{i}\":{i}.25,\"n\":null}},{{}}]}}\n",
            1 + i % 3
        ));
    }
    s.write(text.as_bytes()).unwrap();
    assert_eq!(s.end().unwrap().rows, 10_000);
    let file = s.to_store_file().unwrap();
    let reopened = EventStore::open_store_file(&file, Options::default()).unwrap();
    assert_eq!(
        json_rows(&reopened, "SELECT * FROM a"),
        json_rows(&s, "SELECT * FROM a")
    );
    assert!(reopened.store().same_contents(s.store()));
    assert_eq!(reopened.store().bytes(), s.store().bytes());
    let q = "SELECT s, f, d, x FROM a WHERE x < 2 ORDER BY x";
    let rows = json_rows(&reopened, q);
    assert_eq!(rows, json_rows(&s, q));
    assert_eq!(
        rows[1],
        // NaN and -inf print as null in JSON, as ClickHouse prints them.
        r#"[["q\"1","é\n","1"], [1.5,null,null,null], [["2024-02-29"],[]], 1]"#
    );
}

#[test]
fn final_merges_rows_as_the_engines_do() {
    let files = vec![
        (
            "r.datasource".to_string(),
            "SCHEMA >\n    `k` UInt8,\n    `v` UInt8,\n    `ver` UInt8\n\nENGINE \"ReplacingMergeTree\"\nENGINE_SORTING_KEY \"k\"\nENGINE_VER \"ver\"\n".to_string(),
        ),
        (
            "sm.datasource".to_string(),
            "SCHEMA >\n    `k` UInt8,\n    `name` String,\n    `a` UInt8,\n    `b` Float64\n\nENGINE \"SummingMergeTree\"\nENGINE_SORTING_KEY \"k\"\n".to_string(),
        ),
        (
            "m.datasource".to_string(),
            "SCHEMA >\n    `k` UInt8\n\nENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"k\"\n"
                .to_string(),
        ),
    ];
    let mut s = EventStore::from_project(&files, Options::default());
    assert_eq!(s.load_errors(), &[]);
    for (t, line) in [
        ("r", r#"{"k":1,"v":1,"ver":5}"#),
        ("r", r#"{"k":2,"v":1,"ver":1}"#),
        ("r", r#"{"k":1,"v":2,"ver":3}"#),
        ("r", r#"{"k":2,"v":2,"ver":1}"#),
        ("sm", r#"{"k":1,"name":"x","a":1,"b":0.5}"#),
        ("sm", r#"{"k":2,"name":"y","a":0,"b":0}"#),
        ("sm", r#"{"k":1,"name":"z","a":255,"b":0.25}"#),
        ("sm", r#"{"k":3,"name":"w","a":1,"b":-1}"#),
        ("sm", r#"{"k":3,"name":"w","a":255,"b":1}"#),
    ] {
        s.begin_into("x.ndjson", t).unwrap();
        s.write(format!("{line}\n").as_bytes()).unwrap();
        s.end().unwrap();
    }
    // The highest version per key; the last inserted among equal versions.
    assert_eq!(
        json_rows(&s, "SELECT * FROM r FINAL ORDER BY k"),
        ["[1, 1, 5]", "[2, 2, 1]"]
    );
    // Sums wrap to UInt8; keys whose sums are all 0 are dropped; `name` is the first row's.
    assert_eq!(
        json_rows(&s, "SELECT * FROM sm FINAL ORDER BY k"),
        [r#"[1, "x", 0, 0.75]"#]
    );
    let e = s.sql("SELECT * FROM m FINAL", &Params::new()).unwrap_err();
    assert!(
        e.to_string()
            .contains("Storage MergeTree doesn't support FINAL"),
        "{e}"
    );
    // Without FINAL, every row as it arrived.
    assert_eq!(json_rows(&s, "SELECT count() AS n FROM sm"), ["[5]"]);
    // A store file keeps the version column.
    let file = s.to_store_file().unwrap();
    let reopened = EventStore::open_store_file(&file, Options::default()).unwrap();
    assert_eq!(
        json_rows(&reopened, "SELECT * FROM r FINAL ORDER BY k"),
        ["[1, 1, 5]", "[2, 2, 1]"]
    );
}

/// `Map(K, V)` columns, alone and inside arrays, as ClickHouse's JSONEachRow reads them: values
/// by the rules of array elements, keys read as their type reads a quoted value, a repeated key
/// kept, objects where a map is due refused.
#[test]
fn maps_read_as_clickhouse_reads_json() {
    let schema = "SCHEMA >\n    `k` String `json:$.k`,\n    `m` Map(String, String) `json:$.m`,\n    `am` Array(Map(String, String)) `json:$.am[:]`,\n    `mu` Map(String, UInt8) `json:$.mu`,\n    `ml` Map(LowCardinality(String), Nullable(Float64)) `json:$.ml`\n\nENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"k\"\n";
    let files = vec![("datasources/mp.datasource".to_string(), schema.to_string())];
    let mut s = EventStore::from_project(&files, Options::default());
    assert_eq!(s.load_errors(), &[]);
    s.begin_into("mp.ndjson", "mp").unwrap();
    let lines = [
        r#"{"k":"a","m":{"x":"1","y":"2"},"am":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}],"mu":{"a":1,"b":"2"}}"#,
        r#"{"k":"b","m":{"x":1,"y":true,"z":null,"w":{"q":1},"v":[1,2]},"am":[],"mu":{}}"#,
        r#"{"k":"c","am":null,"mu":null}"#,
        r#"{"k":"d","m":{"x":"1","x":"2"},"am":[null,{}],"mu":{"a":null},"ml":{"p":null,"q":"1.5"}}"#,
        r#"{"k":"e","m":"str"}"#,
        r#"{"k":"f","mu":{"a":"x"}}"#,
        r#"{"k":"g","mu":{"a":1.5}}"#,
        r#"{"k":"h","m":{"a\u00e9\"":"v\n"},"ml":{"p":2}}"#,
        r#"{"k":"i","am":[{"role":1}],"ml":[]}"#,
    ];
    for l in lines {
        s.write(format!("{l}\n").as_bytes()).unwrap();
    }
    let report = s.end().unwrap();
    assert_eq!(report.rows, 5);
    let refused: Vec<u64> = s.quarantine().rows().iter().map(|r| r.line).collect();
    assert_eq!(refused, [5, 6, 7, 9]);
    assert_eq!(
        json_rows(&s, "SELECT k, m, am, mu, ml FROM mp"),
        [
            r#"["a", {"x":"1","y":"2"}, [{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}], {"a":1,"b":2}, {}]"#,
            r#"["b", {"x":"1","y":"true","z":"","w":"{\"q\":1}","v":"[1,2]"}, [], {}, {}]"#,
            r#"["c", {}, [], {}, {}]"#,
            r#"["d", {"x":"1","x":"2"}, [{},{}], {"a":0}, {"p":null,"q":1.5}]"#,
            "[\"h\", {\"a\u{e9}\\\"\":\"v\\n\"}, [], {}, {\"p\":2}]",
        ]
    );
    assert_eq!(
        json_rows(
            &s,
            "SELECT k, m['x'], am[1]['role'], mu['a'], ml['p'], length(am), mapKeys(m) FROM mp"
        ),
        [
            r#"["a", "1", "user", 1, null, 2, ["x","y"]]"#,
            r#"["b", "1", "", 0, null, 0, ["x","y","z","w","v"]]"#,
            r#"["c", "", "", 0, null, 0, []]"#,
            r#"["d", "1", "", 0, null, 2, ["x","x"]]"#,
            "[\"h\", \"\", \"\", 0, 2, 0, [\"a\u{e9}\\\"\"]]",
        ]
    );
    assert_eq!(
        json_rows(
            &s,
            "SELECT toTypeName(m), toTypeName(am), toTypeName(mu), toTypeName(ml) FROM mp LIMIT 1"
        ),
        [
            r#"["Map(String, String)", "Array(Map(String, String))", "Map(String, UInt8)", "Map(LowCardinality(String), Nullable(Float64))"]"#
        ]
    );
}
