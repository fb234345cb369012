//! Aggregate functions: their result types, per-group states, vectorised updates and results.
//!
//! Quantiles are exact: `quantile`/`median` interpolate like ClickHouse's reservoir sampler does
//! when it holds every value (ClickHouse samples 8192 values per group, so its `quantile` agrees
//! with ours on groups of up to 8192 rows); `quantileExact` picks the element at
//! `floor(level * n)` and `quantileExactInclusive` interpolates linearly, as ClickHouse does.

use super::budget;
use super::column::{Col, Dict, Prim, Strs};
use super::eval::BExpr;
use super::state::{AggState, Key, StateVal};
use super::types::{DataType, Repr};
use super::Value;
use crate::error::{Error, Result};
use crate::store::ColumnData;
use crate::store::{Dictionary, FxHashMap, FxHasher};
use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

type FxSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

/// Quantile flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QKind {
    /// `quantile`, `median`: linear interpolation at `level * (n - 1)`.
    Interpolated,
    /// `quantileExact`, `medianExact`: the element at `floor(level * n)`.
    Exact,
    /// `quantileExactInclusive`: linear interpolation at `level * (n - 1) + 1` (1-based).
    Inclusive,
}

/// What an aggregate computes.
#[derive(Debug, Clone, PartialEq)]
pub enum AggKind {
    /// `count()`, `count(x)`.
    Count,
    /// `sum`.
    Sum,
    /// `avg`.
    Avg,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `any`: the first value seen.
    Any,
    /// `anyLast`: the last value seen.
    AnyLast,
    /// `argMin(arg, val)`.
    ArgMin,
    /// `argMax(arg, val)`.
    ArgMax,
    /// `uniq`, `uniqExact`, `count(DISTINCT …)`: exact distinct count.
    Uniq,
    /// Quantiles at the levels; `plural` returns an array.
    Quantile(QKind, Vec<f64>, bool),
    /// Variance, standard deviation, covariance or correlation, from moments summed in
    /// `Float64` as ClickHouse sums them.
    Moments(MKind),
    /// `fState`: the state of the aggregate, per group a [`Value::State`].
    State(Box<AggKind>),
    /// `fMerge`: merges the states its one argument holds, then finishes them.
    Merge(Box<AggKind>),
    /// `groupArray` (`uniq` false) and `groupUniqArray` (true), keeping at most the given
    /// number of values per group.
    GroupArray(Option<u64>, bool),
}

impl AggKind {
    /// Fails with a query error when `n` arguments are outside [`AggKind::arity`];
    /// `name` is the function as written.
    pub fn check_arity(&self, name: &str, n: usize) -> Result<()> {
        let (min, max) = self.arity();
        if n < min || n > max {
            return Err(Error::query(format!(
                "{name} takes {} argument{}",
                if min == max {
                    min.to_string()
                } else {
                    format!("{min} or {max}")
                },
                if max == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }

    /// The fewest and the most arguments the aggregate takes (its `-If` condition aside).
    pub fn arity(&self) -> (usize, usize) {
        match self {
            AggKind::Count => (0, 1),
            AggKind::ArgMin | AggKind::ArgMax => (2, 2),
            AggKind::Uniq => (1, 64),
            AggKind::Moments(m) => (m.arity(), m.arity()),
            _ => (1, 1),
        }
    }
}

/// What an [`AggKind::Moments`] aggregate gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MKind {
    /// `varPop(x)`.
    VarPop,
    /// `varSamp(x)`.
    VarSamp,
    /// `stddevPop(x)`.
    StddevPop,
    /// `stddevSamp(x)`.
    StddevSamp,
    /// `covarPop(x, y)`.
    CovarPop,
    /// `covarSamp(x, y)`.
    CovarSamp,
    /// `corr(x, y)`.
    Corr,
}

impl MKind {
    /// How many arguments the function takes.
    pub fn arity(self) -> usize {
        match self {
            MKind::CovarPop | MKind::CovarSamp | MKind::Corr => 2,
            _ => 1,
        }
    }

    /// The answer from the moments `[n, Σx, Σy, Σxy, Σx², Σy²]`, as ClickHouse computes it
    /// (NaN where it is undefined; a variance that rounding makes negative is 0). With `f32`
    /// (every argument `Float32`), ClickHouse keeps the moments and computes in `Float32`.
    pub fn finish(self, m: &[f64; 6], f32: bool) -> f64 {
        if f32 {
            let m = m.map(|v| v as f32);
            return f64::from(self.finish_in(&m));
        }
        self.finish_in(m)
    }

    fn finish_in<T: num_like::Float>(self, m: &[T; 6]) -> T {
        let [n, x, y, xy, x2, y2] = *m;
        let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
        let nan = T::from_f64(f64::NAN);
        // `max` gives 0 for a NaN difference, as `std::max(0, NaN)` does.
        let var = |d: T| ((x2 - x * x / n) / d).max(zero);
        match self {
            MKind::VarPop | MKind::StddevPop | MKind::CovarPop if n == zero => nan,
            MKind::VarSamp | MKind::StddevSamp | MKind::CovarSamp if n <= one => nan,
            MKind::VarPop => var(n),
            MKind::VarSamp => var(n - one),
            MKind::StddevPop => var(n).sqrt(),
            MKind::StddevSamp => var(n - one).sqrt(),
            MKind::CovarPop => (xy - x * y / n) / n,
            MKind::CovarSamp => (xy - x * y / n) / (n - one),
            MKind::Corr => (n * xy - x * y) / ((n * x2 - x * x) * (n * y2 - y * y)).sqrt(),
        }
    }
}

/// The two float types moments are kept in.
mod num_like {
    /// `f32` or `f64`.
    pub trait Float:
        Copy
        + PartialOrd
        + std::ops::Add<Output = Self>
        + std::ops::Sub<Output = Self>
        + std::ops::Mul<Output = Self>
        + std::ops::Div<Output = Self>
    {
        fn from_f64(v: f64) -> Self;
        fn max(self, o: Self) -> Self;
        fn sqrt(self) -> Self;
    }
    impl Float for f32 {
        fn from_f64(v: f64) -> Self {
            v as f32
        }
        fn max(self, o: Self) -> Self {
            f32::max(self, o)
        }
        fn sqrt(self) -> Self {
            f32::sqrt(self)
        }
    }
    impl Float for f64 {
        fn from_f64(v: f64) -> Self {
            v
        }
        fn max(self, o: Self) -> Self {
            f64::max(self, o)
        }
        fn sqrt(self) -> Self {
            f64::sqrt(self)
        }
    }
}

/// The most values `groupArray` and `groupUniqArray` keep over all groups of a query.
pub const MAX_GROUP_ARRAY_VALUES: usize = 4_000_000;

/// One aggregate of a query.
#[derive(Debug, Clone)]
pub struct AggSpec {
    /// The function.
    pub kind: AggKind,
    /// Arguments, bound over the source rows.
    pub args: Vec<BExpr>,
    /// The `-If` condition.
    pub cond: Option<BExpr>,
    /// The result type.
    pub ty: DataType,
}

/// The result type of an aggregate over arguments of `types`.
pub fn result_type(kind: &AggKind, types: &[&DataType]) -> Result<DataType> {
    let first = types.first().map(|t| (*t).clone());
    let arg = || {
        first
            .clone()
            .ok_or_else(|| Error::query("aggregate needs an argument"))
    };
    // Rows with a NULL argument are skipped; a group without other rows is NULL.
    let nullable = types.iter().any(|t| t.is_nullable());
    Ok(match kind {
        AggKind::State(_) | AggKind::Merge(_) => {
            return Err(Error::query("internal: the type of a combinator"))
        }
        AggKind::Count | AggKind::Uniq => DataType::UInt64,
        AggKind::Sum => {
            let t = arg()?;
            let base = t.base();
            let r = if base.is_float() {
                DataType::Float64
            } else if base.is_signed() {
                DataType::Int64
            } else if base.is_number() {
                DataType::UInt64
            } else {
                return Err(Error::query(format!("sum() cannot add {t} values")));
            };
            r.nullable_if(nullable)
        }
        AggKind::Avg => {
            let t = arg()?;
            if !t.base().is_number() {
                return Err(Error::query(format!("avg() cannot average {t} values")));
            }
            DataType::Float64.nullable_if(nullable)
        }
        AggKind::Moments(_) => {
            for t in types {
                if !t.base().is_number() {
                    return Err(Error::query(format!(
                        "ILLEGAL_TYPE_OF_ARGUMENT: illegal type {t} of argument for a \
                         variance, covariance or correlation"
                    )));
                }
            }
            // Float32 arguments only give a Float32 answer.
            let f32s = types.iter().all(|t| *t.base() == DataType::Float32);
            let r = if f32s && !types.is_empty() {
                DataType::Float32
            } else {
                DataType::Float64
            };
            r.nullable_if(nullable)
        }
        AggKind::Min
        | AggKind::Max
        | AggKind::Any
        | AggKind::AnyLast
        | AggKind::ArgMin
        | AggKind::ArgMax => arg()?.without_low_cardinality().nullable_if(nullable),
        // NULLs are skipped, so the elements are never Nullable; nor LowCardinality.
        AggKind::GroupArray(..) => {
            let t = arg()?;
            DataType::Array(Box::new(t.base().clone().without_low_cardinality()))
        }
        AggKind::Quantile(q, _, plural) => {
            let t = arg()?;
            let base = t.base().clone();
            if !(base.is_number() || base.is_time()) {
                return Err(Error::query(format!(
                    "quantiles need numbers or times, not {t}"
                )));
            }
            let one = match q {
                QKind::Exact => base,
                QKind::Interpolated if base.is_time() => base,
                _ => DataType::Float64,
            };
            if *plural {
                DataType::Array(Box::new(one))
            } else {
                one.nullable_if(nullable)
            }
        }
    })
}

/// Which group each row of a batch belongs to, and which rows count.
#[derive(Debug, Clone, Copy)]
pub struct Groups<'g> {
    /// A group id per row; `None` puts every row in group 0 (no `GROUP BY`).
    pub ids: Option<&'g [u32]>,
    /// Rows to skip (false), for `-If` aggregates.
    pub mask: Option<&'g [bool]>,
}

impl<'g> Groups<'g> {
    /// Every row in group 0.
    #[cfg(test)]
    pub const SINGLE: Groups<'static> = Groups {
        ids: None,
        mask: None,
    };

    /// Rows in the groups `ids`.
    #[cfg(test)]
    pub fn ids(ids: &'g [u32]) -> Groups<'g> {
        Groups {
            ids: Some(ids),
            mask: None,
        }
    }

    #[inline]
    fn each(&self, n: usize, mut f: impl FnMut(usize, usize)) {
        match (self.ids, self.mask) {
            (None, None) => (0..n).for_each(|i| f(i, 0)),
            (Some(ids), None) => ids.iter().enumerate().for_each(|(i, g)| f(i, *g as usize)),
            (None, Some(m)) => m.iter().enumerate().for_each(|(i, k)| {
                if *k {
                    f(i, 0)
                }
            }),
            (Some(ids), Some(m)) => ids.iter().zip(m).enumerate().for_each(|(i, (g, k))| {
                if *k {
                    f(i, *g as usize)
                }
            }),
        }
    }
}

/// The aggregates the fused pass over a batch can compute (see [`Agg::fusable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusable {
    /// `count()`, `count(x)`.
    Count,
    /// `sum(x)`.
    Sum,
    /// `avg(x)`.
    Avg,
}

/// A total order over values of one representation, for min/max/argMin/argMax.
#[derive(Debug, Clone, PartialEq)]
pub enum Ord3 {
    /// An unsigned key.
    U(u64),
    /// A signed key.
    I(i64),
    /// A float key.
    F(f64),
    /// A string key.
    S(Rc<str>),
}

impl Ord3 {
    /// The key as a state holds it.
    fn to_key(&self) -> Key {
        match self {
            Ord3::U(x) => Key::U(*x),
            Ord3::I(x) => Key::I(*x),
            Ord3::F(x) => Key::F(*x),
            Ord3::S(x) => Key::S(x.to_string()),
        }
    }

