//! One pass over a batch's rows for every `count`, `sum` and `avg` of a `GROUP BY` whose
//! argument is a narrow column (`UInt8`, `UInt16`, `UInt32` or `Float32`).
//!
//! Each group has a record of running totals (integer sums, float sums, a row count), and
//! each row adds all of its values to its group's record at once: one group lookup per row
//! instead of one per aggregate, and no dispatch per row (the number of integer and float
//! columns is a compile-time constant of the loop that runs). Integer sums are exact (64-bit
//! wrapping, as ClickHouse's); `Float32` values are widened to `Float64` as ClickHouse widens
//! them, and a group's sum is the sum of its even rows plus that of its odd rows, each added in
//! row order: a reordering of ClickHouse's row-order additions.

use super::agg::{Agg, Fusable};
use super::column::Col;
use super::types::DataType;
use crate::store::ColumnData;

/// The most integer columns one pass adds.
const MAX_INTS: usize = 4;
/// The most float columns one pass adds.
const MAX_FLOATS: usize = 2;

/// What a column added by the pass feeds, and where its totals are.
#[derive(Debug, Clone, Copy)]
enum Lane {
    /// The row count.
    Rows,
    /// An integer column's sum, at this index of a group's record.
    Int(usize),
    /// A float column's sum (its bits), at this index after the integer sums.
    Float(usize),
}

/// The aggregates of a query computed by the fused pass, and their totals per group.
#[derive(Debug, Default)]
pub struct Fused {
    /// Per fused aggregate: its index among the query's aggregates, and its lane.
    members: Vec<(usize, Lane)>,
    /// The slots of the integer columns, in lane order.
    int_slots: Vec<usize>,
    /// The slots of the float columns, in lane order.
    float_slots: Vec<usize>,
    /// Two records per group, each the integer sums, the float sums (as bits) and the row
    /// count, one word each: no wider than the columns added need.
    words: Vec<u64>,
    /// Widened copies of integer columns not stored as `UInt32`.
    wide: Vec<Vec<u32>>,
    /// Narrowed copies of float columns not stored as `Float32`.
    narrow: Vec<Vec<f32>>,
}

/// The lane kind an argument of type `ty` adds in, if the pass can add it.
fn lane_type(ty: &DataType) -> Option<bool> {
    match ty {
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => Some(false),
        DataType::Float32 => Some(true),
        _ => None,
    }
}

impl Fused {
    /// Picks the aggregates of `aggs` the pass computes; `None` when none is. (With one, the
    /// pass still counts the groups' rows, which tell the groups that have rows.)
    pub fn plan(aggs: &[Agg]) -> Option<Fused> {
        let mut f = Fused::default();
        for (i, a) in aggs.iter().enumerate() {
            let Some(kind) = a.fusable() else { continue };
            let spec = a.spec();
            let lane = match (kind, spec.args.as_slice()) {
                (Fusable::Count, []) => Lane::Rows,
                (Fusable::Count, [arg]) if !arg.ty.is_nullable() => Lane::Rows,
                (Fusable::Sum | Fusable::Avg, [arg]) if !arg.ty.is_nullable() => {
                    let super::eval::BKind::Slot(slot) = arg.kind else {
                        continue;
                    };
                    let float = match lane_type(&arg.ty) {
                        Some(f) => f,
                        None => continue,
                    };
                    let slots = if float {
                        &mut f.float_slots
                    } else {
                        &mut f.int_slots
                    };
                    let at = match slots.iter().position(|s| *s == slot) {
                        Some(p) => p,
                        None if slots.len() < if float { MAX_FLOATS } else { MAX_INTS } => {
                            slots.push(slot);
                            slots.len() - 1
                        }
                        None => continue,
                    };
                    if float {
                        Lane::Float(at)
                    } else {
                        Lane::Int(at)
                    }
                }
                _ => continue,
            };
            f.members.push((i, lane));
        }
        (!f.members.is_empty()).then_some(f)
    }

    /// Whether the pass computes the aggregate at `i`.
    pub fn covers(&self, i: usize) -> bool {
        self.members.iter().any(|(m, _)| *m == i)
    }

