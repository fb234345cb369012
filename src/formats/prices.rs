//! Costs from a price table for records whose log has none.
//!
//! The table is the provider data of pydantic's `genai-prices` (MIT), as the pinned npm package
//! `@pydantic/genai-prices` ships it: `scripts/vendor.sh` writes it to
//! `www/vendor/genai-prices.json` as `{"package", "version", "providers"}`, and the page (or
//! `llm-metrics convert --prices`) loads it with [`PriceTable::from_json`]. Lookup and arithmetic
//! follow the package's `calcPrice`: the provider by id or by its match rules (else by the
//! model's), the model by its match rules (then with a compact date `-20240718` written
//! `-2024-07-18`, then in the provider's fallback providers), the price in force at the record's
//! time, and per-million-token prices applied to disjoint counts: input tokens less the cached
//! and cache-write tokens that have prices of their own, output tokens less reasoning tokens
//! likewise, with tiered prices chosen by the input tokens.

use super::regex::Regex;
use super::{Record, Time};
use serde_json::Value;

/// A match rule of the table.
#[derive(Debug, Clone)]
enum Match {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(Box<Regex>),
    Or(Vec<Match>),
    And(Vec<Match>),
    /// A rule this reader does not know: never matches.
    Never,
}

impl Match {
    fn parse(v: &Value, depth: usize) -> Match {
        let Some(o) = v.as_object() else {
            return Match::Never;
        };
        let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_lowercase);
        let list = |k: &str| -> Option<Vec<Match>> {
            (depth < 16).then_some(())?;
            let items = o.get(k)?.as_array()?;
            Some(items.iter().map(|m| Match::parse(m, depth + 1)).collect())
        };
        if let Some(t) = text("equals") {
            Match::Equals(t)
        } else if let Some(t) = text("starts_with") {
            Match::StartsWith(t)
        } else if let Some(t) = text("ends_with") {
            Match::EndsWith(t)
        } else if let Some(t) = text("contains") {
            Match::Contains(t)
        } else if let Some(r) = o.get("regex").and_then(Value::as_str) {
            Regex::new(r).map_or(Match::Never, |r| Match::Regex(Box::new(r)))
        } else if let Some(l) = list("or") {
            Match::Or(l)
        } else if let Some(l) = list("and") {
            Match::And(l)
        } else {
            Match::Never
        }
    }

    /// `text` is lowercase already, except for regular expressions, which see it as given.
    fn is_match(&self, lower: &str, text: &str) -> bool {
        match self {
            Match::Equals(t) => lower == t,
            Match::StartsWith(t) => lower.starts_with(t.as_str()),
            Match::EndsWith(t) => lower.ends_with(t.as_str()),
            Match::Contains(t) => lower.contains(t.as_str()),
            Match::Regex(r) => r.is_match(text),
            Match::Or(l) => l.iter().any(|m| m.is_match(lower, text)),
            Match::And(l) => l.iter().all(|m| m.is_match(lower, text)),
            Match::Never => false,
        }
    }
}

/// A price per million tokens (or per thousand requests), flat or tiered by input tokens.
#[derive(Debug, Clone, PartialEq)]
enum Price {
    Flat(f64),
    /// The base price, and (start, price) tiers: past `start` input tokens, every token pays
    /// that tier's price.
    Tiered(f64, Vec<(f64, f64)>),
}

impl Price {
    fn parse(v: Option<&Value>) -> Option<Price> {
        match v? {
            Value::Number(n) => n.as_f64().map(Price::Flat),
            Value::Object(o) => {
                let base = o.get("base")?.as_f64()?;
                let mut tiers: Vec<(f64, f64)> = o
                    .get("tiers")?
                    .as_array()?
                    .iter()
                    .filter_map(|t| Some((t.get("start")?.as_f64()?, t.get("price")?.as_f64()?)))
                    .collect();
                tiers.sort_by(|a, b| a.0.total_cmp(&b.0));
                Some(Price::Tiered(base, tiers))
            }
            _ => None,
        }
    }

    fn per_unit(&self, input_tokens: f64) -> f64 {
        match self {
            Price::Flat(p) => *p,
            Price::Tiered(base, tiers) => tiers
                .iter()
                .rev()
                .find(|(start, _)| input_tokens > *start)
                .map_or(*base, |(_, p)| *p),
        }
    }
}

/// The prices of a model at one time.
#[derive(Debug, Clone, Default, PartialEq)]
struct Prices {
    input: Option<Price>,
    output: Option<Price>,
    cache_read: Option<Price>,
    cache_write: Option<Price>,
    reasoning: Option<Price>,
    requests: Option<Price>,
}

impl Prices {
    fn parse(v: &Value) -> Prices {
        Prices {
            input: Price::parse(v.get("input_mtok")),
            output: Price::parse(v.get("output_mtok")),
            cache_read: Price::parse(v.get("cache_read_mtok")),
            cache_write: Price::parse(v.get("cache_write_mtok")),
            reasoning: Price::parse(v.get("output_reasoning_mtok")),
            requests: Price::parse(v.get("requests_kcount")),
        }
    }