    /// A key a state holds.
    fn from_key(k: Key) -> Ord3 {
        match k {
            Key::U(x) => Ord3::U(x),
            Key::I(x) => Ord3::I(x),
            Key::F(x) => Ord3::F(x),
            Key::S(x) => Ord3::S(Rc::from(x)),
        }
    }

    /// Whether `self` orders before `o`.
    pub fn less(&self, o: &Ord3) -> bool {
        match (self, o) {
            (Ord3::U(a), Ord3::U(b)) => a < b,
            (Ord3::I(a), Ord3::I(b)) => a < b,
            (Ord3::F(a), Ord3::F(b)) => a < b,
            (Ord3::S(a), Ord3::S(b)) => a < b,
            _ => false,
        }
    }

    /// Whether the key is a NaN, which argMin and argMax pass over while other keys exist.
    pub fn is_nan(&self) -> bool {
        matches!(self, Ord3::F(x) if x.is_nan())
    }
}

/// The state of one aggregate for all groups.
#[derive(Debug, Clone)]
enum State {
    Count(Vec<u64>),
    SumU(Vec<u64>),
    SumI(Vec<i64>),
    SumF(Vec<f64>),
    AvgI(Vec<i128>, Vec<u64>),
    AvgF(Vec<f64>, Vec<u64>),
    MinMaxU(Vec<Option<u64>>, bool),
    MinMaxI(Vec<Option<i64>>, bool),
    MinMaxF(Vec<Option<f64>>, bool),
    MinMaxS(Vec<Option<Rc<str>>>, bool),
    Any(Vec<Option<Value>>, bool),
    Arg(Vec<Option<(Ord3, Value)>>, bool),
    /// Per group the distinct keys; the id of each string seen; the id of each tuple of keys
    /// (several arguments).
    Uniq(
        Vec<FxSet<u64>>,
        FxHashMap<Box<str>, u64>,
        FxHashMap<Vec<u64>, u64>,
    ),
    QuantU(Vec<Vec<u64>>),
    QuantI(Vec<Vec<i64>>),
    QuantF(Vec<Vec<f64>>),
    /// Per group `[n, Σx, Σy, Σxy, Σx², Σy²]`; kept in `Float32` precision when every
    /// argument is `Float32`, as ClickHouse keeps them.
    Moments(Vec<[f64; 6]>, bool),
    /// `-Merge`: per group the states merged so far.
    Merge(Vec<Option<AggState>>),
    /// Per group the values kept, and (for `groupUniqArray`) the JSON text of each; the most
    /// values per group; the number kept over all groups.
    Group(
        Vec<Vec<Value>>,
        Option<Vec<FxSet<String>>>,
        Option<u64>,
        usize,
    ),
}

/// An aggregate's state across groups.
#[derive(Debug, Clone)]
pub struct Agg {
    spec: AggSpec,
    state: State,
    arg_ty: DataType,
    /// For a `Nullable` result: per group, whether a row with no `NULL` argument was seen
    /// (groups without one are `NULL`).
    seen: Option<Vec<bool>>,
}

/// Runs `$body` with `$v` bound to the column's values as a slice: the stored slice for the
/// storage types of the shipped schema (`UInt8`, `UInt32`, `Float32`), else converted with `$conv`.
macro_rules! on_slice {
    ($c:expr, $n:expr, $conv:ident, $v:ident => $body:expr) => {
        match $c {
            Col::Native(d) => match &**d {
                ColumnData::U8($v) => $body,
                ColumnData::U32($v) => $body,
                ColumnData::F32($v) => $body,
                _ => {
                    let w = $c.$conv($n);
                    let $v = &*w;
                    $body
                }
            },
            other => {
                let w = other.$conv($n);
                let $v = &*w;
                $body
            }
        }
    };
}

/// Folds unsigned values into per-group minimums or maximums.
fn min_max_u<T: Prim>(m: &mut [Option<u64>], v: &[T], groups: &Groups<'_>, max: bool) {
    let pick = |o: Option<u64>, x: u64| -> u64 {
        match o {
            None => x,
            Some(o) if max => o.max(x),
            Some(o) => o.min(x),
        }
    };
    if groups.ids.is_none() && groups.mask.is_none() {
        let block = if max {
            v.iter().map(|x| x.u()).max()
        } else {
            v.iter().map(|x| x.u()).min()
        };
        if let Some(b) = block {
            m[0] = Some(pick(m[0], b));
        }
    } else {
        groups.each(v.len(), |i, g| m[g] = Some(pick(m[g], v[i].u())));
    }
}

/// A value, or zero where a row is masked out, chosen without a branch.
trait Keep: Sized {
    /// `self` if `keep`, else zero.
    fn keep(self, keep: bool) -> Self;
}

impl Keep for u64 {
    #[inline]
    fn keep(self, keep: bool) -> u64 {
        self * u64::from(keep)
    }
}

impl Keep for f64 {
    /// `+0.0` when dropped, whatever `self` is (a product would turn NaN and infinities into
    /// NaN).
    #[inline]
    fn keep(self, keep: bool) -> f64 {
        f64::from_bits(self.to_bits() & u64::from(keep).wrapping_neg())
    }
}

/// Most groups for which sums are kept in banks (see [`banked`]).
const BANKED_GROUPS: usize = 64;

/// Adds `value(i)` to `s[ids[i]]` for every row `i` (that `mask` keeps) with four banks of
/// sums, so that rows of one group in a row do not wait on each other's additions. Masked-out
/// rows add `zero`, without a branch. Only for few groups and additions that may be reordered.
#[inline]
fn banked<A: Copy + Keep>(
    s: &mut [A],
    ids: &[u32],
    mask: Option<&[bool]>,
    zero: A,
    add: impl Fn(A, A) -> A,
    value: impl Fn(usize) -> A,
) {
    let k = s.len();
    let mut banks = vec![zero; 4 * k];
    let slot = |b: usize, g: u32| b * k + (g as usize).min(k - 1);
    let m = ids.len();
    let whole = m - m % 4;
    match mask {
        None => {
            for i in (0..whole).step_by(4) {
                for b in 0..4 {
                    let j = slot(b, ids[i + b]);
                    banks[j] = add(banks[j], value(i + b));
                }
            }
            for (i, &g) in ids.iter().enumerate().skip(whole) {
                banks[slot(0, g)] = add(banks[slot(0, g)], value(i));
            }
        }
        Some(keep) => {
            let keep = &keep[..m.min(keep.len())];
            let pick = |i: usize| value(i).keep(keep.get(i).copied().unwrap_or(false));
            for i in (0..whole).step_by(4) {
                for b in 0..4 {
                    let j = slot(b, ids[i + b]);
                    banks[j] = add(banks[j], pick(i + b));
                }
            }
            for (i, &g) in ids.iter().enumerate().skip(whole) {
                banks[slot(0, g)] = add(banks[slot(0, g)], pick(i));
            }
        }
    }
    for (g, sum) in s.iter_mut().enumerate() {
        for b in 0..4 {
            *sum = add(*sum, banks[b * k + g]);
        }
    }
}

/// Folds `v` into per-group extremes with `pick` (the larger or the smaller of two), skipping
/// the values `skip` names (NaN for floats).
fn fold_extremes<T: Copy>(
    m: &mut [Option<T>],
    v: &[T],
    groups: &Groups<'_>,
    skip: impl Fn(T) -> bool,
    pick: impl Fn(T, T) -> T,
) {
    groups.each(v.len(), |i, g| {
        let x = v[i];
        if !skip(x) {
            m[g] = Some(m[g].map_or(x, |o| pick(o, x)));
        }
    });
}

/// Adds integers to per-group wrapping sums.
fn sum_ints<T: Prim>(s: &mut [u64], v: &[T], groups: &Groups<'_>) {
    match (groups.ids, groups.mask) {
        (None, None) => s[0] = v.iter().fold(s[0], |a, x| a.wrapping_add(x.u())),
        // Masked-out rows add zero, without a branch.
        (None, Some(m)) => {
            s[0] = v
                .iter()
                .zip(m)
                .fold(s[0], |a, (x, k)| a.wrapping_add(x.u() * u64::from(*k)))
        }
        (Some(ids), mask) if !s.is_empty() && s.len() <= BANKED_GROUPS => {
            let ids = &ids[..ids.len().min(v.len())];
            banked(s, ids, mask, 0, u64::wrapping_add, |i| v[i].u());
        }
        // Many groups: masked-out rows add zero rather than branch.
        (Some(ids), Some(m)) => {
            for ((g, x), k) in ids.iter().zip(v).zip(m) {
                if let Some(t) = s.get_mut(*g as usize) {
                    *t = t.wrapping_add(x.u().keep(*k));
                }
            }
        }
        _ => groups.each(v.len(), |i, g| s[g] = s[g].wrapping_add(v[i].u())),
    }
}

/// Counts rows into per-group counts.
fn count_rows(c: &mut [u64], n: usize, groups: &Groups<'_>) {
    match (groups.ids, groups.mask) {
        (None, None) => c[0] += n as u64,
        (None, Some(m)) => c[0] += m.iter().filter(|k| **k).count() as u64,
        (Some(ids), mask) if !c.is_empty() && c.len() <= BANKED_GROUPS => {
            banked(
                c,
                &ids[..ids.len().min(n)],
                mask,
                0,
                u64::wrapping_add,
                |_| 1,
            );
        }
        (Some(ids), Some(m)) => {
            for (g, k) in ids.iter().zip(m) {
                if let Some(t) = c.get_mut(*g as usize) {
                    *t += u64::from(*k);
                }
            }
        }
        _ => groups.each(n, |_, g| c[g] += 1),
    }
}

/// Adds integers exactly to per-group sums and counts (for `avg`).
fn sum_wide<T: Prim>(s: &mut [i128], c: &mut [u64], v: &[T], groups: &Groups<'_>) {
    if groups.ids.is_none() && groups.mask.is_none() {
        s[0] += v.iter().map(|x| x.w()).sum::<i128>();
        c[0] += v.len() as u64;
    } else if std::mem::size_of::<T>() < 8 && !s.is_empty() && s.len() <= BANKED_GROUPS {
        // Narrow values: a block's sum fits 64 bits (as two's complement for negatives).
        let mut part = vec![0u64; s.len()];
        sum_ints(&mut part, v, groups);
        for (d, p) in s.iter_mut().zip(part) {
            *d += i128::from(p as i64);
        }
        count_rows(c, v.len(), groups);
    } else {
        groups.each(v.len(), |i, g| {
            s[g] += v[i].w();
            c[g] += 1;
        });
    }
}

/// Adds floats to per-group sums (one group: ClickHouse's block summation; several: one row
/// after another, as ClickHouse adds them).
fn sum_floats<T: Prim>(s: &mut [f64], v: &[T], groups: &Groups<'_>) {
    match (groups.ids, groups.mask) {
        (None, None) => add_floats(&mut s[0], v),
        (None, Some(m)) => {
            // Sixteen partial sums, as without a mask; masked-out rows add zero.
            let mut parts = [0.0f64; 16];
            let (vc, mc) = (v.chunks_exact(16), m.chunks_exact(16));
            let (vr, mr) = (vc.remainder(), mc.remainder());
            for (c, k) in vc.zip(mc) {
                for j in 0..16 {
                    parts[j] += c[j].f().keep(k[j]);
                }
            }
            for p in parts {
                s[0] += p;
            }
            let mut rest = 0.0;
            for (x, k) in vr.iter().zip(mr) {
                if *k {
                    rest += x.f();
                }
            }
            s[0] += rest;
        }
        // With groups, ClickHouse adds row by row to each group's sum: no banks here, whose
        // reordered additions round differently (`avg(1e30)` of a group is then not 1e30).
        (Some(ids), Some(m)) => {
            for ((g, x), k) in ids.iter().zip(v).zip(m) {
                if let Some(t) = s.get_mut(*g as usize) {
                    *t += x.f().keep(*k);
                }
            }
        }
        _ => groups.each(v.len(), |i, g| s[g] += v[i].f()),
    }
}

/// Adds a block of floats to `sum` the way ClickHouse adds a block to a `sum` state: sixteen
/// running partial sums over the whole chunks of sixteen, added to the state in order, then the
/// remaining values summed from zero on their own and that sum added to the state.
fn add_floats<T: Prim>(sum: &mut f64, v: &[T]) {
    let mut parts = [0.0f64; 16];
    let chunks = v.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (p, x) in parts.iter_mut().zip(c) {
            *p += x.f();
        }
    }
    for p in parts {
        *sum += p;
    }
    *sum += rest.iter().fold(0.0, |a, x| a + x.f());
}

