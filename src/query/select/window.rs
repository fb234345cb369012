//! Window functions: `f(…) OVER (PARTITION BY … ORDER BY … frame)` and `OVER w`.
//!
//! The binder binds a window function's arguments, partition and order keys over the batch the
//! result is built from (the groups of a grouped query, the rows of another), records it as a
//! [`WindowSpec`] and gives an expression reading a placeholder slot ([`WINDOW_SLOTS`] on);
//! the planner moves the placeholders to the slots after the batch's own columns. When the
//! result is shaped, after `HAVING` and before `ORDER BY` and `LIMIT` as in ClickHouse, each
//! window function becomes one more column of the batch ([`compute`]): rows sorted by
//! partition and order keys, then per row a value over its partition or frame.
//!
//! Frames are ClickHouse's: `ROWS` and `RANGE` between `UNBOUNDED PRECEDING`, `n PRECEDING`,
//! `CURRENT ROW`, `n FOLLOWING` and `UNBOUNDED FOLLOWING` (`RANGE` with `UNBOUNDED` and
//! `CURRENT ROW` only, the current row's peers included); the default is `RANGE BETWEEN
//! UNBOUNDED PRECEDING AND CURRENT ROW`, the whole partition without `ORDER BY`.

use super::super::agg::{result_type, Agg, AggKind, AggSpec, Groups};
use super::super::ast::{Call, Expr, Frame, FrameBound, Over};
use super::super::budget;
use super::super::column::{default_value, from_values, Col};
use super::super::eval::{conform, eval, eval_mask, BExpr, BKind, Batch};
use super::super::types::{common_type, DataType};
use super::super::{funcs, Value};
use super::bind::{merge_type, refuse_state, Binder, Mode};
use super::finish::{compare_keys, sort_key, SortKey};
use super::plan::OrderKey;
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::cmp::Ordering;

/// Where the placeholder slots of window functions start while a query is bound: window `k`
/// reads slot `WINDOW_SLOTS + k` until the planner places it after the batch's columns.
pub(super) const WINDOW_SLOTS: usize = usize::MAX / 4;

/// The most rows the frames of one window function may cover in all where frames are
/// aggregated one by one (a frame that does not start at the partition's first row): past
/// it the query fails rather than run for long.
const MAX_FRAME_ROWS: u64 = 1 << 26;

/// What a window function computes.
#[derive(Debug, Clone)]
pub(super) enum WFunc {
    /// `row_number()`.
    RowNumber,
    /// `rank()`.
    Rank,
    /// `dense_rank()`.
    DenseRank,
    /// `percent_rank()`.
    PercentRank,
    /// `cume_dist()`.
    CumeDist,
    /// `lagInFrame`/`leadInFrame` (`frame` true) or `lag`/`lead` (the whole partition): the
    /// value `offset` rows before (`lead` false) or after, else the default.
    Shift {
        /// After rather than before.
        lead: bool,
        /// How many rows away.
        offset: u64,
        /// Within the frame, rather than the partition.
        frame: bool,
    },
    /// `nth_value(x, n)`: the frame's `n`-th value (1-based), else the type's default.
    Nth(u64),
    /// An aggregate over the frame.
    Agg(Box<AggSpec>),
}

/// One window function, bound over the batch the result is built from.
#[derive(Debug, Clone)]
pub(super) struct WindowSpec {
    /// The function.
    pub func: WFunc,
    /// Arguments of the functions that are not aggregates: the value, then (for `lagInFrame`
    /// and its kin) the default.
    pub args: Vec<BExpr>,
    /// `PARTITION BY` keys.
    pub partition: Vec<BExpr>,
    /// `ORDER BY` keys.
    pub order: Vec<OrderKey>,
    /// The frame (ClickHouse's default filled in).
    pub frame: Frame,
    /// The result type.
    pub ty: DataType,
}

impl WindowSpec {
    /// Every expression the window function reads.
    pub fn exprs_mut(&mut self) -> impl Iterator<Item = &mut BExpr> {
        let agg: Vec<&mut BExpr> = match &mut self.func {
            WFunc::Agg(spec) => spec.args.iter_mut().chain(spec.cond.iter_mut()).collect(),
            _ => Vec::new(),
        };
        agg.into_iter()
            .chain(self.args.iter_mut())
            .chain(self.partition.iter_mut())
            .chain(self.order.iter_mut().map(|k| &mut k.expr))
    }
}

/// Whether `e` reads a window function's placeholder slot.
pub(super) fn has_window(e: &BExpr) -> bool {
    match &e.kind {
        BKind::Slot(s) => *s >= WINDOW_SLOTS && *s < super::bind::LAMBDA_SLOTS,
        BKind::Call(c) => c.args.iter().any(has_window),
        BKind::Const(_) => false,
    }
}

