//! `JOIN`: a hash join of two sources into one table that the query then reads, as ClickHouse
//! joins with its default settings. The right side is the build side: its keys are hashed, its
//! rows grouped by key, and the table it becomes, with the joined result, is charged to the
//! store's `maxBytes`. Unmatched rows of an outer join take their type's default in the other
//! side's columns (`join_use_nulls = 0`); rows whose key holds a `NULL` match nothing.

use super::super::ast::{Expr, From, Join, JoinKind, Strictness};
use super::super::column::{default_value, empty_col, from_values, Col, Table};
use super::super::eval::{cast, eval, BExpr, BKind, Batch};
use super::super::group::Grouper;
use super::super::types::{common_type, DataType};
use super::super::Value;
use super::bind::{Binder, Mode};
use super::scope::{materialize, Env, Naming, Scope, Source};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::rc::Rc;

/// No row on this side: the other side's row is unmatched.
const NONE: u32 = u32::MAX;

/// A source of a join, read whole, with the names its columns answer to.
struct Side<'a> {
    table: Rc<Table<'a>>,
    naming: Naming,
}

/// Joins `j`'s sources: the joined table and the names of its columns. `used` tells which
/// column names the query reads (`None`: all of them, as for `*`).
pub(super) fn join<'s, 'a>(
    j: &Join,
    scope: &Scope<'s, 'a>,
    env: &Env<'a>,
    used: Option<&[String]>,
    top: bool,
) -> Result<(Source<'a>, Naming)> {
    // Each join of a chain runs one level deeper, as a subquery does: joins and nested queries
    // share one bound, so chains of joins in nested subqueries cannot exhaust the stack.
    let joins = env.joins.get();
    if env.depth.get() + joins >= super::MAX_STACKED {
        return Err(Error::query(format!(
            "TOO_DEEP_SUBQUERIES: joins and subqueries nest too deeply (more than {} levels, \
             each join of a chain counting as one)",
            super::MAX_STACKED
        )));
    }
    env.joins.set(joins + 1);
    let r = join_inner(j, scope, env, used, top);
    env.joins.set(joins);
    r
}