    /// Adds the batch's rows (`n` of them, with `cols` the batch's columns) to their groups'
    /// totals; `ids` gives each row's group (below `ngroups`), `mask` the rows that count.
    pub fn update(
        &mut self,
        cols: &[Col<'_>],
        ids: &[u32],
        mask: Option<&[bool]>,
        ngroups: usize,
        n: usize,
    ) {
        let need = 2 * ngroups * self.stride();
        if self.words.len() < need {
            self.words.resize(need, 0);
        }
        let n = n.min(ids.len()).min(mask.map_or(n, <[bool]>::len));
        let ids = &ids[..n];
        let mask = mask.map(|m| &m[..n]);
        self.wide.resize_with(self.int_slots.len(), Vec::new);
        self.narrow.resize_with(self.float_slots.len(), Vec::new);
        // Which columns are borrowed as they are stored, which widened into `wide`/`narrow`.
        for (slot, buf) in self.int_slots.iter().zip(self.wide.iter_mut()) {
            let c = cols.get(*slot);
            let direct = matches!(c, Some(Col::Native(d)) if matches!(&**d, ColumnData::U32(v) if v.len() >= n));
            buf.clear();
            if !direct {
                match c {
                    Some(Col::Native(d)) => match &**d {
                        ColumnData::U8(v) => buf.extend(v.iter().take(n).map(|x| u32::from(*x))),
                        ColumnData::U16(v) => buf.extend(v.iter().take(n).map(|x| u32::from(*x))),
                        _ => buf.extend(d_u64s(c, n).iter().map(|x| *x as u32)),
                    },
                    Some(c) => buf.extend(c.u64s(n).iter().map(|x| *x as u32)),
                    None => {}
                }
                buf.resize(n, 0);
            }
        }
        for (slot, buf) in self.float_slots.iter().zip(self.narrow.iter_mut()) {
            let c = cols.get(*slot);
            let direct = matches!(c, Some(Col::Native(d)) if matches!(&**d, ColumnData::F32(v) if v.len() >= n));
            buf.clear();
            if !direct {
                if let Some(c) = c {
                    // Float32 values, so narrowing gives them back exactly.
                    buf.extend(c.f64s(n).iter().map(|x| *x as f32));
                }
                buf.resize(n, 0.0);
            }
        }
        let ints: Vec<&[u32]> = self
            .int_slots
            .iter()
            .zip(&self.wide)
            .map(|(slot, buf)| match cols.get(*slot) {
                Some(Col::Native(d)) => match &**d {
                    ColumnData::U32(v) if v.len() >= n => &v[..n],
                    _ => &buf[..],
                },
                _ => &buf[..],
            })
            .collect();
        let floats: Vec<&[f32]> = self
            .float_slots
            .iter()
            .zip(&self.narrow)
            .map(|(slot, buf)| match cols.get(*slot) {
                Some(Col::Native(d)) => match &**d {
                    ColumnData::F32(v) if v.len() >= n => &v[..n],
                    _ => &buf[..],
                },
                _ => &buf[..],
            })
            .collect();
        let totals = &mut self.words[..];
        macro_rules! run {
            ($($u:literal, $f:literal);*) => {
                match (ints.len(), floats.len()) {
                    $(($u, $f) => add_rows::<$u, $f>(totals, ids, mask, &ints, &floats),)*
                    _ => {}
                }
            };
        }
        run!(0, 0; 0, 1; 0, 2; 1, 0; 1, 1; 1, 2; 2, 0; 2, 1; 2, 2; 3, 0; 3, 1; 3, 2; 4, 0; 4, 1; 4, 2);
    }

    /// Words in a group's record.
    fn stride(&self) -> usize {
        self.int_slots.len() + self.float_slots.len() + 1
    }

    /// Per group, word `w` of its two records, with `add`.
    fn column(&self, ngroups: usize, w: usize, add: impl Fn(u64, u64) -> u64) -> Vec<u64> {
        let s = self.stride();
        let at = |r: usize| self.words.get(r * s + w).copied().unwrap_or(0);
        (0..ngroups)
            .map(|g| add(at(2 * g), at(2 * g + 1)))
            .collect()
    }

    /// Hands each fused aggregate its totals over `ngroups` groups.
    pub fn finish(&mut self, aggs: &mut [Agg], ngroups: usize) {
        let nu = self.int_slots.len();
        let nf = self.float_slots.len();
        let rows = self.column(ngroups, nu + nf, u64::wrapping_add);
        for (i, lane) in &self.members {
            let Some(a) = aggs.get_mut(*i) else { continue };
            match lane {
                Lane::Rows => a.set_totals(None, None, &rows),
                Lane::Int(j) => {
                    let s = self.column(ngroups, *j, u64::wrapping_add);
                    a.set_totals(Some(&s), None, &rows)
                }
                Lane::Float(j) => {
                    let s: Vec<f64> = self
                        .column(ngroups, nu + *j, |a, b| {
                            (f64::from_bits(a) + f64::from_bits(b)).to_bits()
                        })
                        .into_iter()
                        .map(f64::from_bits)
                        .collect();
                    a.set_totals(None, Some(&s), &rows)
                }
            }
        }
    }

    /// Per group, whether a row was counted in it.
    pub fn seen(&self, ngroups: usize) -> Vec<bool> {
        let w = self.stride() - 1;
        self.column(ngroups, w, u64::wrapping_add)
            .into_iter()
            .map(|r| r > 0)
            .collect()
    }
}

/// Adds each row's `U` integer and `F` float values, and 1, to the totals of its group (rows
/// `mask` drops add zeros, without a branch). `words` holds two records per group. Without
/// float sums, rows alternate between them, so that rows of one group in a row do not wait on
/// each other's additions; with them, every row goes to the first, so that each group's floats
/// add up in row order, as ClickHouse adds them under a `GROUP BY` (to the last digit).
fn add_rows<const U: usize, const F: usize>(
    words: &mut [u64],
    ids: &[u32],
    mask: Option<&[bool]>,
    ints: &[&[u32]],
    floats: &[&[f32]],
) {
    let n = ids.len();
    let (Some(ints), Some(floats)) = (ints.get(..U), floats.get(..F)) else {
        return;
    };
    if ints.iter().any(|c| c.len() < n) || floats.iter().any(|c| c.len() < n) {
        return;
    }
    let ints: [&[u32]; U] = std::array::from_fn(|j| &ints[j][..n]);
    let floats: [&[f32]; F] = std::array::from_fn(|j| &floats[j][..n]);
    let add = |words: &mut [u64], r: usize, i: usize, keep: u64| {
        add_row(words, r, i, keep, &ints, &floats)
    };
    let second = usize::from(F == 0);
    let slot = |g: u32, bank: usize| (g as usize) * 2 + bank * second;
    let pairs = ids.chunks_exact(2);
    let last = pairs.remainder().first().copied();
    match mask {
        None => {
            for (p, g) in pairs.enumerate() {
                add(words, slot(g[0], 0), 2 * p, 1);
                add(words, slot(g[1], 1), 2 * p + 1, 1);
            }
            if let Some(g) = last {
                add(words, slot(g, 0), n - 1, 1);
            }
        }
        Some(mask) => {
            for (p, (g, k)) in pairs.zip(mask.chunks_exact(2)).enumerate() {
                add(words, slot(g[0], 0), 2 * p, u64::from(k[0]));
                add(words, slot(g[1], 1), 2 * p + 1, u64::from(k[1]));
            }
            if let (Some(g), Some(k)) = (last, mask.last()) {
                add(words, slot(g, 0), n - 1, u64::from(*k));
            }
        }
    }
}

/// Adds row `i` of `ints` and `floats`, and 1, to the record at `r` (of `U + F + 1` words),
/// or zeros and 0 where `keep` is 0 rather than 1.
#[inline(always)]
fn add_row<const U: usize, const F: usize>(
    words: &mut [u64],
    r: usize,
    i: usize,
    keep: u64,
    ints: &[&[u32]; U],
    floats: &[&[f32]; F],
) {
    let stride = U + F + 1;
    let Some(rec) = words.get_mut(r * stride..r * stride + stride) else {
        return;
    };
    let (sums, rest) = rec.split_at_mut(U);
    let (fsums, rows) = rest.split_at_mut(F);
    let bits = keep.wrapping_neg();
    for (w, c) in sums.iter_mut().zip(ints) {
        *w = w.wrapping_add(u64::from(c[i]) * keep);
    }
    for (w, c) in fsums.iter_mut().zip(floats) {
        // +0.0 for a dropped row, whatever its value (NaN included).
        let x = f64::from_bits(f64::from(c[i]).to_bits() & bits);
        *w = (f64::from_bits(*w) + x).to_bits();
    }
    if let Some(r) = rows.first_mut() {
        *r += keep;
    }
}

/// The values of `c` as `u64`s (none without a column).
fn d_u64s(c: Option<&Col<'_>>, n: usize) -> Vec<u64> {
    c.map_or_else(Vec::new, |c| c.u64s(n).into_owned())
}
