//! Assigning rows to groups by their `GROUP BY` key values.
//!
//! Keys are turned into 64-bit words without hashing strings per row: string keys are
//! dictionary codes, mapped once per distinct code to an id local to the grouping. A single
//! string key indexes a dense table; other keys go through integer hash maps, several keys
//! chained pairwise.

use super::column::{Col, Dict, Strs};
use super::types::{DataType, Repr};
use super::Value;
use crate::error::{Error, Result};
use crate::store::{Dictionary, FxHashMap};
use std::borrow::Cow;
use std::rc::Rc;

/// Strings of one key column: a dictionary local to the grouping and, per input dictionary,
/// the local id of each of its codes (`u32::MAX` until first seen).
#[derive(Debug, Default)]
struct KeyStrings {
    dict: Dictionary,
    remaps: Vec<CodeTable>,
}

/// A table indexed by the codes of one input dictionary, found again by the dictionary's
/// identity. A dictionary built by the query is kept alive with its table: were it freed, a
/// later block's dictionary could take its address and be read through the wrong table.
#[derive(Debug)]
struct CodeTable {
    id: usize,
    map: Vec<u32>,
    _alive: Option<Rc<Dictionary>>,
}

/// The index in `tables` of the per-code table for `dict`, added (all `u32::MAX`, one entry per
/// code) the first time `dict` is seen.
fn table_for(tables: &mut Vec<CodeTable>, dict: &Dict<'_>) -> usize {
    let id = dict.id();
    match tables.iter().position(|t| t.id == id) {
        Some(p) => p,
        None => {
            tables.push(CodeTable {
                id,
                map: vec![u32::MAX; dict.get().len()],
                _alive: match dict {
                    Dict::Own(d) => Some(d.clone()),
                    Dict::Store(_) => None,
                },
            });
            tables.len() - 1
        }
    }
}

impl KeyStrings {
    fn ids(&mut self, s: &Strs<'_>) -> Vec<u64> {
        let pos = table_for(&mut self.remaps, &s.dict);
        let map = &mut self.remaps[pos].map;
        let dict = &mut self.dict;
        s.codes
            .iter()
            .map(|&c| {
                let c = c as usize;
                if c >= map.len() {
                    map.resize(c + 1, u32::MAX);
                }
                if map[c] == u32::MAX {
                    map[c] = dict.intern(s.dict.str(c as u32));
                }
                u64::from(map[c])
            })
            .collect()
    }
}

/// Where a key is among the keys grouped on: its values, and its `NULL` flag if it has one.
type KeyAt = (usize, Option<usize>);

/// Group ids for rows, and one representative key value per group.
#[derive(Debug)]
pub struct Grouper<'d> {
    types: Vec<DataType>,
    strings: Vec<Option<KeyStrings>>,
    /// Per key, the store dictionary whose codes the key's values are read as directly.
    store_dicts: Vec<Option<&'d Dictionary>>,
    /// The string key looked up in dense tables (the last string key), if any.
    dense_key: Option<usize>,
    /// Per prefix id (the other keys' combination), the group of each local string id.
    dense: Vec<Vec<u32>>,
    /// For a single string key: per input dictionary, the group of each code seen.
    direct: Vec<CodeTable>,
    /// Prefix ids of a single non-dense key.
    single: FxHashMap<u64, u32>,
    /// Prefix ids of several non-dense keys, chained pairwise.
    levels: Vec<FxHashMap<u128, u32>>,
    reps: Vec<Vec<u64>>,
    groups: usize,
    /// For keys of `Nullable` types: the types asked for, and per key its position among the
    /// keys grouped on, with the position of its `NULL` flag key.
    nullable: Option<(Vec<DataType>, Vec<KeyAt>)>,
}