/// Moves the placeholder slots of `e` to `base + k`. Lambda bodies are left alone: window
/// functions are not bound inside lambdas. The binder bounds the depth.
pub(super) fn place(e: &mut BExpr, base: usize) {
    match &mut e.kind {
        BKind::Slot(s) if *s >= WINDOW_SLOTS && *s < super::bind::LAMBDA_SLOTS => {
            *s = base + (*s - WINDOW_SLOTS);
        }
        BKind::Call(c) => c.args.iter_mut().for_each(|a| place(a, base)),
        _ => {}
    }
}

/// `e`, bound over source rows, with each largest part that reads no window function replaced
/// by what `slot` gives for it (a slot of the projected batch). The binder bounds the depth.
pub(super) fn split(e: BExpr, slot: &mut dyn FnMut(BExpr) -> BExpr) -> BExpr {
    if !has_window(&e) {
        return match e.kind {
            BKind::Const(_) => e,
            _ => slot(e),
        };
    }
    match e.kind {
        BKind::Call(c) => {
            let mut c = c;
            let args = std::mem::take(&mut c.args);
            c.args = args.into_iter().map(|a| split(a, slot)).collect();
            BExpr {
                kind: BKind::Call(c),
                ty: e.ty,
            }
        }
        kind => BExpr { kind, ty: e.ty },
    }
}

/// Where a frame bound sits, for checking that a frame's start precedes its end.
fn bound_rank(b: FrameBound) -> (i8, i128) {
    match b {
        FrameBound::UnboundedPreceding => (-2, 0),
        FrameBound::Preceding(n) => (0, -i128::from(n)),
        FrameBound::CurrentRow => (0, 0),
        FrameBound::Following(n) => (0, i128::from(n)),
        FrameBound::UnboundedFollowing => (2, 0),
    }
}