fn grow<T: Clone>(v: &mut Vec<T>, n: usize, fill: T) {
    if v.len() < n {
        v.resize(n, fill);
    }
}

impl Agg {
    /// A fresh state for `spec`.
    pub fn new(spec: AggSpec) -> Agg {
        let arg_ty = spec
            .args
            .first()
            .map_or(DataType::UInt64, |a| a.ty.base().clone());
        let val_ty = spec
            .args
            .get(1)
            .map_or(arg_ty.clone(), |a| a.ty.base().clone());
        let inner_ty;
        let (kind, ty) = match &spec.kind {
            AggKind::State(inner) => {
                let types: Vec<&DataType> = spec.args.iter().map(|a| &a.ty).collect();
                inner_ty = result_type(inner, &types).unwrap_or(DataType::UInt64);
                (inner.as_ref(), &inner_ty)
            }
            k => (k, &spec.ty),
        };
        let state = match kind {
            AggKind::State(_) => State::Merge(Vec::new()),
            AggKind::Merge(_) => State::Merge(Vec::new()),
            AggKind::Count => State::Count(Vec::new()),
            AggKind::Sum => match ty.base().repr() {
                Repr::F => State::SumF(Vec::new()),
                Repr::I => State::SumI(Vec::new()),
                _ => State::SumU(Vec::new()),
            },
            AggKind::Avg => {
                if arg_ty.is_float() {
                    State::AvgF(Vec::new(), Vec::new())
                } else {
                    State::AvgI(Vec::new(), Vec::new())
                }
            }
            AggKind::Min | AggKind::Max => {
                let max = *kind == AggKind::Max;
                match arg_ty.repr() {
                    Repr::U => State::MinMaxU(Vec::new(), max),
                    Repr::I => State::MinMaxI(Vec::new(), max),
                    Repr::F => State::MinMaxF(Vec::new(), max),
                    Repr::S => State::MinMaxS(Vec::new(), max),
                    Repr::V => State::Any(Vec::new(), false),
                }
            }
            AggKind::Any => State::Any(Vec::new(), false),
            AggKind::AnyLast => State::Any(Vec::new(), true),
            AggKind::ArgMin | AggKind::ArgMax => {
                let _ = val_ty;
                State::Arg(Vec::new(), *kind == AggKind::ArgMax)
            }
            AggKind::Uniq => State::Uniq(Vec::new(), FxHashMap::default(), FxHashMap::default()),
            AggKind::Moments(_) => State::Moments(
                Vec::new(),
                spec.args.iter().all(|a| *a.ty.base() == DataType::Float32),
            ),
            AggKind::GroupArray(limit, uniq) => {
                State::Group(Vec::new(), uniq.then(Vec::new), *limit, 0)
            }
            AggKind::Quantile(..) => match arg_ty.repr() {
                Repr::U => State::QuantU(Vec::new()),
                Repr::I => State::QuantI(Vec::new()),
                _ => State::QuantF(Vec::new()),
            },
        };
        let seen = match &spec.kind {
            AggKind::State(_) => spec.args.iter().any(|a| a.ty.is_nullable()),
            AggKind::Merge(_) => false,
            _ => spec.ty.is_nullable() && spec.ty.repr() != Repr::V,
        }
        .then(Vec::new);
        Agg {
            spec,
            state,
            arg_ty,
            seen,
        }
    }