impl<'d> Grouper<'d> {
    /// A grouper for keys of `types`.
    pub fn new(types: Vec<DataType>) -> Grouper<'d> {
        let has_nulls = |t: &DataType| t.is_nullable() && t.repr() != Repr::V;
        if types.iter().any(has_nulls) {
            // A Nullable key groups as two: its value (the default in NULL rows) and a flag.
            let mut inner = Vec::new();
            let mut layout = Vec::new();
            for t in &types {
                let at = inner.len();
                inner.push(t.base().clone());
                if has_nulls(t) {
                    inner.push(DataType::UInt8);
                    layout.push((at, Some(at + 1)));
                } else {
                    layout.push((at, None));
                }
            }
            let mut g = Grouper::new(inner);
            g.nullable = Some((types, layout));
            return g;
        }
        let k = types.len();
        Grouper {
            store_dicts: vec![None; k],
            strings: types
                .iter()
                .map(|t| (t.repr() == Repr::S).then(KeyStrings::default))
                .collect(),
            dense_key: types.iter().rposition(|t| t.repr() == Repr::S),
            types,
            dense: Vec::new(),
            direct: Vec::new(),
            single: FxHashMap::default(),
            levels: (1..k).map(|_| FxHashMap::default()).collect(),
            reps: vec![Vec::new(); k],
            groups: 0,
            nullable: None,
        }
    }

    /// Reads key `k` as codes of `dict`, a dictionary of the store that every batch's values
    /// of that key index: no mapping per row, and the key column of the result borrows `dict`.
    pub fn with_store_dict(mut self, k: usize, dict: &'d Dictionary) -> Grouper<'d> {
        let k = match &self.nullable {
            Some((_, layout)) => match layout.get(k) {
                Some((at, None)) => *at,
                _ => return self,
            },
            None => k,
        };
        if let Some(slot) = self.store_dicts.get_mut(k) {
            *slot = Some(dict);
        }
        self
    }

    /// Number of groups so far.
    pub fn groups(&self) -> usize {
        self.groups
    }

    fn raw(&mut self, k: usize, c: &Col<'_>, n: usize) -> Result<Vec<u64>> {
        Ok(match self.types[k].repr() {
            Repr::S => {
                let s = c.strs(n);
                if let Some(d) = self.store_dicts[k] {
                    if !std::ptr::eq(s.dict.get(), d) {
                        return Err(Error::query("a grouping key changed dictionaries"));
                    }
                    return Ok(s.codes.iter().map(|&c| u64::from(c)).collect());
                }
                match &mut self.strings[k] {
                    Some(ks) => ks.ids(&s),
                    None => vec![0; n],
                }
            }
            // By bits, as ClickHouse hashes floats: -0 and 0 are different keys.
            Repr::F => c.f64s(n).iter().map(|x| x.to_bits()).collect(),
            Repr::I => c.i64s(n).iter().map(|x| *x as u64).collect(),
            _ => c.u64s(n).into_owned(),
        })
    }

    /// Ids for the combinations of `keys` (one row each): dense from 0 in order of first
    /// appearance; `fresh` is called with the row of each new combination.
    fn combine(
        single: &mut FxHashMap<u64, u32>,
        levels: &mut [FxHashMap<u128, u32>],
        keys: &[&Vec<u64>],
        n: usize,
        mut fresh: impl FnMut(usize),
    ) -> Vec<u32> {
        let mut out = Vec::with_capacity(n);
        match keys {
            [] => out.resize(n, 0),
            [one] => {
                let mut last: Option<(u64, u32)> = None;
                for (i, &x) in one.iter().enumerate() {
                    if let Some((lk, lid)) = last {
                        if lk == x {
                            out.push(lid);
                            continue;
                        }
                    }
                    let next = single.len() as u32;
                    let id = *single.entry(x).or_insert(next);
                    if id == next {
                        fresh(i);
                    }
                    last = Some((x, id));
                    out.push(id);
                }
            }
            [first, rest @ ..] => {
                let mut cur: Vec<u64> = first.to_vec();
                for (j, key) in rest.iter().enumerate() {
                    let map = &mut levels[j];
                    let mut last: Option<(u128, u32)> = None;
                    for i in 0..n {
                        let k = (u128::from(cur[i]) << 64) | u128::from(key[i]);
                        let id = match last {
                            Some((lk, lid)) if lk == k => lid,
                            _ => {
                                let next = map.len() as u32;
                                let id = *map.entry(k).or_insert(next);
                                if id == next && j == rest.len() - 1 {
                                    fresh(i);
                                }
                                last = Some((k, id));
                                id
                            }
                        };
                        cur[i] = u64::from(id);
                    }
                }
                out.extend(cur.into_iter().map(|x| x as u32));
            }
        }
        out
    }

    /// `assign` for one string key: code → local id → group in one pass.
    fn assign_string(&mut self, c: &Col<'_>, n: usize) -> Vec<u32> {
        let s = c.strs(n);
        let Some(ks) = self.strings[0].as_mut() else {
            return vec![0; n];
        };
        let pos = table_for(&mut ks.remaps, &s.dict);
        if self.dense.is_empty() {
            self.dense.push(Vec::new());
        }
        let map = &mut ks.remaps[pos].map;
        let table = &mut self.dense[0];
        // The group of each code of this dictionary, once seen: one lookup per row.
        let dpos = table_for(&mut self.direct, &s.dict);
        let direct = &mut self.direct[dpos].map;
        let mut ids = Vec::with_capacity(n);
        for &code in s.codes.iter() {
            let code = code as usize;
            if let Some(&g) = direct.get(code) {
                if g != u32::MAX {
                    ids.push(g);
                    continue;
                }
            }
            if code >= direct.len() {
                direct.resize(code + 1, u32::MAX);
            }
            if code >= map.len() {
                map.resize(code + 1, u32::MAX);
            }
            let mut local = map[code];
            if local == u32::MAX {
                local = ks.dict.intern(s.dict.str(code as u32));
                map[code] = local;
            }
            let l = local as usize;
            if l >= table.len() {
                table.resize(l + 1, u32::MAX);
            }
            if table[l] == u32::MAX {
                table[l] = self.groups as u32;
                self.reps[0].push(u64::from(local));
                self.groups += 1;
            }
            direct[code] = table[l];
            ids.push(table[l]);
        }
        ids
    }

    /// `assign` for two keys, `dk` a string column read as codes of the store dictionary `d`:
    /// one pass, the other key's id looked up only where its value changes (a time bucket
    /// changes rarely, logs being mostly in time order).
    fn assign_pair(
        &mut self,
        keys: Vec<Cow<'_, Col<'_>>>,
        dk: usize,
        d: &Dictionary,
        n: usize,
    ) -> Result<Vec<u32>> {
        let ok = 1 - dk;
        let mut it = keys.into_iter();
        let (Some(first), Some(second)) = (it.next(), it.next()) else {
            return Err(Error::query("a grouping lost a key"));
        };
        let (strings, other) = if dk == 0 {
            (first, second)
        } else {
            (second, first)
        };
        let other: Vec<u64> = match other {
            Cow::Owned(Col::U(Cow::Owned(v))) if self.types[ok].repr() == Repr::U => v,
            c => self.raw(ok, &c, n)?,
        };
        let s = strings.strs(n);
        if !std::ptr::eq(s.dict.get(), d) {
            return Err(Error::query("a grouping key changed dictionaries"));
        }
        let codes = &s.codes[..other.len().min(s.codes.len())];
        let other = &other[..codes.len()];
        let mut ids = Vec::with_capacity(codes.len());
        // Run by run of rows with one value of the other key: its table is looked up once.
        let mut start = 0;
        while let Some(&o) = other.get(start) {
            let end = other[start..]
                .iter()
                .position(|x| *x != o)
                .map_or(other.len(), |k| start + k);
            let next = self.single.len() as u32;
            let p = *self.single.entry(o).or_insert(next) as usize;
            if p >= self.dense.len() {
                self.dense.resize_with(p + 1, Vec::new);
            }
            let table = &mut self.dense[p];
            for &code in &codes[start..end] {
                let x = code as usize;
                if x >= table.len() {
                    table.resize(x + 1, u32::MAX);
                }
                let mut g = table[x];
                if g == u32::MAX {
                    g = self.groups as u32;
                    table[x] = g;
                    self.reps[ok].push(o);
                    self.reps[dk].push(u64::from(code));
                    self.groups += 1;
                }
                ids.push(g);
            }
            start = end;
        }
        Ok(ids)
    }

    /// The group id of each of the `n` rows whose key columns are `keys`.
    pub fn assign(&mut self, keys: Vec<Cow<'_, Col<'_>>>, n: usize) -> Result<Vec<u32>> {
        if let Some((types, layout)) = &self.nullable {
            let mut split: Vec<Cow<'_, Col<'_>>> = Vec::with_capacity(layout.len() * 2);
            for ((key, ty), (_, flag)) in keys.into_iter().zip(types).zip(layout) {
                if flag.is_none() {
                    split.push(key);
                    continue;
                }
                let nulls = key.nulls(n).map(Cow::into_owned);
                let (values, flags) = match nulls {
                    Some(m) => (defaults_where(key.values(), &m, ty.base(), n), m),
                    None => (key.values().clone(), vec![false; n]),
                };
                split.push(Cow::Owned(values));
                split.push(Cow::Owned(Col::U(Cow::Owned(
                    flags.into_iter().map(u64::from).collect(),
                ))));
            }
            return self.assign_keys(split, n);
        }
        self.assign_keys(keys, n)
    }

    fn assign_keys(&mut self, keys: Vec<Cow<'_, Col<'_>>>, n: usize) -> Result<Vec<u32>> {
        if let ([key], Some(0)) = (keys.as_slice(), self.dense_key) {
            return Ok(self.assign_string(key, n));
        }
        if let (2, Some(dk)) = (keys.len(), self.dense_key) {
            if let Some(d) = self.store_dicts[dk] {
                return self.assign_pair(keys, dk, d, n);
            }
        }
        let raw: Vec<Vec<u64>> = keys
            .into_iter()
            .enumerate()
            .map(|(k, c)| match c {
                // A computed unsigned key (a time bucket, say) is used as it is.
                Cow::Owned(Col::U(Cow::Owned(v))) if self.types[k].repr() == Repr::U => Ok(v),
                c => self.raw(k, &c, n),
            })
            .collect::<Result<_>>()?;
        let reps = &mut self.reps;
        let groups = &mut self.groups;
        let Some(dk) = self.dense_key else {
            // No string key: the combination of the keys is the group.
            let refs: Vec<&Vec<u64>> = raw.iter().collect();
            return Ok(Self::combine(
                &mut self.single,
                &mut self.levels,
                &refs,
                n,
                |i| {
                    for (k, r) in raw.iter().enumerate() {
                        reps[k].push(r[i]);
                    }
                    *groups += 1;
                },
            ));
        };
        // The other keys give a prefix id; the string key's local id indexes that prefix's table.
        let others: Vec<&Vec<u64>> = raw
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != dk)
            .map(|(_, r)| r)
            .collect();
        let prefix = Self::combine(&mut self.single, &mut self.levels, &others, n, |_| {});
        let sids = &raw[dk];
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let p = prefix[i] as usize;
            if p >= self.dense.len() {
                self.dense.resize_with(p + 1, Vec::new);
            }
            let table = &mut self.dense[p];
            let x = sids[i] as usize;
            if x >= table.len() {
                table.resize(x + 1, u32::MAX);
            }
            if table[x] == u32::MAX {
                table[x] = *groups as u32;
                for (k, r) in raw.iter().enumerate() {
                    reps[k].push(r[i]);
                }
                *groups += 1;
            }
            ids.push(table[x]);
        }
        Ok(ids)
    }

    /// The key columns: one representative value per group, in group order.
    pub fn key_columns(mut self) -> Vec<Col<'d>> {
        let Some((_, layout)) = self.nullable.take() else {
            return self.plain_key_columns();
        };
        let mut cols: Vec<Option<Col<'d>>> =
            self.plain_key_columns().into_iter().map(Some).collect();
        layout
            .iter()
            .map(|(at, flag)| {
                let values = cols[*at].take().unwrap_or(Col::Const(Value::Null));
                match flag.and_then(|f| cols[f].take()) {
                    Some(flags) => {
                        let m: Vec<bool> = flags.u64s(0).iter().map(|x| *x != 0).collect();
                        Col::N(Box::new(values), Cow::Owned(m))
                    }
                    None => values,
                }
            })
            .collect()
    }

    fn plain_key_columns(self) -> Vec<Col<'d>> {
        let Grouper {
            types,
            strings,
            store_dicts,
            reps,
            ..
        } = self;
        types
            .iter()
            .zip(reps)
            .zip(strings)
            .zip(store_dicts)
            .map(|(((t, r), s), d)| match (t.repr(), d) {
                (Repr::S, Some(d)) => Col::S(Strs {
                    codes: Cow::Owned(r.iter().map(|x| *x as u32).collect()),
                    dict: Dict::Store(d),
                }),
                (Repr::S, None) => Col::S(Strs {
                    codes: Cow::Owned(r.iter().map(|x| *x as u32).collect()),
                    dict: Dict::Own(Rc::new(s.map(|s| s.dict).unwrap_or_default())),
                }),
                (Repr::F, _) => Col::F(Cow::Owned(r.iter().map(|x| f64::from_bits(*x)).collect())),
                // The type of NULL.
                (Repr::V, _) if *t.base() == DataType::Nothing => {
                    Col::V(Cow::Owned(vec![Value::Null; r.len()]))
                }
                (Repr::I, _) => Col::I(Cow::Owned(r.iter().map(|x| *x as i64).collect())),
                _ => Col::U(Cow::Owned(r)),
            })
            .collect()
    }
}