impl Binder<'_, '_, '_, '_> {
    /// The window `over` with the named window it refers to filled in (`OVER w`, `OVER (w
    /// ORDER BY …)`), its expressions' aliases substituted.
    fn resolve_window(&self, over: &Over) -> Result<Over> {
        let mut w = over.clone();
        // Each step follows one name of the `WINDOW` clause: at most as many steps as names.
        let mut steps = 0;
        while let Some(name) = w.name.take() {
            let base = self
                .named_windows
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, o)| o.clone())
                .ok_or_else(|| {
                    Error::query(format!("Window '{name}' does not exist (BAD_ARGUMENTS)"))
                })?;
            steps += 1;
            if steps > self.named_windows.len() {
                return Err(Error::query(format!(
                    "window '{name}' is defined in terms of itself"
                )));
            }
            if !w.partition_by.is_empty() {
                return Err(Error::query(format!(
                    "a window based on '{name}' cannot have its own PARTITION BY"
                )));
            }
            if !base.order_by.is_empty() && !w.order_by.is_empty() {
                return Err(Error::query(format!(
                    "a window based on '{name}' cannot have its own ORDER BY: '{name}' has one"
                )));
            }
            if base.frame.is_some() {
                return Err(Error::query(format!(
                    "a window cannot be based on '{name}', which has a frame"
                )));
            }
            let base = base.map(|e| self.full(e))?;
            w.partition_by = base.partition_by;
            if w.order_by.is_empty() {
                w.order_by = base.order_by;
            }
            w.name = base.name;
        }
        Ok(w)
    }

    /// Binds the window function `whole` (the call `c` with its window `over`): its parts
    /// bind in `mode`, over the batch the result is built from.
    pub(super) fn bind_window(
        &mut self,
        whole: &Expr,
        c: &Call,
        over: &Over,
        mode: Mode,
    ) -> Result<BExpr> {
        let Some(bound) = &self.windows else {
            return Err(Error::query(format!(
                "window function {whole} is not allowed in {} (ILLEGAL_AGGREGATION)",
                self.clause
            )));
        };
        if !self.lambdas.is_empty() {
            return Err(Error::unsupported("window functions inside lambdas"));
        }
        if let Some(k) = bound.iter().position(|(e, _)| e == whole) {
            return Ok(BExpr {
                kind: BKind::Slot(WINDOW_SLOTS + k),
                ty: bound[k].1.ty.clone(),
            });
        }
        let over = self.resolve_window(over)?;
        // Window functions do not nest.
        let saved = self.windows.take();
        let saved_clause = self.clause;
        self.clause = "a window function's arguments or window";
        let spec = self.window_spec(c, &over, mode);
        self.clause = saved_clause;
        self.windows = saved;
        let spec = spec?;
        let ty = spec.ty.clone();
        let list = self.windows.get_or_insert_with(Vec::new);
        list.push((whole.clone(), spec));
        Ok(BExpr {
            kind: BKind::Slot(WINDOW_SLOTS + list.len() - 1),
            ty,
        })
    }

    fn window_spec(&mut self, c: &Call, over: &Over, mode: Mode) -> Result<WindowSpec> {
        let mut partition = Vec::new();
        for p in &over.partition_by {
            let b = self.bind(p, mode)?;
            refuse_state(&b, "a PARTITION BY key", "")?;
            partition.push(b);
        }
        let mut order = Vec::new();
        for o in &over.order_by {
            let b = self.bind(&o.expr, mode)?;
            refuse_state(&b, "an ORDER BY key", "")?;
            if matches!(b.ty.base(), DataType::Map(..)) {
                return Err(Error::unsupported("ORDER BY a map"));
            }
            order.push(OrderKey {
                expr: b,
                desc: o.desc,
                nulls_first: o.nulls.unwrap_or(false),
            });
        }
        let frame = over.frame.unwrap_or(Frame {
            rows: false,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
        });
        if bound_rank(frame.start) > bound_rank(frame.end) {
            return Err(Error::query(format!(
                "Frame start offset {} does not precede the frame end offset {} (BAD_ARGUMENTS)",
                frame.start, frame.end
            )));
        }
        if range_offsets(&frame) {
            if order.len() != 1 {
                return Err(Error::query(format!(
                    "The RANGE OFFSET window frame requires exactly one ORDER BY column, {} \
                     given (BAD_ARGUMENTS)",
                    order.len()
                )));
            }
            let ty = &order[0].expr.ty;
            let integer = ty.is_int() || matches!(ty.base(), DataType::Date | DataType::DateTime);
            if ty.is_nullable() || !integer {
                return Err(Error::unsupported(format!(
                    "RANGE offsets over an ORDER BY key of type {ty} (integers, Date and \
                     DateTime only)"
                )));
            }
            for b in [frame.start, frame.end] {
                if let FrameBound::Preceding(k) | FrameBound::Following(k) = b {
                    if k > u64::from(u32::MAX) {
                        return Err(Error::query(format!(
                            "Frame offset for 'RANGE' frame must be a nonnegative 32-bit \
                             integer, '{k}' given (BAD_ARGUMENTS)"
                        )));
                    }
                }
            }
        }
        if c.params.is_some() && funcs::aggregate(&funcs::canonical(&c.name)).is_none() {
            return Err(Error::query(format!("{} takes no parameters", c.name)));
        }
        let lower = c.name.to_ascii_lowercase();
        let no_args = |ty: DataType| -> Result<(WFunc, Vec<BExpr>, DataType)> {
            if !c.args.is_empty() {
                return Err(Error::query(format!("{} takes no arguments", c.name)));
            }
            Ok((WFunc::RowNumber, Vec::new(), ty))
        };
        let (func, args, ty) = match lower.as_str() {
            "row_number" => no_args(DataType::UInt64)?,
            "rank" => (WFunc::Rank, no_args(DataType::UInt64)?.1, DataType::UInt64),
            "dense_rank" | "denserank" => (
                WFunc::DenseRank,
                no_args(DataType::UInt64)?.1,
                DataType::UInt64,
            ),
            "percent_rank" => (
                WFunc::PercentRank,
                no_args(DataType::Float64)?.1,
                DataType::Float64,
            ),
            "cume_dist" => (
                WFunc::CumeDist,
                no_args(DataType::Float64)?.1,
                DataType::Float64,
            ),
            "laginframe" | "leadinframe" | "lag" | "lead" => {
                let frame = lower.ends_with("inframe");
                let lead = lower.starts_with("lead");
                self.bind_shift(c, mode, lead, frame)?
            }
            "nth_value" => {
                if c.args.len() != 2 {
                    return Err(Error::query("nth_value takes 2 arguments"));
                }
                let x = self.bind(&c.args[0], mode)?;
                refuse_state(&x, "an argument of ", &c.name)?;
                let n = self.constant_offset(&c.args[1], &c.name)?;
                if n == 0 {
                    return Err(Error::query(
                        "nth_value: the offset must be greater than 0 (BAD_ARGUMENTS)",
                    ));
                }
                let ty = x.ty.clone();
                (WFunc::Nth(n), vec![x], ty)
            }
            "ntile" => return Err(Error::unsupported("window function ntile")),
            _ => {
                let spec = self.window_aggregate(c, &lower, mode)?;
                let ty = spec.ty.clone();
                (WFunc::Agg(Box::new(spec)), Vec::new(), ty)
            }
        };
        Ok(WindowSpec {
            func,
            args,
            partition,
            order,
            frame,
            ty,
        })
    }

    /// A constant non-negative integer argument of `name` (an offset).
    fn constant_offset(&mut self, e: &Expr, name: &str) -> Result<u64> {
        let b = self.bind(e, Mode::Const)?;
        match b.as_const() {
            Some(Value::UInt(u)) => Ok(*u),
            Some(Value::Int(i)) if *i >= 0 => Ok(*i as u64),
            Some(Value::Int(i)) => Err(Error::query(format!(
                "The offset for function {name} must be in (0, {}], {i} given (BAD_ARGUMENTS)",
                i64::MAX
            ))),
            _ => Err(Error::query(format!(
                "{name}: the offset must be a constant integer"
            ))),
        }
    }

    /// `lagInFrame(x[, offset[, default]])` and its kin.
    fn bind_shift(
        &mut self,
        c: &Call,
        mode: Mode,
        lead: bool,
        frame: bool,
    ) -> Result<(WFunc, Vec<BExpr>, DataType)> {
        if c.args.is_empty() || c.args.len() > 3 {
            return Err(Error::query(format!("{} takes 1 to 3 arguments", c.name)));
        }
        let x = self.bind(&c.args[0], mode)?;
        refuse_state(&x, "an argument of ", &c.name)?;
        let offset = match c.args.get(1) {
            Some(o) => self.constant_offset(o, &c.name)?,
            None => 1,
        };
        let ty = x.ty.clone();
        let mut args = vec![x];
        if let Some(d) = c.args.get(2) {
            let mut d = self.bind(d, mode)?;
            let same = common_type(&[&ty, &d.ty]).is_some_and(|t| t == ty);
            if !same {
                return Err(Error::query(format!(
                    "{}: the default value's type {} is not the argument's type {ty} \
                     (BAD_ARGUMENTS)",
                    c.name, d.ty
                )));
            }
            if let Some(v) = d.as_const() {
                d = BExpr::constant(conform(v.clone(), &ty), ty.clone());
            }
            args.push(d);
        }
        Ok((
            WFunc::Shift {
                lead,
                offset,
                frame,
            },
            args,
            ty,
        ))
    }

    /// `fMerge(state) OVER …`: the states of the frame merged and finished, as ClickHouse
    /// runs it (`countMerge(n) OVER (ORDER BY t)`, a running count of a rollup's rows).
    fn window_merge(&mut self, c: &Call, inner: &str, mode: Mode) -> Result<AggSpec> {
        let (base, is_if) = funcs::aggregate(inner)
            .ok_or_else(|| Error::unsupported(format!("window function {}", c.name)))?;
        let params = self.aggregate_params(c)?;
        let kind = funcs::aggregate_kind(base, &params)?;
        if matches!(kind, AggKind::GroupArray(..) | AggKind::Quantile(..)) {
            return Err(Error::unsupported(format!("{} over a window", c.name)));
        }
        let [arg] = c.args.as_slice() else {
            return Err(Error::query(format!("{} takes 1 argument", c.name)));
        };
        let state = self.bind(arg, mode)?;
        let ty = merge_type(&c.name, base, is_if, &params, &kind, &state.ty)?;
        Ok(AggSpec {
            kind: AggKind::Merge(Box::new(kind)),
            args: vec![state],
            cond: None,
            ty,
        })
    }

    /// An aggregate over a window: `sum(x) OVER …`, `first_value(x) OVER …` (`any`), ….
    fn window_aggregate(&mut self, c: &Call, lower: &str, mode: Mode) -> Result<AggSpec> {
        let name = funcs::canonical(&c.name);
        let (kind, is_if) = match lower {
            "first_value" | "any_value" => (AggKind::Any, false),
            "last_value" => (AggKind::AnyLast, false),
            _ => {
                if let Some((super::super::state::Combinator::Merge, inner, false)) =
                    super::super::state::split_combinator(&name)
                {
                    return self.window_merge(c, &inner, mode);
                }
                let Some((base, is_if)) = funcs::aggregate(&name) else {
                    return Err(Error::unsupported(format!("window function {}", c.name)));
                };
                if super::super::state::split_combinator(&name).is_some() {
                    return Err(Error::unsupported(format!("{} over a window", c.name)));
                }
                let params = self.aggregate_params(c)?;
                (funcs::aggregate_kind(base, &params)?, is_if)
            }
        };
        if matches!(
            kind,
            AggKind::Quantile(..) | AggKind::State(_) | AggKind::Merge(_)
        ) {
            return Err(Error::unsupported(format!("{} over a window", c.name)));
        }
        let mut arg_exprs: Vec<&Expr> = c.args.iter().collect();
        let cond = if is_if {
            let last = arg_exprs
                .pop()
                .ok_or_else(|| Error::query(format!("{} needs a condition", c.name)))?;
            let b = self.bind(last, mode)?;
            if !funcs::is_uint8_condition(&b.ty) {
                return Err(funcs::illegal_condition(&c.name, &b.ty));
            }
            Some(b)
        } else {
            None
        };
        let mut args = Vec::new();
        for a in &arg_exprs {
            args.push(self.bind(a, mode)?);
        }
        kind.check_arity(&c.name, args.len())?;
        let mut kind = kind;
        if kind == AggKind::Count && args.first().is_some_and(|a| !a.ty.is_nullable()) {
            args.clear();
        }
        for (i, a) in args.iter().enumerate() {
            refuse_state(a, "an argument of ", &c.name)?;
            let kept = i == 0 && matches!(kind, AggKind::ArgMin | AggKind::ArgMax);
            if matches!(a.ty.base(), DataType::Array(_) | DataType::Map(..))
                && !kept
                && !matches!(
                    kind,
                    AggKind::Any | AggKind::AnyLast | AggKind::GroupArray(..)
                )
            {
                return Err(Error::unsupported(format!("{} of arrays or maps", c.name)));
            }
        }
        let only_null = |t: &DataType| t.is_nullable() && *t.base() == DataType::Nothing;
        if !matches!(kind, AggKind::Count | AggKind::Uniq) {
            if let Some(i) = args.iter().position(|a| only_null(&a.ty)) {
                kind = AggKind::Any;
                args = vec![args.swap_remove(i)];
            }
        }
        let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
        let ty = result_type(&kind, &types)?.without_low_cardinality();
        Ok(AggSpec {
            kind,
            args,
            cond,
            ty,
        })
    }
}