    /// What the fused pass over a batch (see [`super::fused`]) may compute for this
    /// aggregate in its stead: a plain `count`, `sum` or `avg` with no `-If` condition and a
    /// result that is never `NULL`.
    pub fn fusable(&self) -> Option<Fusable> {
        if self.spec.cond.is_some() || self.seen.is_some() {
            return None;
        }
        match (&self.spec.kind, &self.state) {
            (AggKind::Count, State::Count(_)) => Some(Fusable::Count),
            (AggKind::Sum, State::SumU(_) | State::SumF(_)) => Some(Fusable::Sum),
            (AggKind::Avg, State::AvgI(..) | State::AvgF(..)) => Some(Fusable::Avg),
            _ => None,
        }
    }

    /// Adds per-group totals the fused pass computed: integer sums `ints` or float sums
    /// `floats` (as the state keeps them), and the rows counted per group.
    pub fn set_totals(&mut self, ints: Option<&[u64]>, floats: Option<&[f64]>, rows: &[u64]) {
        let n = rows.len();
        let add_u = |d: &mut Vec<u64>, v: &[u64]| {
            grow(d, n, 0);
            d.iter_mut()
                .zip(v)
                .for_each(|(d, x)| *d = d.wrapping_add(*x));
        };
        let add_f = |d: &mut Vec<f64>, v: &[f64]| {
            grow(d, n, 0.0);
            d.iter_mut().zip(v).for_each(|(d, x)| *d += *x);
        };
        match &mut self.state {
            State::Count(c) => add_u(c, rows),
            State::SumU(s) => add_u(s, ints.unwrap_or(&[])),
            State::SumF(s) => add_f(s, floats.unwrap_or(&[])),
            State::AvgI(s, c) => {
                grow(s, n, 0);
                // Sums of unsigned values below 2^32 over fewer than 2^32 rows: exact.
                s.iter_mut()
                    .zip(ints.unwrap_or(&[]))
                    .for_each(|(d, x)| *d += i128::from(*x));
                add_u(c, rows);
            }
            State::AvgF(s, c) => {
                add_f(s, floats.unwrap_or(&[]));
                add_u(c, rows);
            }
            _ => {}
        }
    }

    /// The aggregate's definition.
    pub fn spec(&self) -> &AggSpec {
        &self.spec
    }

    /// Adds `n` rows. `args` are the evaluated arguments; `groups` assigns rows to groups (and
    /// masks out rows failing an `-If` condition); `ngroups` is the number of groups so far.
    pub fn update(
        &mut self,
        args: &[Cow<'_, Col<'_>>],
        groups: &Groups<'_>,
        ngroups: usize,
        n: usize,
    ) {
        self.update_rows(args, groups, ngroups, n);
    }

    /// The error an update met, if any (`groupArray` past [`MAX_GROUP_ARRAY_VALUES`], or
    /// its values past the bytes the store's `maxBytes` leaves free).
    pub fn error(&self) -> Option<Error> {
        match &self.state {
            State::Group(_, _, _, total) if *total > MAX_GROUP_ARRAY_VALUES => {
                Some(Error::query(format!(
                    "groupArray and groupUniqArray keep at most {MAX_GROUP_ARRAY_VALUES} values \
                     per query (use groupArray(n)(x) to keep fewer per group)"
                )))
            }
            State::Group(..) => budget::check().err(),
            _ => None,
        }
    }

