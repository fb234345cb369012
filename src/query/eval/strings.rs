//! String work done once per dictionary entry and cached per dictionary (predicates, `lower`,
//! `upper`, re-coding several columns into one dictionary), and `concat`.

use super::super::column::{value_str, Col, Dict, Strs};
use super::super::Value;
use super::cast::to_string_col;
use super::{BExpr, CacheEntry, Cached, FCall};
use crate::error::{Error, Result};
use crate::store::{ColumnData, Dictionary};
use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

pub(super) fn cached<'d>(
    fc: &FCall,
    dicts: impl Iterator<Item = &'d Dict<'d>> + Clone,
    make: impl FnOnce() -> Result<Cached>,
) -> Result<Cached> {
    let key: Vec<usize> = dicts.clone().map(Dict::id).collect();
    if let Some(e) = fc.cache.borrow().iter().find(|e| e.key == key) {
        return Ok(e.value.clone());
    }
    let value = make()?;
    let alive = dicts
        .filter_map(|d| match d {
            Dict::Own(rc) => Some(rc.clone()),
            Dict::Store(_) => None,
        })
        .collect();
    let mut cache = fc.cache.borrow_mut();
    if cache.len() > 16 {
        cache.remove(0);
    }
    cache.push(CacheEntry {
        key,
        _alive: alive,
        value: value.clone(),
    });
    Ok(value)
}

/// A per-dictionary-entry function of strings, cached per dictionary, applied to the codes:
/// `UInt64` values when `wide`, else 0/1 bytes.
pub(super) fn per_entry<'a>(
    fc: &FCall,
    c: &Col<'a>,
    n: usize,
    wide: bool,
    f: impl Fn(&str) -> Result<u64>,
) -> Result<Col<'a>> {
    if let Col::Const(v) = c {
        return Ok(Col::Const(Value::UInt(f(&value_str(v))?)));
    }
    let s = c.strs(n);
    let m = cached(fc, std::iter::once(&s.dict), || {
        let d = s.dict.get();
        let map = d
            .strings()
            .iter()
            .map(|x| f(x))
            .collect::<Result<Vec<u64>>>()?;
        Ok(Cached::Map(Rc::new(map)))
    })?;
    let Cached::Map(map) = m else {
        return Err(Error::query("internal: cache kind"));
    };
    let at = |c: &u32| map.get(*c as usize).copied().unwrap_or(0);
    Ok(if wide {
        Col::U(Cow::Owned(s.codes.iter().map(at).collect()))
    } else {
        Col::Native(Cow::Owned(ColumnData::U8(
            s.codes.iter().map(|c| at(c) as u8).collect(),
        )))
    })
}

/// One value per row of a string column, computed once per dictionary entry the rows use;
/// `count` gives the elements a value holds, and more than `limit` elements over the rows is
/// an error naming `what` and the `unit` it counts.
pub(super) fn per_entry_values(
    s: &Strs<'_>,
    limit: usize,
    what: &str,
    unit: &str,
    compute: impl Fn(&str) -> Value,
    count: impl Fn(&Value) -> usize,
) -> Result<Vec<Value>> {
    let mut seen: HashMap<u32, Value> = HashMap::new();
    let mut elements = 0usize;
    let mut values = Vec::with_capacity(s.codes.len());
    for code in s.codes.iter() {
        let v = seen
            .entry(*code)
            .or_insert_with(|| compute(s.dict.str(*code)));
        elements = elements.saturating_add(count(v));
        if elements > limit {
            return Err(Error::query(format!(
                "{what} would build more than {limit} {unit} in one block of rows"
            )));
        }
        values.push(v.clone());
    }
    Ok(values)
}

/// Strings mapped entry by entry into a new dictionary, cached per dictionary.
pub(super) fn recode<'a>(
    fc: &FCall,
    c: &Col<'a>,
    n: usize,
    f: impl Fn(&str) -> String,
) -> Result<Col<'a>> {
    if let Col::Const(v) = c {
        return Ok(Col::Const(Value::Str(f(&value_str(v)))));
    }
    let s = c.strs(n);
    let r = cached(fc, std::iter::once(&s.dict), || {
        let mut d = Dictionary::new();
        let map: Vec<u32> = s
            .dict
            .get()
            .strings()
            .iter()
            .map(|x| d.intern(&f(x)))
            .collect();
        Ok(Cached::Recode(Rc::new(d), Rc::new(vec![map])))
    })?;
    let Cached::Recode(d, maps) = r else {
        return Err(Error::query("internal: cache kind"));
    };
    let map = &maps[0];
    let codes = s
        .codes
        .iter()
        .map(|c| map.get(*c as usize).copied().unwrap_or(0))
        .collect();
    Ok(Col::S(Strs {
        codes: Cow::Owned(codes),
        dict: Dict::Own(d),
    }))
}

/// Several string columns re-coded into one shared dictionary (for `if`, `multiIf`, `coalesce`).
pub(super) fn unify_strings<'a>(
    fc: &FCall,
    cols: &[Strs<'a>],
) -> Result<(Dict<'a>, Vec<Vec<u32>>)> {
    let first = cols.first().map(|s| s.dict.id());
    if cols.iter().all(|s| Some(s.dict.id()) == first) {
        if let Some(s) = cols.first() {
            return Ok((
                s.dict.clone(),
                cols.iter().map(|s| s.codes.to_vec()).collect(),
            ));
        }
    }
    let r = cached(fc, cols.iter().map(|s| &s.dict), || {
        let mut d = Dictionary::new();
        let maps = cols
            .iter()
            .map(|s| s.dict.get().strings().iter().map(|x| d.intern(x)).collect())
            .collect();
        Ok(Cached::Recode(Rc::new(d), Rc::new(maps)))
    })?;
    let Cached::Recode(d, maps) = r else {
        return Err(Error::query("internal: cache kind"));
    };
    let codes = cols
        .iter()
        .zip(maps.iter())
        .map(|(s, m)| {
            s.codes
                .iter()
                .map(|c| m.get(*c as usize).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    Ok((Dict::Own(d), codes))
}

/// `concat`: each row's argument texts (as `toString` writes them) joined.
pub(super) fn concat<'a>(exprs: &[BExpr], args: &[Cow<'_, Col<'a>>], n: usize) -> Col<'a> {
    let texts: Vec<Col<'a>> = args
        .iter()
        .zip(exprs)
        .map(|(c, e)| {
            if e.ty.is_string() {
                c.as_ref().clone()
            } else {
                to_string_col(c, &e.ty, n)
            }
        })
        .collect();
    if texts.iter().all(|c| matches!(c, Col::Const(_))) {
        let joined: String = texts
            .iter()
            .map(|c| match c {
                Col::Const(v) => value_str(v).into_owned(),
                _ => String::new(),
            })
            .collect();
        return Col::Const(Value::Str(joined));
    }
    let parts: Vec<Cow<'_, Strs<'a>>> = texts.iter().map(|c| c.strs(n)).collect();
    let mut d = Dictionary::new();
    let mut row = String::new();
    let codes = (0..n)
        .map(|i| {
            row.clear();
            for p in &parts {
                if let Some(code) = p.codes.get(i).or_else(|| p.codes.first()) {
                    row.push_str(p.dict.str(*code));
                }
            }
            d.intern(&row)
        })
        .collect();
    Col::S(Strs {
        codes: Cow::Owned(codes),
        dict: Dict::Own(Rc::new(d)),
    })
}