/// `c` (of type `ty`) with the rows `nulls` marks set to one value, so that every `NULL` row
/// groups together.
fn defaults_where<'a>(c: &Col<'a>, nulls: &[bool], ty: &DataType, n: usize) -> Col<'a> {
    match ty.repr() {
        Repr::U => Col::U(Cow::Owned(
            c.u64s(n)
                .iter()
                .zip(nulls)
                .map(|(x, null)| if *null { 0 } else { *x })
                .collect(),
        )),
        Repr::I => Col::I(Cow::Owned(
            c.i64s(n)
                .iter()
                .zip(nulls)
                .map(|(x, null)| if *null { 0 } else { *x })
                .collect(),
        )),
        Repr::F => Col::F(Cow::Owned(
            c.f64s(n)
                .iter()
                .zip(nulls)
                .map(|(x, null)| if *null { 0.0 } else { *x })
                .collect(),
        )),
        Repr::S => {
            let s = c.strs(n);
            match s.dict.get().code("") {
                Some(empty) => Col::S(Strs {
                    codes: Cow::Owned(
                        s.codes
                            .iter()
                            .zip(nulls)
                            .map(|(x, null)| if *null { empty } else { *x })
                            .collect(),
                    ),
                    dict: s.dict.clone(),
                }),
                None => {
                    let mut d = Dictionary::new();
                    let codes = s
                        .codes
                        .iter()
                        .zip(nulls)
                        .map(|(x, null)| d.intern(if *null { "" } else { s.dict.str(*x) }))
                        .collect();
                    Col::S(Strs {
                        codes: Cow::Owned(codes),
                        dict: Dict::Own(Rc::new(d)),
                    })
                }
            }
        }
        Repr::V => c.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_strings_and_pairs() {
        let mut d = Dictionary::new();
        let a = d.intern("a");
        let b = d.intern("b");
        let s = Col::S(Strs {
            codes: Cow::Owned(vec![a, b, a, b]),
            dict: Dict::Own(Rc::new(d)),
        });
        let t = Col::U(Cow::Owned(vec![10, 10, 20, 10]));
        let mut g = Grouper::new(vec![DataType::String]);
        assert_eq!(
            g.assign(vec![Cow::Borrowed(&s)], 4).unwrap(),
            vec![0, 1, 0, 1]
        );
        let mut g2 = Grouper::new(vec![DataType::DateTime, DataType::String]);
        let ids = g2
            .assign(vec![Cow::Borrowed(&t), Cow::Borrowed(&s)], 4)
            .unwrap();
        assert_eq!(ids, vec![0, 1, 2, 1]);
        assert_eq!(g2.groups(), 3);
        let cols = g2.key_columns();
        assert_eq!(
            cols[0].value_at(2, &DataType::DateTime),
            Value::DateTime(20)
        );
        assert_eq!(
            cols[1].value_at(1, &DataType::String),
            Value::Str("b".into())
        );
        let mut g3 = Grouper::new(vec![DataType::UInt8, DataType::UInt8, DataType::UInt8]);
        let x = Col::U(Cow::Owned(vec![1, 1, 1, 2]));
        let y = Col::U(Cow::Owned(vec![1, 2, 1, 1]));
        let ids = g3
            .assign(
                vec![Cow::Borrowed(&x), Cow::Borrowed(&y), Cow::Borrowed(&x)],
                4,
            )
            .unwrap();
        assert_eq!(ids, vec![0, 1, 0, 2]);
    }
}