fn join_inner<'s, 'a>(
    j: &Join,
    scope: &Scope<'s, 'a>,
    env: &Env<'a>,
    used: Option<&[String]>,
    top: bool,
) -> Result<(Source<'a>, Naming)> {
    for f in [&j.left, &j.right] {
        if let From::Subquery(_, None) = f {
            return Err(Error::query(
                "ALIAS_REQUIRED: a subquery in a JOIN needs an alias (ClickHouse's \
                 joined_subquery_requires_alias)",
            ));
        }
    }
    let left = side(&j.left, scope, env, used)?;
    let right = side(&j.right, scope, env, used)?;
    let (lk, rk) = keys(j, &left, &right, scope, env)?;
    let (lt, rt) = (&left.table, &right.table);
    // Each pair of keys is compared in the supertype of the two.
    let mut types = Vec::with_capacity(lk.len());
    for (a, b) in lk.iter().zip(&rk) {
        let t = common_type(&[&a.ty, &b.ty]).ok_or_else(|| {
            Error::query(format!(
                "NO_COMMON_TYPE: JOIN keys of types {} and {} cannot be compared",
                a.ty, b.ty
            ))
        })?;
        types.push(t);
    }
    let budget = env.store.max_bytes().saturating_sub(env.store.bytes());
    // Both sides are held whole while the join runs.
    let build = table_bytes(rt)
        .saturating_add(table_bytes(lt))
        .saturating_add(rt.rows as u64 * 16);
    charge(build, budget)?;
    let lcols = key_columns(lt, &lk, &types)?;
    let rcols = key_columns(rt, &rk, &types)?;
    let (rids, groups, lids) = if types.is_empty() {
        // A cross join: every row in one group.
        (vec![0; rt.rows], usize::from(rt.rows > 0), vec![0; lt.rows])
    } else {
        let mut grouper = Grouper::new(types.clone());
        let rids = ids(&mut grouper, &rcols, rt.rows)?;
        let groups = grouper.groups();
        (rids, groups, ids(&mut grouper, &lcols, lt.rows)?)
    };
    // The keys are no longer needed once each row has its group.
    drop(lcols);
    drop(rcols);
    // The right rows of each group, in order: `order[start[g]..start[g + 1]]`.
    let mut start = vec![0usize; groups + 1];
    for &g in &rids {
        if g != NONE {
            start[g as usize + 1] += 1;
        }
    }
    for g in 0..groups {
        start[g + 1] += start[g];
    }
    let mut fill = start.clone();
    let mut order = vec![0u32; start[groups]];
    for (r, &g) in rids.iter().enumerate() {
        if g != NONE {
            order[fill[g as usize]] = r as u32;
            fill[g as usize] += 1;
        }
    }
    drop(fill);
    let matches = |g: u32| -> &[u32] {
        if g == NONE || g as usize >= groups {
            &[]
        } else {
            &order[start[g as usize]..start[g as usize + 1]]
        }
    };
    // The result's size is known before it is built.
    let keep_left = matches!(j.kind, JoinKind::Left | JoinKind::Full);
    let keep_right = matches!(j.kind, JoinKind::Right | JoinKind::Full);
    let any = j.strictness == Strictness::Any;
    let width = row_bytes(lt) + row_bytes(rt);
    let mut out_rows: u64 = 0;
    for &g in &lids {
        let m = matches(g).len() as u64;
        out_rows += match (any, m) {
            (_, 0) => u64::from(keep_left),
            (true, _) => 1,
            (false, m) => m,
        };
    }
    if keep_right {
        out_rows += rt.rows as u64;
    }
    charge(
        build.saturating_add(out_rows.saturating_mul(width + 8)),
        budget,
    )?;
    let mut li: Vec<u32> = Vec::new();
    let mut ri: Vec<u32> = Vec::new();
    let mut used_right = vec![false; if keep_right || any { rt.rows } else { 0 }];
    let mut used_group = vec![false; if any { groups } else { 0 }];
    for (i, &g) in lids.iter().enumerate() {
        let m = matches(g);
        let before = li.len();
        match (j.strictness, j.kind) {
            (Strictness::All, _) => {
                for &r in m {
                    li.push(i as u32);
                    ri.push(r);
                }
            }
            // One row per key: the first left row with the first right row.
            (Strictness::Any, JoinKind::Inner) => {
                if let Some(&r) = m.first() {
                    if !used_group[g as usize] {
                        used_group[g as usize] = true;
                        li.push(i as u32);
                        ri.push(r);
                    }
                }
            }
            (Strictness::Any, JoinKind::Left) => {
                if let Some(&r) = m.first() {
                    li.push(i as u32);
                    ri.push(r);
                }
            }
            // Each right row once, with the first left row that matches it.
            (Strictness::Any, _) => {
                for &r in m {
                    if !used_right[r as usize] {
                        li.push(i as u32);
                        ri.push(r);
                    }
                }
            }
        }
        for &r in &ri[before..] {
            if let Some(u) = used_right.get_mut(r as usize) {
                *u = true;
            }
        }
        if li.len() == before && keep_left && m.is_empty() {
            li.push(i as u32);
            ri.push(NONE);
        }
    }
    if keep_right {
        for (r, u) in used_right.iter().enumerate() {
            if !u {
                li.push(NONE);
                ri.push(r as u32);
            }
        }
    }
    // The columns: the left side's, then the right side's.
    let mut names: Vec<(String, DataType)> = Vec::new();
    let mut cols: Vec<Col<'a>> = Vec::new();
    let using_left: Vec<Option<usize>> = (0..lt.names.len())
        .map(|c| {
            j.using
                .iter()
                .position(|u| left.naming.slot(lt, u) == Some(c))
        })
        .collect();
    for (c, using) in using_left.iter().enumerate() {
        // A `USING` column has the type its keys are compared in.
        let ty = match *using {
            Some(k) => &types[k],
            None => &lt.types[c],
        };
        let lcol = match *using {
            Some(_) => Cow::Owned(cast(&lt.cols[c], &lt.types[c], ty, lt.rows)?),
            None => Cow::Borrowed(&lt.cols[c]),
        };
        let col = match *using {
            // A `USING` column of a row only the right side has takes the right key.
            Some(k) if li.contains(&NONE) => {
                let rslot = match &rk[k].kind {
                    BKind::Slot(s) => *s,
                    _ => return Err(Error::query("internal: a USING key")),
                };
                let rcol = cast(&rt.cols[rslot], &rt.types[rslot], ty, rt.rows)?;
                let values: Vec<Value> = li
                    .iter()
                    .zip(&ri)
                    .map(|(&l, &r)| {
                        if l == NONE {
                            rcol.value_at(r as usize, ty)
                        } else {
                            lcol.value_at(l as usize, ty)
                        }
                    })
                    .collect();
                from_values(values, ty)
            }
            _ => pick(&lcol, ty, lt.rows, &li),
        };
        names.push((lt.names[c].clone(), ty.clone()));
        cols.push(col);
    }
    let lq = j.left.qualifier();
    let rq = j.right.qualifier();
    let mut naming = Naming {
        qualified: left.naming.qualified.clone(),
        star: Some(match &left.naming.star {
            Some(s) => s.clone(),
            None => (0..lt.names.len()).collect(),
        }),
        strip: false,
        origin: if left.naming.origin.is_empty() {
            lt.names
                .iter()
                .map(|n| (lq.map(str::to_string), n.clone()))
                .collect()
        } else {
            left.naming.origin.clone()
        },
        merged: left.naming.merged.clone(),
        keep: Vec::new(),
    };
    for (c, k) in using_left.iter().enumerate() {
        if k.is_some() {
            naming.merged.push(c);
        }
    }
    // `USING` merges its columns of both sides into one, which the plain name reads; in a
    // `RIGHT` or `FULL` join a qualified name reads the left side's own column (the default in
    // rows only the right side has), named as the plain name is in a `FULL` join and by the
    // qualified name in a `RIGHT` one, as ClickHouse names them.
    let mut hidden: Vec<(String, DataType, Col<'a>)> = Vec::new();
    for (c, k) in using_left.iter().enumerate() {
        if k.is_none() {
            continue;
        }
        let Some(q) = lq else { continue };
        if keep_right {
            let slot = lt.names.len() + rt.names.len() + hidden.len();
            naming
                .qualified
                .insert(0, (format!("{q}.{}", lt.names[c]), slot));
            if j.kind == JoinKind::Right {
                naming.keep.push(slot);
            }
            let ty = lt.types[c].clone();
            let col = pick(&lt.cols[c], &ty, lt.rows, &li);
            hidden.push((lt.names[c].clone(), ty, col));
        }
    }
    if let Some(q) = lq {
        for (c, n) in lt.names.iter().enumerate() {
            naming.qualified.push((format!("{q}.{n}"), c));
        }
    }
    let right_star: Vec<usize> = match &right.naming.star {
        Some(s) => s.clone(),
        None => (0..rt.names.len()).collect(),
    };
    let base = lt.names.len();
    for c in 0..rt.names.len() {
        let ty = &rt.types[c];
        let n = &rt.names[c];
        let clash = names.iter().any(|(x, _)| x == n);
        let name = match (clash, rq) {
            (false, _) => n.clone(),
            (true, Some(q)) => format!("{q}.{n}"),
            (true, None) => format!("_right.{n}"),
        };
        if let Some(q) = rq {
            naming.qualified.push((format!("{q}.{n}"), base + c));
        }
        for (qn, s) in &right.naming.qualified {
            if *s == c {
                naming.qualified.push((qn.clone(), base + c));
            }
        }
        let is_using = j.using.iter().any(|u| right.naming.slot(rt, u) == Some(c));
        if right_star.contains(&c) && !is_using {
            if let Some(s) = naming.star.as_mut() {
                s.push(base + c);
            }
        }
        names.push((name, ty.clone()));
        cols.push(pick(&rt.cols[c], ty, rt.rows, &ri));
        naming.origin.push(match right.naming.origin.get(c) {
            Some(o) => o.clone(),
            None => (rq.map(str::to_string), n.clone()),
        });
    }
    for (n, ty, col) in hidden {
        naming.origin.push((lq.map(str::to_string), n.clone()));
        names.push((n, ty));
        cols.push(col);
    }
    // A table given an alias still answers to its own name (`FROM t a JOIN s b` reads `t.x`), after
    // every alias, and the first table of that name wins, as in ClickHouse.
    if let Some(n) = aliased_name(&j.left) {
        for (c, col) in lt.names.iter().enumerate() {
            naming.qualified.push((format!("{n}.{col}"), c));
        }
    }
    if let Some(n) = aliased_name(&j.right) {
        for (c, col) in rt.names.iter().enumerate() {
            naming.qualified.push((format!("{n}.{col}"), base + c));
        }
    }
    if top && tables(&j.left) + tables(&j.right) >= 3 {
        rename_many(&mut names, &mut naming);
    }
    let table = Table {
        names: names.iter().map(|(n, _)| n.clone()).collect(),
        types: names.into_iter().map(|(_, t)| t).collect(),
        cols,
        rows: li.len(),
    };
    Ok((Source::Table(Rc::new(table)), naming))
}

/// The name of a table (or WITH table) that has an alias other than its name.
fn aliased_name(f: &From) -> Option<&str> {
    match f {
        From::Table(name, Some(alias)) if name != alias => Some(name),
        _ => None,
    }
}

/// How many tables and subqueries a join tree holds; the parser bounds its depth.
fn tables(f: &From) -> usize {
    match f {
        From::Join(j) => tables(&j.left) + tables(&j.right),
        _ => 1,
    }
}

/// Names the columns of a join of three or more tables as ClickHouse does: a column whose name
/// more than one table has is named `table.column` (a `USING` column, merged, keeps its plain
/// name, and a qualified name of it keeps its qualifier); a plain name then reads the first
/// column of that name.
fn rename_many(names: &mut [(String, DataType)], naming: &mut Naming) {
    let origin = naming.origin.clone();
    for (i, (name, _)) in names.iter_mut().enumerate() {
        let Some((q, short)) = origin.get(i) else {
            continue;
        };
        if naming.merged.contains(&i) {
            *name = short.clone();
            naming.keep.push(i);
            continue;
        }
        let mut owners: Vec<&Option<String>> = origin
            .iter()
            .filter(|(_, s)| s == short)
            .map(|(q, _)| q)
            .collect();
        owners.sort();
        owners.dedup();
        *name = match q {
            Some(q) if owners.len() > 1 => format!("{q}.{short}"),
            _ => short.clone(),
        };
    }
    for (i, (_, short)) in origin.iter().enumerate() {
        let taken = names.iter().any(|(n, _)| n == short)
            || naming.qualified.iter().any(|(n, _)| n == short);
        if !taken {
            naming.qualified.push((short.clone(), i));
        }
    }
}

/// A source of a join read whole: a table or subquery, or a join itself.
fn side<'s, 'a>(
    f: &From,
    scope: &Scope<'s, 'a>,
    env: &Env<'a>,
    used: Option<&[String]>,
) -> Result<Side<'a>> {
    let (source, naming) = match f {
        From::Join(j) => join(j, scope, env, used, false)?,
        other => super::scope::from_source(Some(other), scope, env, used)?,
    };
    let table = materialize(env, source, used)?;
    Ok(Side { table, naming })
}

