//! Hostile pipe texts for the limit tests, shared by the native run (`tests/pipes.rs`, on a
//! thread with a 1 MiB stack) and the wasm run (`tests/web_limits.rs`): each must end with an
//! answer or a clean error naming its line, and the store must answer normal queries afterwards.

use llm_metrics::{EventStore, Params};
use serde_json::{json, Value};

/// Three events with totals worked out by hand below.
pub const EVENTS: &str = concat!(
    r#"{"event_time":"2024-05-01 10:00:00","model_name":"m1","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.5,"latency":1.0,"success":1}"#,
    "\n",
    r#"{"event_time":"2024-05-01 11:00:00","model_name":"m1","prompt_tokens":20,"completion_tokens":5,"total_tokens":25,"cost":0.25,"latency":2.0,"success":1}"#,
    "\n",
    r#"{"event_time":"2024-05-01 12:00:00","model_name":"m2","prompt_tokens":30,"completion_tokens":10,"total_tokens":40,"cost":1.0,"latency":3.0,"success":0}"#,
    "\n",
);

/// Rows in [`EVENTS`].
pub const ROWS: u64 = 3;

/// What a hostile pipe must give.
pub enum Expect {
    /// `SELECT count()` over every row: the template chose the `WHERE 1` branch.
    AllRows,
    /// An error whose message contains this text and names a line of the pipe holding this tag.
    ErrorOnTag(&'static str, &'static str),
    /// An error whose message contains this text.
    Error(&'static str),
}

/// One hostile pipe.
pub struct Case {
    /// The pipe's (endpoint node's) name.
    pub name: &'static str,
    /// The `.pipe` text.
    pub text: String,
    /// The outcome it must have.
    pub expect: Expect,
}

/// A pipe whose only node counts rows where `condition`, a template fragment, is written from
/// line 5 of the file on.
fn pipe(name: &str, condition: &str) -> String {
    format!("NODE {name}\nSQL >\n    %\n    SELECT count() AS n FROM llm_events\n    WHERE {condition}\n\nTYPE endpoint\n")
}

/// The yardstick cases and a few more of the same kind.
pub fn cases() -> Vec<Case> {
    let and_chain = vec!["1"; 100_000].join(" and ");
    let mixed_chain = format!("{} or 1", vec!["0 and 1"; 50_000].join(" or "));
    let nested = format!(
        "{}1{}",
        "{% if 1 %}\n    ".repeat(30_000),
        "{% end %}".repeat(30_000)
    );
    let elifs = format!(
        "{{% if 0 %}}0{}{{% else %}}1{{% end %}}",
        "{% elif 0 %}0\n    ".repeat(100_000)
    );
    let comments = format!("1 {}", "{# c #}\n    ".repeat(50_000));
    let nots = format!(
        "{{% if {}1 %}}1{{% else %}}0{{% end %}}",
        "not ".repeat(100_000)
    );
    let parens = format!(
        "{{% if\n    {}1{} %}}1{{% else %}}0{{% end %}}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let lists = format!("{{{{ {}1{} }}}}", "[".repeat(100_000), "]".repeat(100_000));
    let minus = format!("{{% if {}1 %}}1{{% end %}}", "- ".repeat(100_000));
    // The deepest expression accepted (100 levels of parentheses), every level evaluated: E(0) is
    // `0` and E(k) is `0 or 1 and not (E(k-1)) == 0`, false at every level.
    let mut deepest = "0".to_string();
    for _ in 0..98 {
        deepest = format!("0 or 1 and not ({deepest}) == 0");
    }
    let deepest = format!("{{% if ({deepest}) == 0 %}}1{{% else %}}0{{% end %}}");
    // The deepest blocks accepted (100), each condition 50 levels deep.
    let condition = format!("{}1{}", "(".repeat(50), ")".repeat(50));
    let deep_blocks = format!(
        "{}1{}",
        format!("{{% if {condition} %}}\n    ").repeat(100),
        "{% else %}0{% end %}".repeat(100)
    );
    let sum_chain = format!(
        "{{% if {} == 100000 %}}1{{% else %}}0{{% end %}}",
        vec!["1"; 100_000].join(" + ")
    );
    let product_chain = format!(
        "{{% if {} - 1 == 0 %}}1{{% else %}}0{{% end %}}",
        vec!["1"; 100_000].join(" * ")
    );
    let subscripts = format!(
        "{{% if split_to_array('ab'){} == 'a' %}}1{{% else %}}0{{% end %}}",
        "[0]".repeat(100_000)
    );
    let nested_subscripts = format!(
        "{{% if [1]{}0{} %}}1{{% end %}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let thousand = vec!["x"; 1_000].join(",");
    let loops = format!(
        "{{% for a in split_to_array('{thousand}') %}}{{% for b in split_to_array('{thousand}') %}}{{% for c in split_to_array('{thousand}') %}}1{{% end %}}{{% end %}}{{% end %}}"
    );
    // 50,000 sets: in an unoptimised wasm build each takes about 0.2 ms, and the browser
    // runner's page must answer within 20 s.
    let sets = format!(
        "{{% set x = 0 %}}{}{{% if x == 50000 %}}1{{% else %}}0{{% end %}}",
        "{% set x = x + 1 %}".repeat(50_000)
    );
    let many_nodes: String = (0..20_000)
        .map(|i| format!("NODE n{i}\nSQL >\n    SELECT {i} AS x\n\n"))
        .chain(std::iter::once(
            "NODE many_nodes\nSQL >\n    SELECT count() AS n FROM llm_events\n".to_string(),
        ))
        .collect();
    let node_chain: String = std::iter::once("NODE c0\nSQL >\n    SELECT 1 AS x\n\n".to_string())
        .chain((1..10_000).map(|i| format!("NODE c{i}\nSQL >\n    SELECT x FROM c{}\n\n", i - 1)))
        .chain(std::iter::once(
            "NODE node_chain\nSQL >\n    SELECT count() AS n FROM llm_events WHERE 1 IN (SELECT x FROM c9999)\n".to_string(),
        ))
        .collect();
    vec![
        Case {
            name: "many_nodes",
            text: many_nodes,
            expect: Expect::AllRows,
        },
        Case {
            name: "node_chain",
            text: node_chain,
            // Bounded where queries run (`src/query/select/`), whose message names no line.
            expect: Expect::Error("nest"),
        },
        Case {
            name: "and_chain",
            text: pipe(
                "and_chain",
                &format!("{{% if {and_chain} %}}1{{% else %}}0{{% end %}}"),
            ),
            expect: Expect::AllRows,
        },
        Case {
            name: "and_or_chain",
            text: pipe(
                "and_or_chain",
                &format!("{{% if {mixed_chain} %}}1{{% else %}}0{{% end %}}"),
            ),
            expect: Expect::AllRows,
        },
        Case {
            name: "nested_ifs",
            text: pipe("nested_ifs", &nested),
            expect: Expect::ErrorOnTag("nest", "{% if 1 %}"),
        },
        Case {
            name: "elifs",
            text: pipe("elifs", &elifs),
            expect: Expect::AllRows,
        },
        Case {
            name: "comments",
            text: pipe("comments", &comments),
            expect: Expect::AllRows,
        },
        Case {
            name: "not_chain",
            text: pipe("not_chain", &nots),
            expect: Expect::AllRows,
        },
        Case {
            name: "parentheses",
            text: pipe("parentheses", &parens),
            expect: Expect::ErrorOnTag("nest", "((("),
        },
        Case {
            name: "lists",
            text: pipe("lists", &lists),
            expect: Expect::ErrorOnTag("nest", "WHERE {{"),
        },
        Case {
            name: "deepest_expression",
            text: pipe("deepest_expression", &deepest),
            expect: Expect::AllRows,
        },
        Case {
            name: "deepest_blocks",
            text: pipe("deepest_blocks", &deep_blocks),
            expect: Expect::AllRows,
        },
        Case {
            name: "sum_chain",
            text: pipe("sum_chain", &sum_chain),
            expect: Expect::AllRows,
        },
        Case {
            name: "product_chain",
            text: pipe("product_chain", &product_chain),
            expect: Expect::AllRows,
        },
        Case {
            name: "subscripts",
            text: pipe("subscripts", &subscripts),
            expect: Expect::AllRows,
        },
        Case {
            name: "nested_subscripts",
            text: pipe("nested_subscripts", &nested_subscripts),
            expect: Expect::ErrorOnTag("nest", "WHERE {% if"),
        },
        Case {
            name: "nested_loops",
            text: pipe("nested_loops", &loops),
            expect: Expect::Error("renders more than"),
        },
        Case {
            name: "sets",
            text: pipe("sets", &sets),
            expect: Expect::AllRows,
        },
        Case {
            name: "minus_signs",
            text: pipe("minus_signs", &minus),
            expect: Expect::ErrorOnTag("nest", "WHERE {% if"),
        },
    ]
}

/// A store holding [`EVENTS`].
pub fn store() -> EventStore {
    let mut s = EventStore::new();
    s.write(EVENTS.as_bytes()).expect("write");
    s.end().expect("end");
    s
}

/// The 1-based line number after the last "line " in `message`.
fn line_in(message: &str) -> Option<usize> {
    let at = message.rfind("line ")?;
    let digits: String = message[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Adds and runs `case` on `store` as JavaScript does (`addPipe`, then `pipe`), and checks the
/// outcome.
pub fn run(store: &mut EventStore, case: &Case) {
    let outcome = store
        .add_pipe(&case.text)
        .and_then(|name| store.pipe(&name, &Params::new()));
    match (&case.expect, outcome) {
        (Expect::AllRows, Ok(endpoint)) => {
            let v: Value = serde_json::from_str(&endpoint.to_json()).expect("endpoint JSON");
            assert_eq!(v["data"], json!([{ "n": ROWS }]), "{}", case.name);
        }
        (Expect::ErrorOnTag(needle, tag), Err(e)) => {
            let message = e.to_string();
            assert!(message.contains(needle), "{}: {message}", case.name);
            let line =
                line_in(&message).unwrap_or_else(|| panic!("{}: no line in {message}", case.name));
            let text = case
                .text
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or_default();
            assert!(
                text.trim_start().starts_with(tag),
                "{}: line {line} is {text:?}: {message}",
                case.name
            );
        }
        (Expect::Error(needle), Err(e)) => {
            let message = e.to_string();
            assert!(message.contains(needle), "{}: {message}", case.name);
        }
        (_, Ok(endpoint)) => panic!(
            "{}: expected an error, got {}",
            case.name,
            endpoint.to_json()
        ),
        (_, Err(e)) => panic!("{}: expected rows, got the error {e}", case.name),
    }
}

/// Checks that `store` still answers the shipped `llm_usage_by_model` pipe with the totals of
/// [`EVENTS`], worked out by hand.
pub fn check_usage(store: &EventStore) {
    let endpoint = store
        .pipe("llm_usage_by_model", &Params::new())
        .expect("llm_usage_by_model");
    let v: Value = serde_json::from_str(&endpoint.to_json()).expect("endpoint JSON");
    let mut rows = v["data"].as_array().expect("data").clone();
    rows.sort_by_key(|r| r["model_name"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        rows,
        [
            json!({"model_name": "m1", "total_prompt_tokens": 30, "total_completion_tokens": 10, "total_tokens": 40, "total_cost": 0.75}),
            json!({"model_name": "m2", "total_prompt_tokens": 30, "total_completion_tokens": 10, "total_tokens": 40, "total_cost": 1}),
        ]
    );
}

/// Hostile `.datasource` texts: (name, text, text the load error must contain, or `None` when
/// the file must load).
pub fn datasource_cases() -> Vec<(&'static str, String, Option<&'static str>)> {
    let deep_type = format!(
        "SCHEMA >\n    `a` DateTime,\n    `b` {}String{}\n",
        "Array(".repeat(100_000),
        ")".repeat(100_000)
    );
    let deep_short_type = format!(
        "SCHEMA >\n    `a` DateTime,\n    `b` {}String{}\n",
        "Array(".repeat(40),
        ")".repeat(40)
    );
    let deepest_type = format!(
        "SCHEMA >\n    `a` DateTime,\n    `b` {}String{}\n",
        "Array(".repeat(31),
        ")".repeat(31)
    );
    let deep_default = format!(
        "SCHEMA >\n    `a` DateTime,\n    `b` UInt8 DEFAULT {}1{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let wide: String = (0..20_000)
        .map(|i| format!("    `c{i}` UInt8 `json:$.c{i}` DEFAULT 1,\n"))
        .collect();
    let wide = format!("SCHEMA >\n    `t` DateTime,\n{wide}");
    let many_blocks = "DESCRIPTION >\n    x\n".repeat(100_000) + "SCHEMA >\n    `a` DateTime\n";
    let unclosed = format!("SCHEMA >\n    `a` Array({}", "Map(String, ".repeat(50_000));
    vec![
        ("deep_type", deep_type, Some("longer than 4096 bytes")),
        (
            "deep_short_type",
            deep_short_type,
            Some("more than 32 levels"),
        ),
        // 31 levels of arrays are stored (each level read by one call, at most 32 deep).
        ("deepest_type", deepest_type, None),
        ("deep_default", deep_default, Some("not supported: DEFAULT")),
        ("wide_schema", wide, None),
        ("many_blocks", many_blocks, None),
        ("unclosed_type", unclosed, Some("closing ')'")),
    ]
}

/// Loads one case of [`datasource_cases`] as a project file and checks the outcome.
pub fn run_datasource(name: &str, text: &str, expect: Option<&str>) {
    let store = EventStore::from_project(
        &[(format!("{name}.datasource"), text.to_string())],
        llm_metrics::Options::default(),
    );
    match (expect, store.load_errors()) {
        (None, []) => assert_eq!(store.datasource_names(), vec![name.to_string()]),
        (Some(needle), [e]) => assert!(e.message.contains(needle), "{name}: {}", e.message),
        (_, errors) => panic!("{name}: {errors:?}"),
    }
}

/// A store of `rows` events whose `error_message`s are `len` bytes each (a different one per
/// row), with a budget of `max_bytes`.
#[allow(dead_code)]
fn long_messages(max_bytes: u64, rows: usize, len: usize) -> EventStore {
    let mut s = EventStore::with_datasource(
        llm_metrics::Datasource::llm_events(),
        llm_metrics::Options {
            max_bytes,
            ..Default::default()
        },
    );
    for i in 0..rows {
        let line = format!(
            "{{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"error_message\":\"{i:05}{}\"}}\n",
            "e".repeat(len - 5)
        );
        s.write(line.as_bytes()).expect("write");
    }
    s.end().expect("end");
    s
}

/// Arrays and `groupArray` values are charged by their bytes to what `maxBytes` leaves free:
/// past it a query fails naming `maxBytes`, within it the query answers, and the store answers
/// afterwards. 50 messages of 20,000 bytes are 1 MB; the budget leaves 400,000 bytes free.
#[allow(dead_code)]
pub fn check_array_budget() {
    const ROWS: usize = 50;
    const LEN: usize = 20_000;
    let used = long_messages(u64::MAX, ROWS, LEN).store().bytes();
    let store = long_messages(used + 400_000, ROWS, LEN);
    let sql = |q: &str| {
        store
            .sql(q, &Params::new())
            .map(|e| {
                serde_json::from_str::<Value>(&e.to_json()).expect("endpoint JSON")["data"].clone()
            })
            .map_err(|e| e.to_string())
    };
    // Within the budget: 5 messages (100 kB), 100 short strings.
    let q = "SELECT length(groupArray(5)(error_message)) AS n FROM llm_events";
    assert_eq!(sql(q), Ok(json!([{ "n": 5 }])), "{q}");
    let q = "SELECT length(arrayMap(x -> toString(x), range(100))) AS n";
    assert_eq!(sql(q), Ok(json!([{ "n": 100 }])), "{q}");
    let q = "SELECT length(groupArray(model_name)) AS n FROM llm_events";
    assert_eq!(sql(q), Ok(json!([{ "n": ROWS }])), "{q}");
    // Past it: every message kept (1 MB), three copies of each message in one block (3 MB),
    // a million strings (over 16 MB), a projection returning 50 arrays of a message each.
    for q in [
        "SELECT length(groupArray(error_message)) FROM llm_events",
        "SELECT length(groupUniqArray(error_message)) FROM llm_events",
        "SELECT length(arrayMap(x -> concat(error_message, x), ['a', 'b', 'c'])) FROM llm_events",
        "SELECT length(arrayMap(x -> toString(x), range(1000000)))",
        "SELECT length(arrayStringConcat(arrayMap(x -> error_message, range(30)))) FROM llm_events",
        "SELECT [error_message] FROM llm_events",
    ] {
        let err = sql(q).expect_err(q);
        assert!(err.contains("maxBytes"), "{q}: {err}");
    }
    let q = "SELECT count() AS n FROM llm_events";
    assert_eq!(sql(q), Ok(json!([{ "n": ROWS }])), "{q}");
}