/// Adds one column per window function to `batch`, in order.
pub(super) fn compute(batch: &mut Batch<'_>, windows: &[WindowSpec]) -> Result<()> {
    for w in windows {
        let col = compute_one(batch, w)?;
        batch.cols.push(col);
    }
    Ok(())
}

/// The type's value where a window function has no row to read: `NULL` for a `Nullable`.
fn missing(ty: &DataType) -> Value {
    if ty.is_nullable() {
        Value::Null
    } else {
        default_value(ty)
    }
}

/// Whether `fr` is a `RANGE` frame with an offset (`RANGE BETWEEN 1 PRECEDING …`).
fn range_offsets(fr: &Frame) -> bool {
    !fr.rows
        && [fr.start, fr.end]
            .iter()
            .any(|b| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_)))
}

/// The order key of a `RANGE` frame with offsets, as an integer (days of a `Date`, seconds of
/// a `DateTime`), negated for `DESC`: ascending in sorted order either way.
fn range_key(v: &Value, desc: bool) -> i128 {
    let k = match v {
        Value::UInt(u) => i128::from(*u),
        Value::Int(i) => i128::from(*i),
        Value::Bool(b) => i128::from(*b),
        Value::Date(d) => i128::from(*d),
        Value::DateTime(s) => i128::from(*s),
        _ => 0,
    };
    if desc {
        -k
    } else {
        k
    }
}

