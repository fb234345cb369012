//! The columns a query reads of its source: a subquery computes only those, as in ClickHouse,
//! where a column of a subquery that nothing reads is not computed (nor can it raise an error).

use super::super::ast::{Expr, From, Query, With};

/// The column names a query reads of its `FROM` source, a qualified name counting also as its
/// column's name; `None` when it reads every column (`*`). Names inside its subqueries count
/// too, so that nothing a nested query could read is dropped.
pub(super) fn used_names(q: &Query) -> Option<Vec<String>> {
    if q.select
        .iter()
        .any(|i| matches!(i.expr, Expr::Star | Expr::QualifiedStar(_)))
    {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut exprs: Vec<&Expr> = Vec::new();
    let mut queries: Vec<&Query> = Vec::new();
    own_exprs(q, &mut exprs, &mut out);
    // The walk keeps its own stacks: expressions and queries are as deep as the parser allows.
    loop {
        if let Some(e) = exprs.pop() {
            match e {
                Expr::Ident(n) => {
                    let col = n.rsplit_once('.').map_or(n.as_str(), |(_, c)| c);
                    out.push(col.to_string());
                    out.push(n.clone());
                }
                Expr::Func(c) => {
                    exprs.extend(c.args.iter());
                    exprs.extend(c.params.iter().flatten());
                    exprs.extend(c.over.iter().flat_map(|o| o.exprs()));
                }
                Expr::Interval(x, _) => exprs.push(x),
                Expr::Array(items) | Expr::Tuple(items) => exprs.extend(items.iter()),
                Expr::Subquery(sub, _) => queries.push(sub),
                Expr::Lit(_) | Expr::Star | Expr::QualifiedStar(_) => {}
            }
        } else if let Some(sub) = queries.pop() {
            own_exprs(sub, &mut exprs, &mut out);
            for w in &sub.with {
                if let With::Table(_, t) = w {
                    queries.push(t);
                }
            }
            queries.extend(sub.union.iter().map(|(_, u)| &**u));
            let mut froms = vec![sub.from.as_ref()];
            while let Some(Some(f)) = froms.pop() {
                match f {
                    From::Subquery(t, _) => queries.push(t),
                    From::Join(j) => {
                        froms.push(Some(&j.left));
                        froms.push(Some(&j.right));
                    }
                    From::Table(..) | From::Final(..) => {}
                }
            }
        } else {
            break;
        }
    }
    Some(out)
}

/// Pushes the expressions of `q`'s own clauses (not those of the queries in its `FROM`) and
/// the `USING` columns of its joins.
fn own_exprs<'q>(q: &'q Query, exprs: &mut Vec<&'q Expr>, names: &mut Vec<String>) {
    exprs.extend(q.select.iter().map(|i| &i.expr));
    for w in &q.with {
        if let With::Alias(_, e) = w {
            exprs.push(e);
        }
    }
    exprs.extend(
        q.array_join
            .iter()
            .flat_map(|a| a.items.iter().map(|i| &i.expr)),
    );
    exprs.extend(q.filter.iter());
    exprs.extend(q.group_by.iter());
    exprs.extend(q.having.iter());
    exprs.extend(q.order_by.iter().map(|o| &o.expr));
    exprs.extend(q.windows.iter().flat_map(|(_, w)| w.exprs()));
    if let Some(lb) = &q.limit_by {
        exprs.extend(lb.by.iter());
        exprs.push(&lb.limit);
        exprs.extend(lb.offset.iter());
    }
    exprs.extend(q.limit.iter());
    exprs.extend(q.offset.iter());
    let mut joins = vec![q.from.as_ref()];
    while let Some(Some(From::Join(j))) = joins.pop() {
        exprs.extend(j.on.iter());
        names.extend(j.using.iter().cloned());
        joins.push(Some(&j.left));
    }
}