    /// The cost in USD of `r`'s tokens.
    fn cost(&self, r: &Record) -> f64 {
        let input = r.prompt_tokens as f64;
        let cache_read = r.cache_read_tokens as f64;
        let cache_write = r.cache_write_tokens as f64;
        let reasoning = r.reasoning_tokens as f64;
        let mut uncached = input;
        if self.cache_read.is_some() {
            uncached -= cache_read;
        }
        if self.cache_write.is_some() {
            uncached -= cache_write;
        }
        let mut output = r.completion_tokens as f64;
        if self.reasoning.is_some() {
            output -= reasoning;
        }
        let m =
            |p: &Option<Price>, count: f64| p.as_ref().map_or(0.0, |p| p.per_unit(input) * count);
        let tokens = m(&self.input, uncached.max(0.0))
            + m(&self.cache_read, cache_read)
            + m(&self.cache_write, cache_write)
            + m(&self.output, output.max(0.0))
            + m(&self.reasoning, reasoning);
        tokens / 1e6 + m(&self.requests, 1.0) / 1e3
    }
}

/// When a price is in force.
#[derive(Debug, Clone, PartialEq)]
enum Constraint {
    Always,
    /// From this time (seconds since the epoch) on.
    From(i64),
    /// Between two times of day (seconds since midnight UTC; the range may wrap midnight).
    TimeOfDay(i64, i64),
}

/// A model of the table, with its prices over time.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    matcher: Match,
    prices: Vec<(Constraint, Prices)>,
}

impl Model {
    /// The cost in USD of `r`'s tokens at `secs`, or `None` when no price is in force.
    pub(crate) fn cost_at(&self, r: &Record, secs: i64) -> Option<f64> {
        Some(self.prices_at(secs)?.cost(r))
    }

    /// The prices in force at `secs`: the last conditional price whose condition holds, else
    /// the first.
    fn prices_at(&self, secs: i64) -> Option<&Prices> {
        for (c, p) in self.prices.iter().rev() {
            let holds = match c {
                Constraint::Always => true,
                Constraint::From(t) => secs >= *t,
                Constraint::TimeOfDay(start, end) => {
                    let s = secs.rem_euclid(86_400);
                    if end < start {
                        s >= *start || s < *end
                    } else {
                        s >= *start && s < *end
                    }
                }
            };
            if holds {
                return Some(p);
            }
        }
        self.prices.first().map(|(_, p)| p)
    }
}

#[derive(Debug, Clone)]
struct Provider {
    id: String,
    provider_match: Option<Match>,
    model_match: Option<Match>,
    fallback: Vec<String>,
    models: Vec<Model>,
}

/// A price table, read from the `genai-prices` provider data.
#[derive(Debug, Clone)]
pub struct PriceTable {
    /// The package and version the data came from, as `@pydantic/genai-prices 0.1.8`.
    pub source: String,
    /// What the `cost_source` column says of costs from this table: `genai-prices <version>`.
    pub cost_source: String,
    providers: Vec<Provider>,
}

fn seconds_of_day(t: &str) -> Option<i64> {
    let mut parts = t.trim_end_matches('Z').split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next().map_or(Some(0.0), |s| s.parse().ok())?;
    Some(h * 3600 + m * 60 + s as i64)
}

