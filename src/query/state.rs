//! Aggregate states as values: what `fState(…)` gives per group (a column of type
//! `AggregateFunction(f, T…)`) and `fMerge(…)` merges back into `f`'s answer.
//!
//! A state holds what the aggregate keeps for one group while it runs (a count, a sum, the
//! values seen for quantiles, the distinct keys for `uniq`), so that merging the states of
//! several parts and finishing gives the answer one pass over all their rows gives.

use super::Value;
use crate::store::FxHasher;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

/// A set of `u64` keys.
pub type KeySet = HashSet<u64, BuildHasherDefault<FxHasher>>;

/// What an aggregate keeps for one group.
#[derive(Debug, Clone, PartialEq)]
pub enum StateVal {
    /// `count`.
    Count(u64),
    /// `sum` of unsigned integers (wrapping).
    SumU(u64),
    /// `sum` of signed integers (wrapping).
    SumI(i64),
    /// `sum` of floats.
    SumF(f64),
    /// `avg` of integers: the exact sum and the count.
    AvgI(i128, u64),
    /// `avg` of floats: the sum and the count.
    AvgF(f64, u64),
    /// `min` (`false`) or `max` (`true`) of unsigned integers.
    MinMaxU(Option<u64>, bool),
    /// `min` or `max` of signed integers.
    MinMaxI(Option<i64>, bool),
    /// `min` or `max` of floats.
    MinMaxF(Option<f64>, bool),
    /// `min` or `max` of strings.
    MinMaxS(Option<String>, bool),
    /// `any` (`false`) or `anyLast` (`true`).
    Any(Option<Value>, bool),
    /// `argMin` (`false`) or `argMax` (`true`): the key and the argument.
    Arg(Option<(Key, Value)>, bool),
    /// `uniq`, `uniqExact`: the distinct keys (strings and tuples by a 64-bit hash).
    Uniq(KeySet),
    /// Quantiles of unsigned integers: every value.
    QuantU(Vec<u64>),
    /// Quantiles of signed integers: every value.
    QuantI(Vec<i64>),
    /// Quantiles of floats: every value but NaN.
    QuantF(Vec<f64>),
    /// Variances, covariances and correlations: `[n, Σx, Σy, Σxy, Σx², Σy²]`, and whether
    /// they are kept in `Float32` precision.
    Moments([f64; 6], bool),
}

/// The key `argMin` and `argMax` order by.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// An unsigned key.
    U(u64),
    /// A signed key.
    I(i64),
    /// A float key.
    F(f64),
    /// A string key.
    S(String),
}

impl Key {
    /// Whether `self` orders before `o`.
    pub fn less(&self, o: &Key) -> bool {
        match (self, o) {
            (Key::U(a), Key::U(b)) => a < b,
            (Key::I(a), Key::I(b)) => a < b,
            (Key::F(a), Key::F(b)) => a < b,
            (Key::S(a), Key::S(b)) => a < b,
            _ => false,
        }
    }

    /// Whether the key is a NaN, which argMin and argMax pass over while other keys exist.
    pub fn is_nan(&self) -> bool {
        matches!(self, Key::F(x) if x.is_nan())
    }
}

/// The state of one aggregate for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct AggState {
    /// What the aggregate keeps.
    pub val: StateVal,
    /// Whether a row without a `NULL` argument was seen (a group without one finishes as
    /// `NULL` when the arguments are `Nullable`).
    pub seen: bool,
}

impl AggState {
    /// Bytes the state holds, roughly, to charge to a store's budget.
    pub fn bytes(&self) -> usize {
        24 + match &self.val {
            StateVal::Uniq(s) => s.len() * 16,
            StateVal::QuantU(v) => v.len() * 8,
            StateVal::QuantI(v) => v.len() * 8,
            StateVal::QuantF(v) => v.len() * 8,
            StateVal::MinMaxS(Some(s), _) => s.len(),
            StateVal::Any(Some(v), _) | StateVal::Arg(Some((_, v)), _) => value_bytes(v),
            _ => 16,
        }
    }