    fn update_rows(
        &mut self,
        args: &[Cow<'_, Col<'_>>],
        groups: &Groups<'_>,
        ngroups: usize,
        n: usize,
    ) {
        let arg_types: Vec<DataType> = self.spec.args.iter().map(|a| a.ty.base().clone()).collect();
        // Rows where an argument is NULL are skipped.
        if args
            .iter()
            .any(|a| matches!(a.as_ref(), Col::Const(Value::Null)))
        {
            self.ensure(ngroups);
            return;
        }
        let mut skip: Option<Vec<bool>> = None;
        for a in args {
            if let Some(m) = a.nulls(n) {
                let keep = skip.get_or_insert_with(|| match groups.mask {
                    Some(g) => g.to_vec(),
                    None => vec![true; n],
                });
                keep.iter_mut()
                    .zip(m.iter())
                    .for_each(|(k, null)| *k &= !null);
            }
        }
        let plain: Vec<Cow<'_, Col<'_>>>;
        let masked: Groups<'_>;
        let (args, groups) = match &skip {
            None => (args, groups),
            Some(keep) => {
                plain = args.iter().map(|a| Cow::Borrowed(a.values())).collect();
                masked = Groups {
                    ids: groups.ids,
                    mask: Some(keep),
                };
                (plain.as_slice(), &masked)
            }
        };
        if let Some(seen) = &mut self.seen {
            grow(seen, ngroups, false);
            groups.each(n, |_, g| seen[g] = true);
        }
        let arg_ty = &self.arg_ty;
        match &mut self.state {
            State::Count(c) => {
                grow(c, ngroups, 0);
                count_rows(c, n, groups);
            }
            // Integer sums wrap in 64 bits, so signed and unsigned add alike.
            State::SumU(s) => {
                grow(s, ngroups, 0);
                on_slice!(args[0].as_ref(), n, u64s, v => sum_ints(s, v, groups));
            }
            State::SumI(s) => {
                grow(s, ngroups, 0);
                let mut u: Vec<u64> = s.iter().map(|x| *x as u64).collect();
                on_slice!(args[0].as_ref(), n, i64s, v => sum_ints(&mut u, v, groups));
                for (d, x) in s.iter_mut().zip(u) {
                    *d = x as i64;
                }
            }
            State::SumF(s) => {
                grow(s, ngroups, 0.0);
                on_slice!(args[0].as_ref(), n, f64s, v => sum_floats(s, v, groups));
            }
            State::AvgF(s, c) => {
                grow(s, ngroups, 0.0);
                grow(c, ngroups, 0);
                on_slice!(args[0].as_ref(), n, f64s, v => sum_floats(s, v, groups));
                count_rows(c, n, groups);
            }
            State::AvgI(s, c) => {
                grow(s, ngroups, 0);
                grow(c, ngroups, 0);
                if arg_ty.repr() == Repr::U {
                    on_slice!(args[0].as_ref(), n, u64s, v => sum_wide(s, c, v, groups));
                } else {
                    on_slice!(args[0].as_ref(), n, i64s, v => sum_wide(s, c, v, groups));
                }
            }
            State::MinMaxU(m, max) => {
                grow(m, ngroups, None);
                let max = *max;
                on_slice!(args[0].as_ref(), n, u64s, v => min_max_u(m, v, groups, max));
            }
            State::MinMaxI(m, max) => {
                grow(m, ngroups, None);
                let v = args[0].i64s(n);
                let pick = if *max { i64::max } else { i64::min };
                fold_extremes(m, &v, groups, |_| false, pick);
            }
            State::MinMaxF(m, max) => {
                grow(m, ngroups, None);
                let v = args[0].f64s(n);
                // f64::max and f64::min pass over NaN, so a group of NaN alone gives NaN.
                let pick = if *max { f64::max } else { f64::min };
                fold_extremes(m, &v, groups, |_| false, pick);
            }
            State::MinMaxS(m, max) => {
                grow(m, ngroups, None);
                let s = args[0].strs(n);
                let max = *max;
                let mut shared: FxHashMap<u32, Rc<str>> = FxHashMap::default();
                groups.each(n, |i, g| {
                    let code = s.codes[i];
                    let x = s.dict.str(code);
                    let better = match &m[g] {
                        None => true,
                        Some(o) => {
                            if max {
                                x > o.as_ref()
                            } else {
                                x < o.as_ref()
                            }
                        }
                    };
                    if better {
                        let rc = shared.entry(code).or_insert_with(|| Rc::from(x)).clone();
                        m[g] = Some(rc);
                    }
                });
            }
            State::Any(a, last) => {
                grow(a, ngroups, None);
                let last = *last;
                let ty = &arg_types[0];
                groups.each(n, |i, g| {
                    if last || a[g].is_none() {
                        a[g] = Some(args[0].value_at(i, ty));
                    }
                });
            }
            State::Arg(a, max) => {
                grow(a, ngroups, None);
                let max = *max;
                let val_ty = &arg_types[1];
                let key = ord_col(&args[1], val_ty, n);
                groups.each(n, |i, g| {
                    let k = key(i);
                    let better = match &a[g] {
                        None => true,
                        Some((o, _)) if o.is_nan() => !k.is_nan(),
                        Some((o, _)) => {
                            if max {
                                o.less(&k)
                            } else {
                                k.less(o)
                            }
                        }
                    };
                    if better {
                        a[g] = Some((k, args[0].value_at(i, &arg_types[0])));
                    }
                });
            }
            State::Uniq(sets, strings, tuples) => {
                grow(sets, ngroups, FxSet::default());
                let mut keys = uniq_keys(&args[0], &arg_types[0], n, strings);
                if args.len() > 1 {
                    let more: Vec<Vec<u64>> = args[1..]
                        .iter()
                        .zip(&arg_types[1..])
                        .map(|(c, t)| uniq_keys(c, t, n, strings))
                        .collect();
                    for (i, k) in keys.iter_mut().enumerate() {
                        let mut tuple = Vec::with_capacity(more.len() + 1);
                        tuple.push(*k);
                        tuple.extend(more.iter().map(|m| m[i]));
                        let next = tuples.len() as u64;
                        *k = *tuples.entry(tuple).or_insert(next);
                    }
                }
                groups.each(n, |i, g| {
                    sets[g].insert(keys[i]);
                });
            }
            State::Group(v, sets, limit, total) => {
                grow(v, ngroups, Vec::new());
                if let Some(sets) = sets {
                    grow(sets, ngroups, FxSet::default());
                }
                let ty = &arg_types[0];
                let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
                // The values kept (and groupUniqArray's text of each) are charged by their bytes
                // to the query's budget; past it, no more are kept and `error` reports it.
                let mut over = false;
                groups.each(n, |i, g| {
                    if over || v[g].len() >= limit || *total > MAX_GROUP_ARRAY_VALUES {
                        return;
                    }
                    let x = args[0].value_at(i, ty);
                    let mut bytes = budget::value_bytes(&x);
                    if let Some(sets) = sets {
                        let mut key = String::new();
                        x.write_json_as(&mut key, true);
                        bytes = bytes.saturating_add(key.len() as u64 + 24);
                        if !sets[g].insert(key) {
                            return;
                        }
                    }
                    v[g].push(x);
                    *total += 1;
                    over = budget::keep(bytes).is_err();
                });
            }
            State::QuantU(q) => {
                grow(q, ngroups, Vec::new());
                on_slice!(args[0].as_ref(), n, u64s, v => groups.each(n, |i, g| q[g].push(v[i].u())));
            }
            State::QuantI(q) => {
                grow(q, ngroups, Vec::new());
                let v = args[0].i64s(n);
                groups.each(n, |i, g| q[g].push(v[i]));
            }
            State::Merge(m) => {
                grow(m, ngroups, None);
                let ty = &arg_types[0];
                groups.each(n, |i, g| {
                    if let Value::State(x) = args[0].value_at(i, ty) {
                        match &mut m[g] {
                            Some(a) => a.merge(&x),
                            slot => *slot = Some((*x).clone()),
                        }
                    }
                });
            }
            State::QuantF(q) => {
                grow(q, ngroups, Vec::new());
                on_slice!(args[0].as_ref(), n, f64s, v => groups.each(n, |i, g| {
                    let x = v[i].f();
                    if !x.is_nan() {
                        q[g].push(x);
                    }
                }));
            }
            State::Moments(m, f32) => {
                grow(m, ngroups, [0.0; 6]);
                let xs = args[0].f64s(n);
                let ys = args.get(1).map(|a| a.f64s(n));
                let f32 = *f32;
                groups.each(n, |i, g| {
                    let x = xs[i];
                    let y = ys.as_ref().map_or(0.0, |ys| ys[i]);
                    add_moments(&mut m[g], [1.0, x, y, x * y, x * x, y * y], f32);
                });
            }
        }
    }

    /// Makes room for `ngroups` groups.
    pub fn ensure(&mut self, ngroups: usize) {
        match &mut self.state {
            State::Count(v) | State::SumU(v) => grow(v, ngroups, 0),
            State::SumI(v) => grow(v, ngroups, 0),
            State::SumF(v) => grow(v, ngroups, 0.0),
            State::AvgI(s, c) => {
                grow(s, ngroups, 0);
                grow(c, ngroups, 0);
            }
            State::AvgF(s, c) => {
                grow(s, ngroups, 0.0);
                grow(c, ngroups, 0);
            }
            State::MinMaxU(v, _) => grow(v, ngroups, None),
            State::MinMaxI(v, _) => grow(v, ngroups, None),
            State::MinMaxF(v, _) => grow(v, ngroups, None),
            State::MinMaxS(v, _) => grow(v, ngroups, None),
            State::Any(v, _) => grow(v, ngroups, None),
            State::Arg(v, _) => grow(v, ngroups, None),
            State::Uniq(v, _, _) => grow(v, ngroups, FxSet::default()),
            State::QuantU(v) => grow(v, ngroups, Vec::new()),
            State::QuantI(v) => grow(v, ngroups, Vec::new()),
            State::QuantF(v) => grow(v, ngroups, Vec::new()),
            State::Moments(v, _) => grow(v, ngroups, [0.0; 6]),
            State::Merge(v) => grow(v, ngroups, None),
            State::Group(v, _, _, _) => grow(v, ngroups, Vec::new()),
        }
    }