impl PriceTable {
    /// Reads the table from `{"package", "version", "providers": [...]}` (or the bare provider
    /// array) in the `genai-prices` data schema.
    pub fn from_json(text: &str) -> Result<PriceTable, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("price table is not JSON: {e}"))?;
        let version = v
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim();
        let cost_source = format!("genai-prices {version}").trim().to_string();
        let (source, list) = match &v {
            Value::Array(_) => ("genai-prices".to_string(), &v),
            Value::Object(o) => (
                format!(
                    "{} {}",
                    o.get("package")
                        .and_then(Value::as_str)
                        .unwrap_or("genai-prices"),
                    o.get("version").and_then(Value::as_str).unwrap_or("")
                )
                .trim()
                .to_string(),
                o.get("providers").ok_or("price table without providers")?,
            ),
            _ => return Err("price table is not an object".into()),
        };
        let list = list.as_array().ok_or("providers is not an array")?;
        let mut providers = Vec::with_capacity(list.len());
        for p in list {
            let id = p
                .get("id")
                .and_then(Value::as_str)
                .ok_or("provider without id")?;
            let models = p
                .get("models")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let models = models
                .iter()
                .map(|m| Model {
                    matcher: m.get("match").map_or(Match::Never, |x| Match::parse(x, 0)),
                    prices: match m.get("prices") {
                        Some(Value::Array(list)) => list
                            .iter()
                            .map(|c| {
                                let constraint = match c.get("constraint") {
                                    None | Some(Value::Null) => Some(Constraint::Always),
                                    Some(k) => {
                                        if let Some(d) = k.get("start_date").and_then(Value::as_str)
                                        {
                                            crate::time::parse_timestamp_ms(d)
                                                .map(|ms| Constraint::From(ms.div_euclid(1000)))
                                        } else {
                                            let t = |key: &str| {
                                                k.get(key)
                                                    .and_then(Value::as_str)
                                                    .and_then(seconds_of_day)
                                            };
                                            t("start_time")
                                                .zip(t("end_time"))
                                                .map(|(a, b)| Constraint::TimeOfDay(a, b))
                                        }
                                    }
                                };
                                let prices = c.get("prices").map(Prices::parse).unwrap_or_default();
                                // An unreadable condition never holds.
                                (constraint.unwrap_or(Constraint::From(i64::MAX)), prices)
                            })
                            .collect(),
                        Some(p @ Value::Object(_)) => vec![(Constraint::Always, Prices::parse(p))],
                        _ => Vec::new(),
                    },
                })
                .collect();
            let strings = |k: &str| -> Vec<String> {
                p.get(k)
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            providers.push(Provider {
                id: id.to_string(),
                provider_match: p.get("provider_match").map(|m| Match::parse(m, 0)),
                model_match: p.get("model_match").map(|m| Match::parse(m, 0)),
                fallback: strings("fallback_model_providers"),
                models,
            });
        }
        Ok(PriceTable {
            source,
            cost_source,
            providers,
        })
    }

    /// Models priced, over all providers.
    pub fn model_count(&self) -> usize {
        self.providers.iter().map(|p| p.models.len()).sum()
    }

    fn provider(&self, id: &str, model_lower: &str, model: &str) -> Option<&Provider> {
        if !id.is_empty() {
            let id = id.trim().to_lowercase();
            let found = self.providers.iter().find(|p| p.id == id).or_else(|| {
                self.providers.iter().find(|p| {
                    p.provider_match
                        .as_ref()
                        .is_some_and(|m| m.is_match(&id, &id))
                })
            });
            if found.is_some() {
                return found;
            }
        }
        // A provider name the table does not know (such as an OTel `gen_ai.system` of
        // `openai.chat`): found by the model, as when no provider is named.
        self.providers.iter().find(|p| {
            p.model_match
                .as_ref()
                .is_some_and(|m| m.is_match(model_lower, model))
        })
    }

    fn model_in<'a>(
        &'a self,
        p: &'a Provider,
        lower: &str,
        text: &str,
        fallback: bool,
    ) -> Option<&'a Model> {
        if let Some(m) = p.models.iter().find(|m| m.matcher.is_match(lower, text)) {
            return Some(m);
        }
        if fallback {
            for id in &p.fallback {
                if let Some(f) = self.providers.iter().find(|q| &q.id == id) {
                    if let Some(m) = self.model_in(f, lower, text, false) {
                        return Some(m);
                    }
                }
            }
        }
        None
    }

    /// The cost in USD of `r` at `secs` (its own time, or the stream's), or `None` when the
    /// table has no price for its model.
    pub fn cost(&self, r: &Record, stream_secs: i64) -> Option<f64> {
        let secs = match r.time {
            Time::At(s) => s,
            Time::FromStream => stream_secs,
        };
        self.find(r.provider.as_deref().unwrap_or(""), &r.model)?
            .cost_at(r, secs)
    }

    /// The priced model that `model` of `provider` (empty when unknown) is, if any.
    pub(crate) fn find(&self, provider: &str, model: &str) -> Option<&Model> {
        // The package reads the model name in lowercase and trimmed, regular expressions too.
        let model = model.trim().to_lowercase();
        let provider = self.provider(provider, &model, &model)?;
        self.model_in(provider, &model, &model, true).or_else(|| {
            let dashed = dashed_dates(&model);
            (dashed != model)
                .then(|| self.model_in(provider, &dashed, &dashed, true))
                .flatten()
        })
    }
}

/// `-YYYYMMDD` (a real date, followed by `-`, `:` or the end) written `-YYYY-MM-DD`.
fn dashed_dates(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'-' && i + 9 <= b.len() && b[i + 1..i + 9].iter().all(u8::is_ascii_digit) {
            let d = &s[i + 1..i + 9];
            let next_ok = matches!(b.get(i + 9), None | Some(b'-' | b':'));
            let (y, m, day) = (&d[0..4], &d[4..6], &d[6..8]);
            let valid = y.starts_with("20")
                && crate::time::parse_timestamp_ms(&format!("{y}-{m}-{day}")).is_some();
            if next_ok && valid {
                out.push_str(&format!("-{y}-{m}-{day}"));
                i += 9;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or('-');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dashed_dates;

    #[test]
    fn compact_dates_are_dashed_only_when_real() {
        assert_eq!(dashed_dates("gpt-5.2-20251211"), "gpt-5.2-2025-12-11");
        assert_eq!(
            dashed_dates("claude-x-20241022:v1"),
            "claude-x-2024-10-22:v1"
        );
        assert_eq!(dashed_dates("m-20251341"), "m-20251341");
        assert_eq!(dashed_dates("m-202512110"), "m-202512110");
        assert_eq!(dashed_dates("m-19991211"), "m-19991211");
    }
}