/// The key expressions of each side, from `USING` or the equalities of `ON`.
fn keys<'s, 'a>(
    j: &Join,
    left: &Side<'a>,
    right: &Side<'a>,
    scope: &Scope<'s, 'a>,
    env: &Env<'a>,
) -> Result<(Vec<BExpr>, Vec<BExpr>)> {
    let mut lb = binder(left, scope, env, j.left.qualifier(), aliased_name(&j.left));
    let mut rb = binder(
        right,
        scope,
        env,
        j.right.qualifier(),
        aliased_name(&j.right),
    );
    let mut lk = Vec::new();
    let mut rk = Vec::new();
    for u in &j.using {
        let missing = |side: &str| {
            Error::query(format!(
                "UNKNOWN_IDENTIFIER: USING column '{u}' is not a column of the {side} side"
            ))
        };
        let l = lb.column(u).ok_or_else(|| missing("left"))?;
        let r = rb.column(u).ok_or_else(|| missing("right"))?;
        lk.push(slot_expr(l, &left.table.types[l]));
        rk.push(slot_expr(r, &right.table.types[r]));
    }
    if let Some(on) = &j.on {
        let mut conjuncts = vec![on];
        while let Some(e) = conjuncts.pop() {
            let Expr::Func(c) = e else {
                return Err(on_error());
            };
            if c.name == "and" {
                conjuncts.extend(c.args.iter().rev());
                continue;
            }
            if c.name != "equals" || c.args.len() != 2 || c.params.is_some() {
                return Err(on_error());
            }
            let (a, b) = (&c.args[0], &c.args[1]);
            let pair = match (lb.bind(a, Mode::Row), rb.bind(b, Mode::Row)) {
                (Ok(x), Ok(y)) => (x, y),
                _ => match (lb.bind(b, Mode::Row), rb.bind(a, Mode::Row)) {
                    (Ok(x), Ok(y)) => (x, y),
                    _ => {
                        return Err(Error::query(format!(
                            "INVALID_JOIN_ON_EXPRESSION: {e} does not compare a column of the \
                             left side with one of the right side"
                        )))
                    }
                },
            };
            lk.push(pair.0);
            rk.push(pair.1);
        }
    }
    for k in lk.iter().chain(&rk) {
        if matches!(
            k.ty.base(),
            DataType::Array(_) | DataType::Map(..) | DataType::AggregateFunction(..)
        ) {
            return Err(Error::unsupported(format!("JOIN keys of type {}", k.ty)));
        }
    }
    Ok((lk, rk))
}

