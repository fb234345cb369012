//! Binding aggregates with the `-State`, `-Merge` and `-SimpleState` combinators.

use super::super::super::agg::{result_type, AggKind, AggSpec};
use super::super::super::ast::{Call, Expr};
use super::super::super::eval::{BExpr, BKind};
use super::super::super::state::Combinator;
use super::super::super::types::DataType;
use super::super::super::{funcs, Value};
use super::{Binder, Mode};
use crate::error::{Error, Result};

/// The name ClickHouse gives the function of a state: `median` is `quantile`, parameters
/// follow in parentheses, and an `-If` inside the state is part of it (`sumIf`).
fn state_name(base: &str, is_if: bool, params: &[Value]) -> String {
    let mut name = match base {
        "median" => "quantile".to_string(),
        "medianExact" => "quantileExact".to_string(),
        b => b.to_string(),
    };
    if is_if {
        name.push_str("If");
    }
    if !params.is_empty() {
        let p: Vec<String> = params
            .iter()
            .map(|v| match v {
                Value::UInt(u) => u.to_string(),
                Value::Int(i) => i.to_string(),
                Value::Float64(f) => f.to_string(),
                Value::Float32(f) => f.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        name.push('(');
        name.push_str(&p.join(", "));
        name.push(')');
    }
    name
}

/// Fails when `e` is an aggregate state (`AggregateFunction(…)`), which only `-Merge` reads:
/// it cannot be `what` `of` (an argument of a function, a key), compared, sorted or grouped by.
pub(in super::super) fn refuse_state(e: &BExpr, what: &str, of: &str) -> Result<()> {
    if let DataType::AggregateFunction(..) = e.ty.base() {
        return Err(state_error(e, what, of));
    }
    Ok(())
}

/// The answer type of `name`, the `-Merge` of the aggregate `base` (`kind`, with its `-If`
/// and parameters), over a column of type `state`: refused unless `state` is that aggregate's
/// state (`countMerge` also reads a `countIf` state, as ClickHouse does).
pub(in super::super) fn merge_type(
    name: &str,
    base: &str,
    is_if: bool,
    params: &[Value],
    kind: &AggKind,
    state: &DataType,
) -> Result<DataType> {
    let want = state_name(base, is_if, params);
    let illegal = || {
        Error::query(format!(
            "illegal type {state} of argument for aggregate function {name}: it needs \
             an AggregateFunction({want}, …)"
        ))
    };
    let DataType::AggregateFunction(st) = state else {
        return Err(illegal());
    };
    let (func, types) = &**st;
    // The levels of quantiles are the merge's own, as in ClickHouse.
    let bare = |f: &str| f.split('(').next().unwrap_or("").to_string();
    // A `countIf` state is a `count` state: ClickHouse merges it with `countMerge` too (the
    // other `-If` states it refuses).
    let count_if = *kind == AggKind::Count && func == "countIf" && want == "count";
    if bare(func) != bare(&want) && !count_if {
        return Err(illegal());
    }
    let n = types.len() - usize::from(is_if && !types.is_empty());
    let refs: Vec<&DataType> = types[..n].iter().collect();
    Ok(if *kind == AggKind::Count {
        DataType::UInt64
    } else {
        result_type(kind, &refs)?.without_low_cardinality()
    })
}

#[inline(never)]
fn state_error(e: &BExpr, what: &str, of: &str) -> Error {
    Error::unsupported(format!(
        "{what}{of} of type {} (a state is read by -Merge only)",
        e.ty
    ))
}

impl Binder<'_, '_, '_, '_> {
    /// `toTypeName(a)`: the type of `a` as ClickHouse names it, a constant.
    #[inline(never)]
    pub(super) fn bind_type_name(&mut self, a: &Expr, mode: Mode) -> Result<BExpr> {
        let b = self.bind(a, mode)?;
        Ok(BExpr::constant(
            Value::Str(b.ty.to_string()),
            DataType::String,
        ))
    }

    /// Binds `c`, an aggregate named `inner` with the combinator `comb`; `state_if` for a
    /// `-StateIf` (the condition applies, but is not part of the state's function).
    pub(super) fn bind_combinator(
        &mut self,
        whole: &Expr,
        c: &Call,
        comb: Combinator,
        inner: &str,
        state_if: bool,
    ) -> Result<BExpr> {
        let nkeys = self.keys.len();
        if let Some(i) = self.aggs.iter().position(|(x, _)| x == whole) {
            return Ok(BExpr {
                kind: BKind::Slot(nkeys + i),
                ty: self.aggs[i].1.ty.clone(),
            });
        }
        let (base, is_if) = funcs::aggregate(inner)
            .ok_or_else(|| Error::unsupported(format!("aggregate function {}", c.name)))?;
        let params = self.aggregate_params(c)?;
        let kind = funcs::aggregate_kind(base, &params)?;
        if matches!(kind, AggKind::GroupArray(..)) {
            return Err(Error::unsupported(format!("aggregate function {}", c.name)));
        }
        self.refuse_lambda_params(c)?;
        let saved = self.clause;
        self.clause = "aggregate function arguments (nested aggregates)";
        let bound: Result<Vec<BExpr>> = c.args.iter().map(|a| self.bind(a, Mode::Row)).collect();
        self.clause = saved;
        let mut args = bound?;
        let (spec_kind, ty, cond) = match comb {
            Combinator::Merge => {
                // `-MergeIf`: the last argument keeps the rows whose states are merged.
                let cond = if state_if {
                    let b = args
                        .pop()
                        .ok_or_else(|| Error::query(format!("{} needs a condition", c.name)))?;
                    if !funcs::is_condition(&b.ty) {
                        return Err(Error::query(format!(
                            "{}: the condition must be a number",
                            c.name
                        )));
                    }
                    Some(b)
                } else {
                    None
                };
                let [state] = args.as_slice() else {
                    return Err(Error::query(format!("{} takes 1 argument", c.name)));
                };
                let ty = merge_type(&c.name, base, is_if, &params, &kind, &state.ty)?;
                (AggKind::Merge(Box::new(kind)), ty, cond)
            }
            Combinator::State | Combinator::SimpleState => {
                let with_if = is_if || state_if;
                let cond = if with_if {
                    let b = args
                        .pop()
                        .ok_or_else(|| Error::query(format!("{} needs a condition", c.name)))?;
                    if !funcs::is_condition(&b.ty) {
                        return Err(Error::query(format!(
                            "{}: the condition must be a number",
                            c.name
                        )));
                    }
                    Some(b)
                } else {
                    None
                };
                let want = kind.arity();
                if args.len() < want.0 || args.len() > want.1 {
                    return Err(Error::query(format!(
                        "{} takes {} to {} arguments, got {}",
                        c.name,
                        want.0,
                        want.1,
                        args.len()
                    )));
                }
                for a in &args {
                    if matches!(
                        a.ty.base(),
                        DataType::Array(_) | DataType::Map(..) | DataType::AggregateFunction(..)
                    ) {
                        return Err(Error::unsupported(format!("{} of {}", c.name, a.ty)));
                    }
                }
                let mut type_args: Vec<DataType> = args.iter().map(|a| a.ty.clone()).collect();
                if is_if && !state_if {
                    type_args.extend(cond.iter().map(|c| c.ty.clone()));
                }
                if kind == AggKind::Count && args.first().is_some_and(|a| !a.ty.is_nullable()) {
                    args.clear();
                }
                if comb == Combinator::SimpleState {
                    if !matches!(
                        kind,
                        AggKind::Sum
                            | AggKind::Min
                            | AggKind::Max
                            | AggKind::Any
                            | AggKind::AnyLast
                    ) {
                        return Err(Error::query(format!(
                            "unsupported aggregate function {base} for -SimpleState: \
                             supported are any, anyLast, min, max and sum"
                        )));
                    }
                    if args.iter().any(|a| a.ty.is_nullable()) {
                        return Err(Error::unsupported(format!("{} of Nullable values", c.name)));
                    }
                    let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
                    let plain = result_type(&kind, &types)?.without_low_cardinality();
                    let name = state_name(base, false, &params);
                    let ty = DataType::SimpleAggregateFunction(Box::new((name, plain)));
                    (kind, ty, cond)
                } else {
                    let name = state_name(base, is_if && !state_if, &params);
                    let ty = DataType::AggregateFunction(Box::new((name, type_args)));
                    (AggKind::State(Box::new(kind)), ty, cond)
                }
            }
        };
        Ok(self.push_aggregate(
            whole,
            AggSpec {
                kind: spec_kind,
                args,
                cond,
                ty,
            },
        ))
    }
}