/// `[start, end)` of row `i`'s frame, in sorted positions; `p0..p1` is its partition and
/// `ps..pe` its peers (the rows with its order keys). `keys`, for a `RANGE` frame with
/// offsets, holds each sorted row's [`range_key`].
fn frame_of(
    fr: &Frame,
    i: usize,
    p: (usize, usize),
    peers: (usize, usize),
    keys: Option<&[i128]>,
) -> (usize, usize) {
    let (p0, p1) = p;
    if let (false, Some(keys)) = (fr.rows, keys) {
        // The first row of the partition whose key is at least (or past) `v ± k`.
        let part = &keys[p0..p1];
        let v = keys[i];
        let at = |b: FrameBound, past: bool| -> usize {
            let bound = match b {
                FrameBound::Preceding(k) => v - i128::from(k),
                FrameBound::Following(k) => v + i128::from(k),
                _ => v,
            };
            p0 + part.partition_point(|x| if past { *x <= bound } else { *x < bound })
        };
        let start = match fr.start {
            FrameBound::UnboundedPreceding => p0,
            FrameBound::CurrentRow => peers.0,
            b => at(b, false),
        };
        let end = match fr.end {
            FrameBound::UnboundedFollowing => p1,
            FrameBound::CurrentRow => peers.1,
            b => at(b, true),
        };
        return (start, end.max(start));
    }
    let back = |k: u64| usize::try_from(k).map_or(p0, |k| i.saturating_sub(k).max(p0));
    let fwd = |k: u64| usize::try_from(k).map_or(p1, |k| i.saturating_add(k).min(p1));
    let start = match fr.start {
        FrameBound::UnboundedPreceding => p0,
        FrameBound::Preceding(k) => {
            if fr.rows {
                back(k)
            } else {
                p0
            }
        }
        FrameBound::CurrentRow => {
            if fr.rows {
                i
            } else {
                peers.0
            }
        }
        FrameBound::Following(k) => fwd(k),
        FrameBound::UnboundedFollowing => p1,
    };
    let end = match fr.end {
        FrameBound::UnboundedFollowing => p1,
        FrameBound::Following(k) => fwd(k).saturating_add(1).min(p1),
        FrameBound::CurrentRow => {
            if fr.rows {
                i + 1
            } else {
                peers.1
            }
        }
        // `k PRECEDING` ends the frame `k` rows before the current one: before the partition
        // when `k` is past its first row.
        FrameBound::Preceding(k) => match usize::try_from(k) {
            Ok(k) if k <= i - p0 => i + 1 - k,
            _ => p0,
        },
        FrameBound::UnboundedPreceding => p0,
    };
    (start, end.max(start))
}