fn on_error() -> Error {
    Error::unsupported("JOIN ON other than equalities joined by AND")
}

fn slot_expr(slot: usize, ty: &DataType) -> BExpr {
    BExpr {
        kind: BKind::Slot(slot),
        ty: ty.clone(),
    }
}

/// A binder over one side's columns.
fn binder<'e, 's, 'a>(
    side: &Side<'a>,
    scope: &'e Scope<'s, 'a>,
    env: &'e Env<'a>,
    qualifier: Option<&str>,
    also: Option<&str>,
) -> Binder<'static, 'e, 's, 'a> {
    let t = &side.table;
    let mut qualified = side.naming.qualified.clone();
    for q in qualifier.into_iter().chain(also) {
        for (c, n) in t.names.iter().enumerate() {
            qualified.push((format!("{q}.{n}"), c));
        }
    }
    let columns = t.names.iter().cloned().zip(t.types.iter().cloned());
    Binder::over(env, scope, columns.collect(), qualified, "JOIN ON")
}

/// The keys of a side's rows, converted to the types they are compared in.
fn key_columns<'a>(t: &Table<'a>, keys: &[BExpr], types: &[DataType]) -> Result<Vec<Col<'a>>> {
    let batch = Batch {
        n: t.rows,
        cols: t.cols.iter().map(|c| c.slice(0, t.rows)).collect(),
    };
    let mut out = Vec::with_capacity(keys.len());
    for (k, ty) in keys.iter().zip(types) {
        let c = eval(k, &batch)?;
        let c = cast(&c, &k.ty, ty, t.rows)?;
        let mut m = empty_col(ty);
        m.append(&c, ty, t.rows);
        out.push(m);
    }
    Ok(out)
}