    /// The results for groups `0..ngroups`, as a materialized column of the result type.
    pub fn finish<'a>(mut self, ngroups: usize) -> Result<Col<'a>> {
        self.ensure(ngroups);
        match self.spec.kind.clone() {
            AggKind::State(_) => return self.export(ngroups),
            AggKind::Merge(inner) => return self.finish_merge(*inner, ngroups),
            _ => {}
        }
        let seen = self.seen.take();
        let ty = self.spec.ty.clone();
        let out = self.finish_values(ngroups);
        Ok(match seen {
            Some(mut seen) => {
                grow(&mut seen, ngroups, false);
                let nulls: Vec<bool> = seen.iter().map(|s| !s).collect();
                if nulls.iter().any(|x| *x) {
                    Col::N(
                        Box::new(out.materialize(ty.base(), ngroups)),
                        Cow::Owned(nulls),
                    )
                } else {
                    out
                }
            }
            None => out,
        })
    }

    /// The per-group states of a `-State` aggregate, as a column of [`Value::State`]s.
    fn export<'a>(mut self, ngroups: usize) -> Result<Col<'a>> {
        let seen = self.seen.take();
        let vals = self.into_state_vals(ngroups)?;
        let states = vals
            .into_iter()
            .enumerate()
            .map(|(g, val)| {
                Value::State(std::sync::Arc::new(AggState {
                    val,
                    seen: seen
                        .as_ref()
                        .map_or(true, |s| s.get(g).copied().unwrap_or(false)),
                }))
            })
            .collect();
        Ok(Col::V(Cow::Owned(states)))
    }

    /// Splits the state of every group off. The binder refuses states of `groupArray` and of
    /// states (`-MergeState`), which have no [`StateVal`]: asked for one, this fails rather
    /// than make one up.
    fn into_state_vals(self, ngroups: usize) -> Result<Vec<StateVal>> {
        fn each<T, F: Fn(T) -> StateVal>(v: Vec<T>, f: F) -> Vec<StateVal> {
            v.into_iter().map(f).collect()
        }
        let mut out = match self.state {
            State::Count(c) => each(c, StateVal::Count),
            State::SumU(c) => each(c, StateVal::SumU),
            State::SumI(c) => each(c, StateVal::SumI),
            State::SumF(c) => each(c, StateVal::SumF),
            State::AvgI(s, c) => s
                .into_iter()
                .zip(c)
                .map(|(s, c)| StateVal::AvgI(s, c))
                .collect(),
            State::AvgF(s, c) => s
                .into_iter()
                .zip(c)
                .map(|(s, c)| StateVal::AvgF(s, c))
                .collect(),
            State::MinMaxU(m, max) => each(m, |x| StateVal::MinMaxU(x, max)),
            State::MinMaxI(m, max) => each(m, |x| StateVal::MinMaxI(x, max)),
            State::MinMaxF(m, max) => each(m, |x| StateVal::MinMaxF(x, max)),
            State::MinMaxS(m, max) => each(m, |x| StateVal::MinMaxS(x.map(|s| s.to_string()), max)),
            State::Any(a, last) => each(a, |x| StateVal::Any(x, last)),
            State::Arg(a, max) => each(a, |x| StateVal::Arg(x.map(|(k, v)| (k.to_key(), v)), max)),
            State::Uniq(sets, strings, tuples) => {
                // Keys that are ids of this aggregate's own strings and tuples become hashes,
                // the same in every state.
                let mut by_id: Vec<u64> = vec![0; strings.len()];
                for (s, id) in &strings {
                    if let Some(x) = by_id.get_mut(*id as usize) {
                        *x = hash_of(&**s);
                    }
                }
                let strs = self.spec.args.iter().map(|a| a.ty.repr() == Repr::S);
                let strs: Vec<bool> = strs.collect();
                let portable = |k: u64, is_str: bool| {
                    if is_str {
                        by_id.get(k as usize).copied().unwrap_or(k)
                    } else {
                        k
                    }
                };
                let tuple_keys: Option<Vec<u64>> = (strs.len() > 1).then(|| {
                    let mut t = vec![0; tuples.len()];
                    for (parts, id) in &tuples {
                        let parts: Vec<u64> = parts
                            .iter()
                            .zip(&strs)
                            .map(|(k, s)| portable(*k, *s))
                            .collect();
                        if let Some(x) = t.get_mut(*id as usize) {
                            *x = hash_of(&parts);
                        }
                    }
                    t
                });
                let first_str = strs.first().copied().unwrap_or(false);
                each(sets, |set| {
                    StateVal::Uniq(
                        set.into_iter()
                            .map(|k| match &tuple_keys {
                                Some(t) => t.get(k as usize).copied().unwrap_or(k),
                                None => portable(k, first_str),
                            })
                            .collect(),
                    )
                })
            }
            State::QuantU(q) => each(q, StateVal::QuantU),
            State::QuantI(q) => each(q, StateVal::QuantI),
            State::QuantF(q) => each(q, StateVal::QuantF),
            State::Moments(m, f32) => each(m, |m| StateVal::Moments(m, f32)),
            State::Group(_, uniq, ..) => {
                let f = if uniq.is_some() {
                    "groupUniqArray"
                } else {
                    "groupArray"
                };
                return Err(Error::unsupported(format!("{f}State (the state of {f})")));
            }
            State::Merge(_) => {
                return Err(Error::unsupported(
                    "the state of a -Merge or -State aggregate",
                ))
            }
        };
        out.truncate(ngroups);
        Ok(out)
    }