    /// Merges `o` into this state, as ClickHouse's `-Merge` does. States of different shapes
    /// (which the binder's type check keeps apart) leave this one as it is.
    pub fn merge(&mut self, o: &AggState) {
        self.seen |= o.seen;
        match (&mut self.val, &o.val) {
            (StateVal::Count(a), StateVal::Count(b)) => *a = a.wrapping_add(*b),
            (StateVal::SumU(a), StateVal::SumU(b)) => *a = a.wrapping_add(*b),
            (StateVal::SumI(a), StateVal::SumI(b)) => *a = a.wrapping_add(*b),
            (StateVal::SumF(a), StateVal::SumF(b)) => *a += *b,
            (StateVal::AvgI(s, c), StateVal::AvgI(t, d)) => {
                *s += *t;
                *c += *d;
            }
            (StateVal::AvgF(s, c), StateVal::AvgF(t, d)) => {
                *s += *t;
                *c += *d;
            }
            (StateVal::Moments(a, f32), StateVal::Moments(b, _)) => {
                super::agg::add_moments(a, *b, *f32);
            }
            (StateVal::MinMaxU(a, max), StateVal::MinMaxU(b, _)) => {
                *a = pick(*a, *b, |x, y| if *max { x.max(y) } else { x.min(y) })
            }
            (StateVal::MinMaxI(a, max), StateVal::MinMaxI(b, _)) => {
                *a = pick(*a, *b, |x, y| if *max { x.max(y) } else { x.min(y) })
            }
            (StateVal::MinMaxF(a, max), StateVal::MinMaxF(b, _)) => {
                *a = pick(*a, *b, |x, y| if *max { x.max(y) } else { x.min(y) })
            }
            (StateVal::MinMaxS(a, max), StateVal::MinMaxS(Some(b), _)) => {
                let better = match a {
                    None => true,
                    Some(x) => {
                        if *max {
                            b > x
                        } else {
                            b < x
                        }
                    }
                };
                if better {
                    *a = Some(b.clone());
                }
            }
            (StateVal::Any(a, last), StateVal::Any(Some(b), _)) if *last || a.is_none() => {
                *a = Some(b.clone());
            }
            (StateVal::Arg(a, max), StateVal::Arg(Some((k, v)), _)) => {
                let better = match a {
                    None => true,
                    Some((o, _)) if o.is_nan() => !k.is_nan(),
                    Some((o, _)) => {
                        if *max {
                            o.less(k)
                        } else {
                            k.less(o)
                        }
                    }
                };
                if better {
                    *a = Some((k.clone(), v.clone()));
                }
            }
            (StateVal::Uniq(a), StateVal::Uniq(b)) => a.extend(b.iter().copied()),
            (StateVal::QuantU(a), StateVal::QuantU(b)) => a.extend_from_slice(b),
            (StateVal::QuantI(a), StateVal::QuantI(b)) => a.extend_from_slice(b),
            (StateVal::QuantF(a), StateVal::QuantF(b)) => a.extend_from_slice(b),
            _ => {}
        }
    }
}

fn pick<T: Copy>(a: Option<T>, b: Option<T>, f: impl Fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Bytes a value holds, roughly.
fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len() + 24,
        Value::Array(items) => 24 + items.iter().map(value_bytes).sum::<usize>(),
        Value::State(s) => s.bytes(),
        _ => 16,
    }
}

/// A combinator on an aggregate's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combinator {
    /// `fState`: the state, a value of type `AggregateFunction(f, T…)`.
    State,
    /// `fMerge`: merges states of `f` and finishes them.
    Merge,
    /// `fSimpleState`: the plain value, typed `SimpleAggregateFunction(f, T)`.
    SimpleState,
}

/// Splits a combinator off an aggregate's name: `sumState` is `(State, "sum")`,
/// `sumIfMerge` is `(Merge, "sumIf")`, `sumStateIf` is `(State, "sumIf")` with the state
/// that of `sum` (the third field is then true), and `sumMergeIf` is `(Merge, "sum")` merging
/// the states of the rows its last argument keeps (the third field true).
pub fn split_combinator(name: &str) -> Option<(Combinator, String, bool)> {
    if let Some(b) = name.strip_suffix("StateIf") {
        return Some((Combinator::State, format!("{b}If"), true));
    }
    if let Some(b) = name.strip_suffix("MergeIf") {
        if !b.is_empty() {
            return Some((Combinator::Merge, b.to_string(), true));
        }
    }
    for (suffix, c) in [
        ("SimpleState", Combinator::SimpleState),
        ("State", Combinator::State),
        ("Merge", Combinator::Merge),
    ] {
        if let Some(b) = name.strip_suffix(suffix) {
            if !b.is_empty() {
                return Some((c, b.to_string(), false));
            }
        }
    }
    None
}