/// The group of each row's key; [`NONE`] for a key holding a `NULL`.
fn ids(grouper: &mut Grouper<'_>, cols: &[Col<'_>], n: usize) -> Result<Vec<u32>> {
    let mut ids = grouper.assign(cols.iter().map(Cow::Borrowed).collect(), n)?;
    for c in cols {
        if let Some(nulls) = c.nulls(n) {
            for (id, null) in ids.iter_mut().zip(nulls.iter()) {
                if *null {
                    *id = NONE;
                }
            }
        }
    }
    Ok(ids)
}

/// The rows `sel` lists of a column, [`NONE`] giving the type's default (`NULL` for a
/// `Nullable` column).
fn pick<'a>(c: &Col<'a>, ty: &DataType, rows: usize, sel: &[u32]) -> Col<'a> {
    if let Col::Const(v) = c {
        return Col::Const(v.clone());
    }
    if !sel.contains(&NONE) {
        return c.gather(sel);
    }
    let default = if ty.is_nullable() {
        Value::Null
    } else {
        default_value(ty)
    };
    // The column with one more row, the default, that `NONE` picks.
    let mut ext = empty_col(ty);
    ext.append(c, ty, rows);
    ext.append(&Col::Const(default), ty, 1);
    let sel: Vec<u32> = sel
        .iter()
        .map(|&i| if i == NONE { rows as u32 } else { i })
        .collect();
    ext.gather(&sel)
}

fn row_bytes(t: &Table<'_>) -> u64 {
    t.cols.iter().map(col_row_bytes).sum()
}

/// The bytes one row of a column takes as the join holds it.
fn col_row_bytes(c: &Col<'_>) -> u64 {
    match c {
        Col::Const(_) => 0,
        Col::Native(d) => d.width() as u64,
        Col::U(_) | Col::I(_) | Col::F(_) => 8,
        // A dictionary code per row.
        Col::S(_) => 4,
        Col::V(_) => std::mem::size_of::<Value>() as u64,
        Col::N(inner, _) => col_row_bytes(inner) + 1,
    }
}

fn table_bytes(t: &Table<'_>) -> u64 {
    row_bytes(t).saturating_mul(t.rows as u64)
}

fn charge(bytes: u64, budget: u64) -> Result<()> {
    if bytes > budget {
        return Err(Error::query(format!(
            "the JOIN needs about {bytes} bytes, more than the store's maxBytes leaves \
             ({budget} bytes)"
        )));
    }
    Ok(())
}