/// Sets `out[row]` to `v`, charging its bytes to what `maxBytes` leaves as it goes, so that
/// large values (`groupArray` over long frames) fail before they take the memory.
fn put(out: &mut [Value], row: usize, v: Value) -> Result<()> {
    budget::keep(budget::value_bytes(&v))?;
    out[row] = v;
    Ok(())
}

/// One window function's values, one per row of `batch`.
fn compute_one<'a>(batch: &Batch<'a>, w: &WindowSpec) -> Result<Col<'a>> {
    let n = batch.n;
    let key = |e: &BExpr, desc: bool, nulls_first: bool| -> Result<SortKey<'a>> {
        let c = eval(e, batch)?.into_owned().materialize(&e.ty, n);
        Ok(sort_key(c, e.ty.clone(), desc, nulls_first, n))
    };
    let parts: Vec<SortKey<'a>> = w
        .partition
        .iter()
        .map(|e| key(e, false, false))
        .collect::<Result<_>>()?;
    let orders: Vec<SortKey<'a>> = w
        .order
        .iter()
        .map(|k| key(&k.expr, k.desc, k.nulls_first))
        .collect::<Result<_>>()?;
    let mut perm: Vec<u32> = (0..n as u32).collect();
    if !parts.is_empty() || !orders.is_empty() {
        // Stable: rows that tie keep the order they come in.
        perm.sort_by(|a, b| {
            compare_keys(&parts, *a as usize, *b as usize)
                .then_with(|| compare_keys(&orders, *a as usize, *b as usize))
        });
    }
    let same = |keys: &[SortKey<'a>], a: usize, b: usize| {
        compare_keys(keys, perm[a] as usize, perm[b] as usize) == Ordering::Equal
    };
    // The arguments in sorted order.
    let args: Vec<Col<'a>> = w
        .args
        .iter()
        .map(|a| Ok(eval(a, batch)?.into_owned().materialize(&a.ty, n)))
        .collect::<Result<_>>()?;
    let mut agg = match &w.func {
        WFunc::Agg(spec) => Some(Frames::new(spec, batch, &perm)?),
        _ => None,
    };
    let range_keys: Option<Vec<i128>> = match (range_offsets(&w.frame), w.order.first()) {
        (true, Some(k)) => {
            let c = eval(&k.expr, batch)?;
            Some(
                perm.iter()
                    .map(|&r| range_key(&c.value_at(r as usize, &k.expr.ty), k.desc))
                    .collect(),
            )
        }
        _ => None,
    };
    let mut out: Vec<Value> = vec![Value::Null; n];
    let mut p0 = 0;
    let mut peer_start = vec![0usize; 0];
    let mut peer_end = vec![0usize; 0];
    while p0 < n {
        let mut p1 = p0 + 1;
        while p1 < n && same(&parts, p0, p1) {
            p1 += 1;
        }
        // Peers: rows of the partition with equal order keys.
        peer_start.clear();
        peer_end.clear();
        let mut g = p0;
        while g < p1 {
            let mut h = g + 1;
            while h < p1 && same(&orders, g, h) {
                h += 1;
            }
            for _ in g..h {
                peer_start.push(g);
                peer_end.push(h);
            }
            g = h;
        }
        let size = p1 - p0;
        let mut dense = 0u64;
        if let Some(frames) = &mut agg {
            let ctx = Partition {
                p: (p0, p1),
                peer_start: &peer_start,
                peer_end: &peer_end,
                range_keys: range_keys.as_deref(),
            };
            frames.partition(w, &ctx, &perm, &mut out)?;
        }
        for i in p0..p1 {
            let peers = (peer_start[i - p0], peer_end[i - p0]);
            if peers.0 == i {
                dense += 1;
            }
            let row = perm[i] as usize;
            let v = match &w.func {
                WFunc::RowNumber => Value::UInt((i - p0 + 1) as u64),
                WFunc::Rank => Value::UInt((peers.0 - p0 + 1) as u64),
                WFunc::DenseRank => Value::UInt(dense),
                WFunc::PercentRank => Value::Float64(if size > 1 {
                    (peers.0 - p0) as f64 / (size - 1) as f64
                } else {
                    0.0
                }),
                WFunc::CumeDist => Value::Float64((peers.1 - p0) as f64 / size as f64),
                WFunc::Shift {
                    lead,
                    offset,
                    frame,
                } => {
                    let (s, e) = if *frame {
                        frame_of(&w.frame, i, (p0, p1), peers, range_keys.as_deref())
                    } else {
                        (p0, p1)
                    };
                    let target = usize::try_from(*offset).ok().and_then(|k| {
                        if *lead {
                            i.checked_add(k)
                        } else {
                            i.checked_sub(k)
                        }
                    });
                    match target {
                        Some(t) if t >= s && t < e => args[0].value_at(perm[t] as usize, &w.ty),
                        _ => match args.get(1) {
                            Some(d) => conform(d.value_at(row, &w.args[1].ty), &w.ty),
                            None => missing(&w.ty),
                        },
                    }
                }
                WFunc::Nth(k) => {
                    let (s, e) = frame_of(&w.frame, i, (p0, p1), peers, range_keys.as_deref());
                    match usize::try_from(*k - 1).ok().and_then(|k| s.checked_add(k)) {
                        Some(t) if t < e => args[0].value_at(perm[t] as usize, &w.ty),
                        _ => missing(&w.ty),
                    }
                }
                WFunc::Agg(_) => continue,
            };
            put(&mut out, row, v)?;
        }
        p0 = p1;
    }
    Ok(from_values(out, &w.ty))
}