    /// Finishes merged states as the aggregate `inner` over the states' argument types.
    fn finish_merge<'a>(self, inner: AggKind, ngroups: usize) -> Result<Col<'a>> {
        let State::Merge(merged) = self.state else {
            return Err(Error::query(
                "internal: a -Merge aggregate without merged states",
            ));
        };
        let arg_types = match self.spec.args.first().map(|a| a.ty.base()) {
            Some(DataType::AggregateFunction(st)) => st.1.clone(),
            _ => Vec::new(),
        };
        let args = arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| BExpr {
                kind: super::eval::BKind::Slot(i),
                ty: t.clone(),
            })
            .collect();
        let mut agg = Agg::new(AggSpec {
            kind: inner,
            args,
            cond: None,
            ty: self.spec.ty.clone(),
        });
        agg.ensure(ngroups);
        if let Some(seen) = &mut agg.seen {
            grow(seen, ngroups, false);
        }
        for (g, st) in merged.into_iter().enumerate().take(ngroups) {
            let Some(st) = st else { continue };
            if let Some(seen) = &mut agg.seen {
                seen[g] = st.seen;
            }
            agg.import(g, st.val);
        }
        agg.finish(ngroups)
    }

    /// Sets group `g`'s state to `v` (of the same shape; another shape is passed over).
    fn import(&mut self, g: usize, v: StateVal) {
        fn set<T>(v: &mut [T], g: usize, x: T) {
            if let Some(d) = v.get_mut(g) {
                *d = x;
            }
        }
        match (&mut self.state, v) {
            (State::Count(c), StateVal::Count(x)) => set(c, g, x),
            (State::SumU(c), StateVal::SumU(x)) => set(c, g, x),
            (State::SumI(c), StateVal::SumI(x)) => set(c, g, x),
            (State::SumF(c), StateVal::SumF(x)) => set(c, g, x),
            (State::AvgI(s, c), StateVal::AvgI(x, y)) => {
                set(s, g, x);
                set(c, g, y);
            }
            (State::AvgF(s, c), StateVal::AvgF(x, y)) => {
                set(s, g, x);
                set(c, g, y);
            }
            (State::MinMaxU(m, _), StateVal::MinMaxU(x, _)) => set(m, g, x),
            (State::MinMaxI(m, _), StateVal::MinMaxI(x, _)) => set(m, g, x),
            (State::MinMaxF(m, _), StateVal::MinMaxF(x, _)) => set(m, g, x),
            (State::MinMaxS(m, _), StateVal::MinMaxS(x, _)) => set(m, g, x.map(Rc::from)),
            (State::Any(m, _), StateVal::Any(x, _)) => set(m, g, x),
            (State::Arg(m, _), StateVal::Arg(x, _)) => {
                set(m, g, x.map(|(k, v)| (Ord3::from_key(k), v)))
            }
            (State::Uniq(m, _, _), StateVal::Uniq(x)) => set(m, g, x.into_iter().collect()),
            (State::QuantU(m), StateVal::QuantU(x)) => set(m, g, x),
            (State::QuantI(m), StateVal::QuantI(x)) => set(m, g, x),
            (State::QuantF(m), StateVal::QuantF(x)) => set(m, g, x),
            (State::Moments(m, _), StateVal::Moments(x, _)) => set(m, g, x),
            _ => {}
        }
    }

    fn finish_values<'a>(self, _ngroups: usize) -> Col<'a> {
        let ty = self.spec.ty.base().clone();
        let default = |t: &DataType| -> Value {
            match t.repr() {
                Repr::S => Value::Str(String::new()),
                Repr::F => super::column::make_value(t, 0, 0, 0.0),
                Repr::V => super::column::default_value(t),
                _ => super::column::make_value(t, 0, 0, 0.0),
            }
        };
        match self.state {
            State::Count(c) | State::SumU(c) => Col::U(Cow::Owned(c)),
            State::SumI(s) => Col::I(Cow::Owned(s)),
            State::SumF(s) => Col::F(Cow::Owned(s)),
            State::AvgI(s, c) => {
                // ClickHouse sums in 64 bits of the argument's sign, wrapping, then divides.
                let unsigned = self
                    .spec
                    .args
                    .first()
                    .is_some_and(|a| a.ty.repr() == Repr::U);
                let wrapped = |s: i128| {
                    if unsigned {
                        s as u64 as f64
                    } else {
                        s as i64 as f64
                    }
                };
                Col::F(Cow::Owned(
                    s.iter()
                        .zip(&c)
                        .map(|(s, c)| wrapped(*s) / *c as f64)
                        .collect(),
                ))
            }
            State::AvgF(s, c) => Col::F(Cow::Owned(
                s.iter().zip(&c).map(|(s, c)| s / *c as f64).collect(),
            )),
            State::MinMaxU(m, _) => {
                Col::U(Cow::Owned(m.into_iter().map(|x| x.unwrap_or(0)).collect()))
            }
            State::MinMaxI(m, _) => {
                Col::I(Cow::Owned(m.into_iter().map(|x| x.unwrap_or(0)).collect()))
            }
            State::MinMaxF(m, _) => Col::F(Cow::Owned(
                m.into_iter()
                    .map(|x| x.unwrap_or(if ty.is_nullable() { f64::NAN } else { 0.0 }))
                    .collect(),
            )),
            State::MinMaxS(m, _) => {
                let mut d = Dictionary::new();
                let codes = m
                    .iter()
                    .map(|x| d.intern(x.as_deref().unwrap_or("")))
                    .collect();
                Col::S(Strs {
                    codes: Cow::Owned(codes),
                    dict: Dict::Own(Rc::new(d)),
                })
            }
            State::Any(a, _) => super::column::from_values(
                a.into_iter()
                    .map(|v| v.unwrap_or_else(|| default(&ty)))
                    .collect(),
                &ty,
            ),
            State::Arg(a, _) => super::column::from_values(
                a.into_iter()
                    .map(|v| v.map_or_else(|| default(&ty), |(_, v)| v))
                    .collect(),
                &ty,
            ),
            State::Uniq(sets, _, _) => {
                Col::U(Cow::Owned(sets.iter().map(|s| s.len() as u64).collect()))
            }
            State::Group(v, _, _, _) => {
                let e = match &ty {
                    DataType::Array(e) => (**e).clone(),
                    t => t.clone(),
                };
                Col::V(Cow::Owned(
                    v.into_iter()
                        .map(|items| {
                            Value::Array(
                                items
                                    .into_iter()
                                    .map(|x| super::eval::conform(x, &e))
                                    .collect(),
                            )
                        })
                        .collect(),
                ))
            }
            State::QuantU(q) => quantiles(
                &self.spec.kind,
                q,
                &ty,
                |x| x as f64,
                |t, x| super::column::make_value(t, x, x as i64, x as f64),
            ),
            State::QuantI(q) => quantiles(
                &self.spec.kind,
                q,
                &ty,
                |x| x as f64,
                |t, x| super::column::make_value(t, x as u64, x, x as f64),
            ),
            State::Merge(m) => Col::V(Cow::Owned(vec![Value::Null; m.len()])),
            State::Moments(m, f32) => {
                let AggKind::Moments(k) = self.spec.kind else {
                    return Col::F(Cow::Owned(vec![f64::NAN; m.len()]));
                };
                Col::F(Cow::Owned(m.iter().map(|m| k.finish(m, f32)).collect()))
            }
            State::QuantF(q) => quantiles(
                &self.spec.kind,
                q,
                &ty,
                |x| x,
                |t, x| super::column::make_value(t, x as u64, x as i64, x),
            ),
        }
    }
}

/// Adds one row's (or one state's) moments to `s`; with `f32`, each product and sum is
/// rounded to `Float32` as ClickHouse's `Float32` moments round.
pub(super) fn add_moments(s: &mut [f64; 6], d: [f64; 6], f32: bool) {
    for (a, b) in s.iter_mut().zip(d) {
        if f32 {
            // A product of two Float32 values is exact in Float64, so rounding it once gives
            // the Float32 product.
            *a = f64::from(*a as f32 + b as f32);
        } else {
            *a += b;
        }
    }
}

/// A 64-bit hash of `x`, the same in every run.
fn hash_of<T: std::hash::Hash + ?Sized>(x: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    x.hash(&mut h);
    h.finish()
}

/// Per-row orderable keys of a column.
/// One key per row for `uniq`: the same key for the same value in every block (strings by an
/// id kept in `strings`, floats by their bits).
fn uniq_keys(
    c: &Col<'_>,
    ty: &DataType,
    n: usize,
    strings: &mut FxHashMap<Box<str>, u64>,
) -> Vec<u64> {
    match ty.repr() {
        Repr::S => {
            let s = c.strs(n);
            let ids: Vec<u64> = s
                .dict
                .get()
                .strings()
                .iter()
                .map(|x| {
                    let next = strings.len() as u64;
                    *strings.entry(x.clone()).or_insert(next)
                })
                .collect();
            s.codes
                .iter()
                .map(|code| ids.get(*code as usize).copied().unwrap_or(0))
                .collect()
        }
        // By bits, as ClickHouse hashes floats: -0 apart from 0, NaNs of either sign apart.
        Repr::F => c.f64s(n).iter().map(|x| x.to_bits()).collect(),
        Repr::I => c.i64s(n).iter().map(|x| *x as u64).collect(),
        _ => c.u64s(n).into_owned(),
    }
}

fn ord_col<'c>(c: &'c Col<'_>, ty: &DataType, n: usize) -> Box<dyn Fn(usize) -> Ord3 + 'c> {
    match ty.repr() {
        Repr::U => {
            let v = c.u64s(n).into_owned();
            Box::new(move |i| Ord3::U(v[i]))
        }
        Repr::I => {
            let v = c.i64s(n).into_owned();
            Box::new(move |i| Ord3::I(v[i]))
        }
        Repr::F => {
            let v = c.f64s(n).into_owned();
            Box::new(move |i| Ord3::F(v[i]))
        }
        _ => {
            let s = c.strs(n).into_owned();
            Box::new(move |i| Ord3::S(Rc::from(s.dict.str(s.codes[i]))))
        }
    }
}

/// Sorts enough of `v` to read the quantile at each level, ClickHouse's way.
fn quantiles<'a, T: Copy + PartialOrd + std::fmt::Debug>(
    kind: &AggKind,
    groups: Vec<Vec<T>>,
    ty: &DataType,
    to_f: impl Fn(T) -> f64,
    to_v: impl Fn(&DataType, T) -> Value,
) -> Col<'a> {
    let AggKind::Quantile(q, levels, plural) = kind else {
        return Col::V(Cow::Owned(Vec::new()));
    };
    let elem_ty = match ty {
        DataType::Array(e) => (**e).clone(),
        t => t.clone(),
    };
    let mut out: Vec<Value> = Vec::with_capacity(groups.len());
    for mut v in groups {
        let cmp = |a: &T, b: &T| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal);
        // Levels in ascending order, each answered from a partial sort of the rest.
        let mut order: Vec<usize> = (0..levels.len()).collect();
        order.sort_by(|a, b| {
            levels[*a]
                .partial_cmp(&levels[*b])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut results = vec![Value::Null; levels.len()];
        let size = v.len();
        // Levels ascend, so each search can start where the previous one ended: everything
        // before `lo` is at most the value found there.
        let mut lo = 0usize;
        let mut nth = |v: &mut [T], k: usize, want_next: bool| -> (T, Option<T>) {
            let k = k.max(lo);
            let (_, x, rest) = v[lo..].select_nth_unstable_by(k - lo, cmp);
            let next = if want_next {
                rest.iter().copied().min_by(cmp)
            } else {
                None
            };
            let x = *x;
            lo = k;
            (x, next)
        };
        for &li in &order {
            let level = levels[li];
            let r = if size == 0 {
                match q {
                    _ if elem_ty.is_nullable() => Value::Null,
                    // quantilesExact of floats gives 0 here, quantileExact NaN.
                    QKind::Exact if !elem_ty.is_float() || *plural => {
                        super::column::make_value(&elem_ty, 0, 0, 0.0)
                    }
                    _ => super::column::make_value(&elem_ty, 0, 0, f64::NAN),
                }
            } else {
                match q {
                    QKind::Exact => {
                        let n = if level < 1.0 {
                            ((level * size as f64) as usize).min(size - 1)
                        } else {
                            size - 1
                        };
                        to_v(&elem_ty, nth(&mut v, n, false).0)
                    }
                    QKind::Interpolated => {
                        let index = (level * (size - 1) as f64).clamp(0.0, (size - 1) as f64);
                        let left = index as usize;
                        let right = left + 1;
                        let (l, next) = nth(&mut v, left, right < size);
                        let l = to_f(l);
                        let value = if right == size {
                            l
                        } else {
                            let r = next.map_or(l, &to_f);
                            l * (right as f64 - index) + r * (index - left as f64)
                        };
                        super::column::make_value(&elem_ty, value as u64, value as i64, value)
                    }
                    QKind::Inclusive => {
                        let h = level * (size - 1) as f64 + 1.0;
                        let n = h as usize;
                        let value = if n >= size {
                            to_f(nth(&mut v, size - 1, false).0)
                        } else if n < 1 {
                            to_f(nth(&mut v, 0, false).0)
                        } else {
                            let (a, next) = nth(&mut v, n - 1, true);
                            let b = next.unwrap_or(a);
                            to_f(a) + (h - n as f64) * (to_f(b) - to_f(a))
                        };
                        Value::Float64(value)
                    }
                }
            };
            results[li] = r;
        }
        // Singular quantiles of one argument share a state whose result is their array.
        if matches!(ty, DataType::Array(_)) {
            out.push(Value::Array(results));
        } else {
            out.push(results.pop().unwrap_or(Value::Null));
        }
    }
    super::column::from_values(out, ty)
}

#[cfg(test)]
mod tests {
    use super::super::eval::BKind;
    use super::*;

    fn spec(kind: AggKind, ty: DataType, arg_ty: DataType) -> AggSpec {
        AggSpec {
            kind,
            args: vec![BExpr {
                kind: BKind::Slot(0),
                ty: arg_ty,
            }],
            cond: None,
            ty,
        }
    }

    fn run(kind: AggKind, arg_ty: DataType, values: Vec<u64>) -> Value {
        let ty = result_type(&kind, &[&arg_ty]).unwrap();
        let mut a = Agg::new(spec(kind, ty.clone(), arg_ty));
        let n = values.len();
        let col = Col::U(Cow::Owned(values));
        a.update(&[Cow::Borrowed(&col)], &Groups::SINGLE, 1, n);
        a.finish(1).expect("finish").value_at(0, &ty)
    }

    #[test]
    fn quantiles_follow_clickhouse() {
        let v: Vec<u64> = (0..10).rev().collect();
        let q = |k, l: f64| {
            run(
                AggKind::Quantile(k, vec![l], false),
                DataType::UInt64,
                v.clone(),
            )
        };
        assert_eq!(q(QKind::Exact, 0.5), Value::UInt(5));
        assert_eq!(q(QKind::Exact, 0.25), Value::UInt(2));
        assert_eq!(q(QKind::Exact, 1.0), Value::UInt(9));
        assert_eq!(q(QKind::Inclusive, 0.25), Value::Float64(2.25));
        assert_eq!(q(QKind::Interpolated, 0.25), Value::Float64(2.25));
        assert_eq!(q(QKind::Interpolated, 0.5), Value::Float64(4.5));
        assert_eq!(
            run(
                AggKind::Quantile(QKind::Exact, vec![0.9, 0.1], true),
                DataType::UInt64,
                v.clone()
            ),
            Value::Array(vec![Value::UInt(9), Value::UInt(1)])
        );
        assert_eq!(
            run(AggKind::Sum, DataType::UInt32, v.clone()),
            Value::UInt(45)
        );
        assert_eq!(
            run(AggKind::Avg, DataType::UInt32, v.clone()),
            Value::Float64(4.5)
        );
        assert_eq!(
            run(AggKind::Uniq, DataType::UInt32, vec![1, 1, 2]),
            Value::UInt(2)
        );
        assert_eq!(run(AggKind::Max, DataType::UInt32, v), Value::UInt(9));
    }

    #[test]
    fn masked_out_values_add_nothing() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.5] {
            assert_eq!(x.keep(false).to_bits(), 0.0f64.to_bits(), "{x}");
            assert_eq!(x.keep(true).to_bits(), x.to_bits(), "{x}");
        }
        assert_eq!((u64::MAX).keep(false), 0);
        assert_eq!(7u64.keep(true), 7);
        // A NaN in a masked-out row leaves the sum alone, with or without groups.
        let mut a = Agg::new(spec(AggKind::Sum, DataType::Float64, DataType::Float64));
        let col = Col::F(Cow::Owned(vec![1.0, f64::NAN, 2.0, f64::INFINITY]));
        let mask = [true, false, true, false];
        let groups = Groups {
            ids: Some(&[0, 0, 1, 1]),
            mask: Some(&mask),
        };
        a.update(&[Cow::Borrowed(&col)], &groups, 2, 4);
        assert_eq!(&*a.finish(2).expect("finish").f64s(2), &[1.0, 2.0]);
    }

    #[test]
    fn grouped_updates() {
        let mut a = Agg::new(spec(AggKind::Sum, DataType::UInt64, DataType::UInt32));
        let col = Col::U(Cow::Owned(vec![1, 2, 3, 4]));
        a.update(&[Cow::Borrowed(&col)], &Groups::ids(&[0, 1, 0, 2]), 3, 4);
        assert_eq!(&*a.finish(3).expect("finish").u64s(3), &[4, 2, 4]);
        assert_eq!(
            result_type(
                &AggKind::Quantile(QKind::Interpolated, vec![0.5], true),
                &[&DataType::Float32]
            )
            .unwrap(),
            DataType::Array(Box::new(DataType::Float64))
        );
    }

    #[test]
    fn a_state_of_group_array_is_refused_not_made_up() {
        // The binder refuses `groupArrayState`; an aggregate built past it fails when its
        // states are asked for instead of giving a count of 0 per group.
        for uniq in [false, true] {
            let kind = AggKind::State(Box::new(AggKind::GroupArray(None, uniq)));
            let ty = DataType::AggregateFunction(Box::new((
                "groupArray".to_string(),
                vec![DataType::UInt32],
            )));
            let mut a = Agg::new(spec(kind, ty, DataType::UInt32));
            let col = Col::U(Cow::Owned(vec![1, 2, 3]));
            a.update(&[Cow::Borrowed(&col)], &Groups::SINGLE, 1, 3);
            let err = a.finish(1).expect_err("no state of groupArray").to_string();
            assert!(
                err.contains("groupArrayState") || err.contains("groupUniqArrayState"),
                "{err}"
            );
        }
    }
}