/// One partition, in sorted positions: its rows, each row's first peer and the row after its
/// last, and the keys of a `RANGE` frame with offsets.
struct Partition<'p> {
    p: (usize, usize),
    peer_start: &'p [usize],
    peer_end: &'p [usize],
    range_keys: Option<&'p [i128]>,
}

/// An aggregate over frames: its arguments and condition in sorted order, and a fresh state.
struct Frames<'a> {
    args: Vec<Col<'a>>,
    cond: Option<Vec<bool>>,
    fresh: Agg,
    /// Whether the result does not depend on the order rows are added in, so that frames
    /// that end with their partition can be aggregated from the end.
    commutes: bool,
    /// Whether the state grows with the rows it holds (`uniq`, `groupArray`), so that
    /// taking its value costs as much as the rows fed.
    grows: bool,
    /// Rows aggregated frame by frame so far, or held by a growing state each time its
    /// value was taken.
    work: u64,
}

impl<'a> Frames<'a> {
    fn new(spec: &AggSpec, batch: &Batch<'a>, perm: &[u32]) -> Result<Frames<'a>> {
        let args = spec
            .args
            .iter()
            .map(|a| Ok(eval(a, batch)?.gather(perm)))
            .collect::<Result<Vec<_>>>()?;
        let cond = match &spec.cond {
            Some(c) => {
                let m = eval_mask(c, batch)?;
                Some(perm.iter().map(|&i| m[i as usize]).collect())
            }
            None => None,
        };
        let commutes = matches!(
            spec.kind,
            AggKind::Count | AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::Uniq
        ) && !spec.ty.is_float();
        Ok(Frames {
            args,
            cond,
            fresh: Agg::new(spec.clone()),
            commutes,
            grows: match &spec.kind {
                AggKind::Merge(k) => matches!(**k, AggKind::Uniq),
                k => matches!(k, AggKind::Uniq | AggKind::GroupArray(..)),
            },
            work: 0,
        })
    }

    /// Adds rows `s..e` (sorted positions) to `agg`.
    fn feed(&self, agg: &mut Agg, s: usize, e: usize) -> Result<()> {
        if e <= s {
            return Ok(());
        }
        let args: Vec<Cow<'_, Col<'_>>> = self
            .args
            .iter()
            .map(|c| Cow::Owned(c.slice(s, e)))
            .collect();
        let groups = Groups {
            ids: None,
            mask: self.cond.as_ref().map(|m| &m[s..e]),
        };
        agg.update(&args, &groups, 1, e - s);
        match agg.error() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The aggregate's value now, `agg` (which holds `held` rows) kept.
    fn value(&mut self, agg: &Agg, ty: &DataType, held: usize) -> Result<Value> {
        if self.grows {
            self.charge(held)?;
        }
        Ok(agg.clone().finish(1)?.value_at(0, ty))
    }

    /// Counts `rows` more aggregated (or copied) toward [`MAX_FRAME_ROWS`].
    fn charge(&mut self, rows: usize) -> Result<()> {
        self.work = self.work.saturating_add(rows as u64);
        if self.work > MAX_FRAME_ROWS {
            return Err(Error::unsupported(format!(
                "window frames that cover more than {MAX_FRAME_ROWS} rows in all (a frame \
                 that starts after its partition's first row is aggregated row by row, and \
                 uniq and groupArray copy their state for each row)"
            )));
        }
        Ok(())
    }

    /// The values of the partition `p0..p1`, written to `out` at the rows `perm` gives.
    fn partition(
        &mut self,
        w: &WindowSpec,
        ctx: &Partition<'_>,
        perm: &[u32],
        out: &mut [Value],
    ) -> Result<()> {
        let (p0, p1) = ctx.p;
        let (peer_start, peer_end, range_keys) = (ctx.peer_start, ctx.peer_end, ctx.range_keys);
        let frames: Vec<(usize, usize)> = (p0..p1)
            .map(|i| {
                let k = i - p0;
                frame_of(
                    &w.frame,
                    i,
                    (p0, p1),
                    (peer_start[k], peer_end[k]),
                    range_keys,
                )
            })
            .collect();
        let ty = &w.ty;
        if w.frame.start == FrameBound::UnboundedPreceding {
            // Every frame starts with the partition and ends no earlier than the one before:
            // one state, fed as the end moves.
            let mut agg = self.fresh.clone();
            let mut fed = p0;
            let mut last: Option<(usize, Value)> = None;
            for (k, &(_, e)) in frames.iter().enumerate() {
                let v = match &last {
                    Some((le, v)) if *le == e => v.clone(),
                    _ => {
                        self.feed(&mut agg, fed, e.max(fed))?;
                        fed = fed.max(e);
                        self.value(&agg, ty, fed - p0)?
                    }
                };
                put(out, perm[p0 + k] as usize, v.clone())?;
                last = Some((e, v));
            }
            return Ok(());
        }
        if w.frame.end == FrameBound::UnboundedFollowing && self.commutes {
            // Every frame ends with the partition: one state, fed from the end.
            let mut agg = self.fresh.clone();
            let mut fed = p1;
            let mut last: Option<(usize, Value)> = None;
            for (k, &(s, _)) in frames.iter().enumerate().rev() {
                let v = match &last {
                    Some((ls, v)) if *ls == s => v.clone(),
                    _ => {
                        self.feed(&mut agg, s.min(fed), fed)?;
                        fed = fed.min(s);
                        self.value(&agg, ty, p1 - fed)?
                    }
                };
                put(out, perm[p0 + k] as usize, v.clone())?;
                last = Some((s, v));
            }
            return Ok(());
        }
        let mut last: Option<((usize, usize), Value)> = None;
        for (k, &(s, e)) in frames.iter().enumerate() {
            let v = match &last {
                Some((f, v)) if *f == (s, e) => v.clone(),
                _ => {
                    self.charge(e - s)?;
                    let mut agg = self.fresh.clone();
                    self.feed(&mut agg, s, e)?;
                    Ok::<_, Error>(agg.finish(1)?.value_at(0, ty))?
                }
            };
            put(out, perm[p0 + k] as usize, v.clone())?;
            last = Some(((s, e), v));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(start: FrameBound, end: FrameBound) -> Frame {
        Frame {
            rows: true,
            start,
            end,
        }
    }

    #[test]
    fn frames_are_clipped_to_the_partition() {
        use FrameBound::*;
        // A partition of rows 10..20; row 12 with peers 11..14.
        let p = (10, 20);
        let peers = (11, 14);
        let f = |fr: Frame| frame_of(&fr, 12, p, peers, None);
        assert_eq!(f(rows(Preceding(1), CurrentRow)), (11, 13));
        assert_eq!(f(rows(Preceding(5), Following(100))), (10, 20));
        assert_eq!(f(rows(Preceding(3), Preceding(2))), (10, 11));
        assert_eq!(f(rows(Preceding(1), Preceding(1))), (11, 12));
        // Past the partition's start: an empty frame.
        assert_eq!(f(rows(UnboundedPreceding, Preceding(3))), (10, 10));
        assert_eq!(f(rows(Following(1), Following(3))), (13, 16));
        assert_eq!(f(rows(Following(9), UnboundedFollowing)), (20, 20));
        assert_eq!(f(rows(Preceding(u64::MAX), Following(u64::MAX))), (10, 20));
        // RANGE: the current row's peers.
        let range = |start, end| Frame {
            rows: false,
            start,
            end,
        };
        assert_eq!(f(range(UnboundedPreceding, CurrentRow)), (10, 14));
        assert_eq!(f(range(CurrentRow, CurrentRow)), (11, 14));
        assert_eq!(f(range(CurrentRow, UnboundedFollowing)), (11, 20));
        // RANGE with offsets: keys 0, 2, 4, 6, 8 (or, for DESC, their negations); row 2 (4).
        let keys = [0, 2, 4, 6, 8];
        let g = |fr: Frame, keys: &[i128]| frame_of(&fr, 2, (0, 5), (2, 3), Some(keys));
        assert_eq!(g(range(Preceding(2), Following(1)), &keys), (1, 3));
        assert_eq!(g(range(Following(1), Following(4)), &keys), (3, 5));
        assert_eq!(g(range(UnboundedPreceding, Preceding(3)), &keys), (0, 1));
        assert_eq!(g(range(Preceding(100), CurrentRow), &keys), (0, 3));
        let desc = [-8, -6, -4, -2, 0];
        assert_eq!(g(range(Preceding(2), CurrentRow), &desc), (1, 3));
    }
}
