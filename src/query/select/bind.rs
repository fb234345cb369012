//! Binding: names resolved the way ClickHouse resolves them (aliases are visible everywhere in
//! the query and substituted once, `GROUP BY` keys are matched by expression), types checked,
//! functions and aggregates bound, constants folded.

use super::super::agg::{AggKind, AggSpec};
use super::super::ast::{Call, Expr, Lit, Over};
use super::super::eval::{eval_const, ArrayFn, BExpr, BKind, Lambda, LambdaOp, F};
use super::super::types::{common_type, DataType, Unit};
use super::super::{funcs, Value};
use super::run_select;
use super::scope::{Env, Scope};
use crate::error::{Error, Result};
use std::cell::RefCell;
use std::rc::Rc;

mod combine;
pub(super) use combine::{merge_type, refuse_state};

/// How many nodes an expression may have once its aliases are substituted: aliases that use
/// each other twice over (`a1 = a0 + a0`, `a2 = a1 + a1`, …) would otherwise double it per alias.
const MAX_EXPANDED_NODES: usize = 100_000;

/// How deep an expression may nest once its aliases are substituted.
const MAX_EXPANDED_DEPTH: usize = 256;

/// The running size of one alias substitution.
#[derive(Default)]
struct Expansion {
    nodes: usize,
    depth: usize,
}

/// How names bind.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Over source rows.
    Row,
    /// Over groups: keys and aggregates.
    Post,
    /// Constants only.
    Const,
}

/// Binds the expressions of one query: names against the query's source and aliases,
/// aggregates into slots after the `GROUP BY` keys.
pub(super) struct Binder<'q, 'e, 's, 'a> {
    /// What the query can see (scalar subqueries run in it).
    pub env: &'e Env<'a>,
    /// The query's `WITH` tables and its parents'.
    pub scope: &'e Scope<'s, 'a>,
    /// The source's columns, by slot.
    pub columns: Vec<(String, DataType)>,
    /// More names of the source's columns: `table.column` forms, with their slot.
    pub qualified: Vec<(String, usize)>,
    /// Whether an unknown `t.column` reads `column` (one table: its qualifier is not checked).
    pub strip: bool,
    /// Slots whose qualified names keep their qualifier in result column names.
    pub keep: Vec<usize>,
    /// Aliases from `WITH` and the select list, with their expressions.
    pub aliases: Vec<(String, &'q Expr)>,
    /// The `GROUP BY` keys, aliases substituted: slots `0..keys.len()` after grouping.
    pub keys: Vec<Expr>,
    /// The keys' types.
    pub key_types: Vec<DataType>,
    /// The aggregates bound so far: slots after the keys.
    pub aggs: Vec<(Expr, AggSpec)>,
    /// Where the expression being bound sits, for error messages.
    pub clause: &'static str,
    /// Aliases whose expression is a constant, folded once to a literal: a chain of aliases
    /// that use each other (`a1 = a0 + a0`, `a2 = a1 + a1`, …) is bound in linear time, as
    /// ClickHouse binds each alias once.
    pub folded: RefCell<Vec<(String, Expr)>>,
    /// The parameters of the lambdas being bound, innermost last.
    pub lambdas: Vec<Vec<(String, DataType)>>,
    /// The repetitions of rows bound so far (`ARRAY JOIN` then the `arrayJoin` calls), their
    /// elements read from the slots after the source's, in order; `None` where `arrayJoin` is
    /// not allowed (`JOIN ON`, constants).
    pub array_joins: Option<Vec<ArrayJoin>>,
    /// The names `ARRAY JOIN` gives its elements, with the slot each reads.
    pub array_join_names: Vec<(String, BExpr)>,
    /// The window functions bound so far, read from the placeholder slots
    /// [`super::window::WINDOW_SLOTS`] on; `None` where window functions are not allowed.
    pub windows: Option<Vec<(Expr, super::window::WindowSpec)>>,
    /// The query's `WINDOW` clause.
    pub named_windows: Vec<(String, Over)>,
}

/// One repetition of rows: an `arrayJoin(E)` call (`key`, one array) or an `ARRAY JOIN`
/// clause (its arrays zipped).
#[derive(Debug, Clone)]
pub(super) struct ArrayJoin {
    /// The `arrayJoin` call, aliases substituted; `None` for the clause.
    pub key: Option<Expr>,
    /// The arrays, over source rows and the slots of earlier repetitions.
    pub arrays: Vec<BExpr>,
    /// `LEFT ARRAY JOIN`: a row whose arrays are empty is kept once, with the defaults.
    pub left: bool,
}

/// Where the slots of lambda parameters start while a lambda body is bound: level `l`'s
/// parameter `j` is slot `LAMBDA_SLOTS + l * MAX_LAMBDA_PARAMS + j` until the body is remapped.
pub(super) const LAMBDA_SLOTS: usize = usize::MAX / 2;

/// The most parameters a lambda may have.
const MAX_LAMBDA_PARAMS: usize = 64;

/// The most lambdas that may nest inside each other.
const MAX_LAMBDA_NESTING: usize = 16;

/// A lambda body bound with parameter slots of `level`, remapped to run on its own batch:
/// its parameters first, then each outer slot it reads (recorded in `captured`).
fn remap_lambda(e: &mut BExpr, level: usize, captured: &mut Vec<BExpr>, params: usize) {
    match &mut e.kind {
        BKind::Slot(s) => {
            let own = LAMBDA_SLOTS + level * MAX_LAMBDA_PARAMS;
            if (own..own + MAX_LAMBDA_PARAMS).contains(s) {
                *s -= own;
                return;
            }
            let outer = BExpr {
                kind: BKind::Slot(*s),
                ty: e.ty.clone(),
            };
            let k = match captured
                .iter()
                .position(|c| matches!(c.kind, BKind::Slot(x) if x == *s))
            {
                Some(k) => k,
                None => {
                    captured.push(outer);
                    captured.len() - 1
                }
            };
            *s = params + k;
        }
        BKind::Call(c) => {
            for a in &mut c.args {
                remap_lambda(a, level, captured, params);
            }
        }
        BKind::Const(_) => {}
    }
}

pub(super) fn contains_aggregate(e: &Expr) -> bool {
    match e {
        // A window function is not an aggregate, but its arguments and window may hold some.
        Expr::Func(c) => {
            (c.over.is_none() && funcs::aggregate(&c.name).is_some())
                || c.args.iter().any(contains_aggregate)
                || c.over
                    .iter()
                    .flat_map(|o| o.exprs())
                    .any(contains_aggregate)
        }
        Expr::Interval(x, _) => contains_aggregate(x),
        Expr::Array(items) | Expr::Tuple(items) => items.iter().any(contains_aggregate),
        _ => false,
    }
}

impl<'q, 'e, 's, 'a> Binder<'q, 'e, 's, 'a> {
    /// The parameters of an aggregate call (`quantile(0.9)(x)`), each bound as a constant.
    pub(super) fn aggregate_params(&mut self, c: &Call) -> Result<Vec<Value>> {
        let mut params = Vec::new();
        for p in c.params.iter().flatten() {
            let b = self.bind(p, Mode::Const)?;
            params.push(b.as_const().cloned().ok_or_else(|| {
                Error::query(format!("{}: parameters must be constants", c.name))
            })?);
        }
        Ok(params)
    }

    /// A binder over `columns` (with more names for them in `qualified`) in `clause`, with no
    /// aliases, keys or aggregates yet.
    pub(super) fn over(
        env: &'e Env<'a>,
        scope: &'e Scope<'s, 'a>,
        columns: Vec<(String, DataType)>,
        qualified: Vec<(String, usize)>,
        clause: &'static str,
    ) -> Self {
        Binder {
            env,
            scope,
            columns,
            qualified,
            strip: false,
            keep: Vec::new(),
            aliases: Vec::new(),
            keys: Vec::new(),
            key_types: Vec::new(),
            aggs: Vec::new(),
            clause,
            folded: RefCell::new(Vec::new()),
            lambdas: Vec::new(),
            array_joins: None,
            array_join_names: Vec::new(),
            windows: None,
            named_windows: Vec::new(),
        }
    }

    /// Replaces alias names by their expressions (an alias is not expanded inside itself).
    pub(super) fn expand(&self, e: &Expr, stack: &mut Vec<String>) -> Result<Expr> {
        self.expand_within(e, stack, &mut Expansion::default())
    }

    fn expand_within(&self, e: &Expr, stack: &mut Vec<String>, x: &mut Expansion) -> Result<Expr> {
        x.nodes += 1;
        if x.nodes > MAX_EXPANDED_NODES || x.depth > MAX_EXPANDED_DEPTH {
            return Err(Error::query(format!(
                "an expression is too large once its aliases are substituted (more than \
                 {MAX_EXPANDED_NODES} nodes or {MAX_EXPANDED_DEPTH} levels)"
            )));
        }
        x.depth += 1;
        let r = self.expand_node(e, stack, x);
        x.depth -= 1;
        r
    }

    fn expand_node(&self, e: &Expr, stack: &mut Vec<String>, x: &mut Expansion) -> Result<Expr> {
        let all = |items: &[Expr], stack: &mut Vec<String>, x: &mut Expansion| {
            items
                .iter()
                .map(|i| self.expand_within(i, stack, x))
                .collect::<Result<Vec<_>>>()
        };
        Ok(match e {
            Expr::Ident(n) => {
                if let Some((_, a)) = self.aliases.iter().find(|(name, _)| name == n) {
                    if !stack.contains(n) {
                        if let Some((_, lit)) =
                            self.folded.borrow().iter().find(|(name, _)| name == n)
                        {
                            return Ok(lit.clone());
                        }
                        stack.push(n.clone());
                        let r = self.expand_within(a, stack, x);
                        stack.pop();
                        let r = r?;
                        return Ok(match self.fold_alias(&r) {
                            Some(lit) => {
                                self.folded.borrow_mut().push((n.clone(), lit.clone()));
                                lit
                            }
                            None => r,
                        });
                    }
                }
                // A qualified name reads the column its plain name reads, unless the plain name
                // reads another column (`t.a` of a `RIGHT` or `FULL` join `USING a`).
                match self.column(n) {
                    Some(i) if self.plain_reads(i) => Expr::Ident(self.columns[i].0.clone()),
                    Some(_) => Expr::Ident(n.clone()),
                    None => match self.scope.outer_alias(n) {
                        // An enclosing query's `WITH` alias, where no column has the name.
                        Some(a) if !stack.contains(n) && self.array_join_name(n).is_none() => {
                            stack.push(n.clone());
                            let r = self.expand_within(a, stack, x);
                            stack.pop();
                            r?
                        }
                        _ => Expr::Ident(n.clone()),
                    },
                }
            }
            // A lambda's parameters are not aliases, and in its body they hide the aliases of
            // their names (`SELECT 5 AS x, arrayMap(x -> x + 1, a)`), as in ClickHouse.
            Expr::Func(c) if c.name == "lambda" => {
                let (Some(Expr::Func(t)), Some(body)) = (c.args.first(), c.args.get(1)) else {
                    return Ok(e.clone());
                };
                let names = t.args.iter().filter_map(|p| match p {
                    Expr::Ident(p) => Some(p.clone()),
                    _ => None,
                });
                let depth = stack.len();
                stack.extend(names);
                let body = self.expand_within(body, stack, x);
                stack.truncate(depth);
                Expr::Func(Box::new(Call {
                    name: c.name.clone(),
                    params: c.params.clone(),
                    args: vec![c.args[0].clone(), body?],
                    over: None,
                }))
            }
            // Function names as ClickHouse resolves them (`LENGTH` is `length`), so that an
            // expression matches a `GROUP BY` key or an aggregate however it is spelled.
            Expr::Func(c) => Expr::Func(Box::new(Call {
                name: funcs::canonical(&c.name),
                params: match &c.params {
                    Some(p) => Some(all(p, stack, x)?),
                    None => None,
                },
                args: all(&c.args, stack, x)?,
                over: match &c.over {
                    Some(o) => Some(Box::new(o.map(|e| self.expand_within(e, stack, x))?)),
                    None => None,
                },
            })),
            Expr::Interval(inner, u) => {
                Expr::Interval(Box::new(self.expand_within(inner, stack, x)?), *u)
            }
            Expr::Array(items) => Expr::Array(all(items, stack, x)?),
            Expr::Tuple(items) => Expr::Tuple(all(items, stack, x)?),
            other => other.clone(),
        })
    }

    /// The slot of the column `n` names: a column's name, a qualified name, or with one table,
    /// a name whose qualifier is dropped.
    pub(super) fn column(&self, n: &str) -> Option<usize> {
        if let Some(i) = self.columns.iter().position(|(c, _)| c == n) {
            return Some(i);
        }
        if let Some((_, i)) = self.qualified.iter().find(|(c, _)| c == n) {
            return Some(*i);
        }
        if self.strip {
            let (_, col) = n.split_once('.')?;
            return self.columns.iter().position(|(c, _)| c == col);
        }
        None
    }

    /// Whether the name of column `i` reads column `i` itself.
    fn plain_reads(&self, i: usize) -> bool {
        self.column(&self.columns[i].0) == Some(i)
    }

    /// `e` with each name of a column that is not an alias written as the column's own name
    /// (`t.a` as `a`), as ClickHouse names result columns. The parser bounds the depth.
    pub(super) fn column_names(&self, e: &Expr) -> Expr {
        match e {
            Expr::Ident(n) if !self.aliases.iter().any(|(a, _)| a == n) => match self.column(n) {
                Some(i) if self.keep.contains(&i) && n.contains('.') => e.clone(),
                Some(i) => Expr::Ident(self.columns[i].0.clone()),
                None => e.clone(),
            },
            Expr::Func(c) => Expr::Func(Box::new(Call {
                name: c.name.clone(),
                params: c
                    .params
                    .as_ref()
                    .map(|p| p.iter().map(|x| self.column_names(x)).collect()),
                args: c.args.iter().map(|x| self.column_names(x)).collect(),
                over: c.over.as_ref().map(|o| {
                    Box::new(
                        o.map(|x| Ok::<_, ()>(self.column_names(x)))
                            .unwrap_or_else(|_| (**o).clone()),
                    )
                }),
            })),
            Expr::Interval(x, u) => Expr::Interval(Box::new(self.column_names(x)), *u),
            Expr::Array(items) => Expr::Array(items.iter().map(|x| self.column_names(x)).collect()),
            Expr::Tuple(items) => Expr::Tuple(items.iter().map(|x| self.column_names(x)).collect()),
            _ => e.clone(),
        }
    }

    /// The literal an alias's expanded expression folds to, when it reads no column, no
    /// aggregate and no subquery (`None` otherwise, or when folding fails: the error then
    /// comes where the expression is bound).
    fn fold_alias(&self, e: &Expr) -> Option<Expr> {
        if !is_constant_expr(e) || matches!(e, Expr::Lit(_)) {
            return None;
        }
        let mut b = Binder::over(self.env, self.scope, Vec::new(), Vec::new(), "WITH");
        let bound = b.bind(e, Mode::Const).ok()?;
        let value = bound.as_const()?.clone();
        Some(Expr::Lit(Lit {
            value,
            ty: bound.ty,
            typed: false,
        }))
    }

    pub(super) fn full(&self, e: &Expr) -> Result<Expr> {
        self.expand(e, &mut Vec::new())
    }

    pub(super) fn bind(&mut self, e: &Expr, mode: Mode) -> Result<BExpr> {
        if mode == Mode::Post {
            if let Some(k) = self.keys.iter().position(|k| k == e) {
                return Ok(BExpr {
                    kind: BKind::Slot(k),
                    ty: self.key_types[k].clone(),
                });
            }
        }
        match e {
            Expr::Lit(l) => Ok(BExpr::constant(l.value.clone(), l.ty.clone())),
            Expr::Ident(n) if self.lambda_param(n).is_some() => self
                .lambda_param(n)
                .ok_or_else(|| Error::query("internal: lambda parameter")),
            Expr::Ident(n) if mode == Mode::Row && self.array_join_name(n).is_some() => self
                .array_join_name(n)
                .ok_or_else(|| Error::query("internal: ARRAY JOIN name")),
            Expr::Ident(n) => match mode {
                Mode::Row => match self.column(n) {
                    Some(i) => Ok(BExpr {
                        kind: BKind::Slot(i),
                        ty: self.columns[i].1.clone(),
                    }),
                    None => Err(Error::query(format!(
                        "unknown column '{n}' (columns: {})",
                        self.columns
                            .iter()
                            .map(|(c, _)| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                },
                Mode::Post => {
                    if self.column(n).is_some() || self.array_join_name(n).is_some() {
                        Err(Error::query(format!(
                            "column '{n}' is not under an aggregate function and not in GROUP BY"
                        )))
                    } else {
                        Err(Error::query(format!("unknown column '{n}'")))
                    }
                }
                Mode::Const => Err(Error::query(format!(
                    "{} must be a constant, but it reads column '{n}'",
                    self.clause
                ))),
            },
            Expr::Star | Expr::QualifiedStar(_) => Err(Error::query(
                "'*' is only allowed in the select list and count(*)",
            )),
            Expr::Interval(x, u) => {
                let n = self.bind(x, mode)?;
                let Some(v) = n.as_const().cloned() else {
                    // A count per row (`t + INTERVAL number MINUTE`, `addMinutes(t, n)`): its
                    // integers, typed as the interval.
                    if !n.ty.base().is_int() {
                        return Err(Error::unsupported(format!("INTERVAL of a {} count", n.ty)));
                    }
                    let nullable = n.ty.is_nullable();
                    let mut k = funcs::bind("toInt64", vec![n], self.env.now)?;
                    k.ty = DataType::Interval(*u).nullable_if(nullable);
                    return Ok(k);
                };
                let k = match v {
                    Value::UInt(u) => i64::try_from(u).unwrap_or(i64::MAX),
                    Value::Int(i) => i,
                    _ => return Err(Error::query("INTERVAL needs an integer")),
                };
                if k.unsigned_abs() > 1_000_000_000 {
                    return Err(Error::query(format!("INTERVAL {k} is too large")));
                }
                Ok(BExpr::constant(Value::Int(k), DataType::Interval(*u)))
            }
            Expr::Subquery(q, _) => {
                let cached = self
                    .env
                    .scalars
                    .borrow()
                    .iter()
                    .find(|(k, _, _)| Rc::ptr_eq(k, q))
                    .map(|(_, v, t)| BExpr::constant(v.clone(), t.clone()));
                if let Some(c) = cached {
                    return Ok(c);
                }
                let t = run_select(q, self.env, self.scope)?;
                if t.cols.len() != 1 {
                    return Err(Error::unsupported(
                        "scalar subqueries returning several columns (tuples)",
                    ));
                }
                if t.rows > 1 {
                    return Err(Error::query("scalar subquery returned more than one row"));
                }
                let ty = t.types[0].clone();
                let v = if t.rows == 0 {
                    Value::Null
                } else {
                    t.cols[0].value_at(0, &ty)
                };
                let ty = ty.nullable_if(true);
                self.env
                    .scalars
                    .borrow_mut()
                    .push((q.clone(), v.clone(), ty.clone()));
                Ok(BExpr::constant(v, ty))
            }
            Expr::Array(items) => {
                let mut values = Vec::new();
                let mut types = Vec::new();
                for x in items {
                    types.push(self.bind(x, mode)?);
                }
                if types.iter().any(|b| b.as_const().is_none()) {
                    return fold(funcs::bind("array", types, self.env.now)?);
                }
                let types: Vec<DataType> = types
                    .into_iter()
                    .map(|b| {
                        values.push(b.as_const().cloned().unwrap_or(Value::Null));
                        b.ty
                    })
                    .collect();
                let refs: Vec<&DataType> = types.iter().collect();
                let elem = if refs.is_empty() {
                    DataType::Nothing
                } else {
                    common_type(&refs)
                        .ok_or_else(|| Error::query("array elements have no common type"))?
                };
                let values = values
                    .into_iter()
                    .map(|v| super::super::eval::conform(v, &elem))
                    .collect();
                Ok(BExpr::constant(
                    Value::Array(values),
                    DataType::Array(Box::new(elem)),
                ))
            }
            Expr::Tuple(_) => Err(Error::unsupported("tuples (outside IN lists)")),
            Expr::Func(c) => self.bind_call(e, c, mode),
        }
    }

    /// `tupleElement(t, n[, default])` and `t.n` of a tuple written out (`(a, b)`,
    /// `tuple(a, b)`, or an alias of one): element `n`, 1-based, negative from the end; out of
    /// range, the default, else an error as in ClickHouse. Tuple values are outside the subset.
    fn bind_tuple_element(&mut self, c: &Call, mode: Mode) -> Result<BExpr> {
        if !(2..=3).contains(&c.args.len()) {
            return Err(Error::query(format!(
                "tupleElement() takes 2 or 3 arguments, got {}",
                c.args.len()
            )));
        }
        let items = tuple_items(self.full(&c.args[0])?).ok_or_else(|| {
            Error::unsupported(
                "tuple element access but of a tuple written out ((a, b).1, tuple(a, b).1)",
            )
        })?;
        let index = self.bind(&c.args[1], mode)?;
        let k = match index.as_const() {
            Some(Value::UInt(u)) => i64::try_from(*u).unwrap_or(i64::MAX),
            Some(Value::Int(i)) => *i,
            Some(Value::Str(_)) => {
                return Err(Error::unsupported("tuple element access by name"));
            }
            _ => {
                return Err(Error::query(
                    "tupleElement() needs a constant integer index",
                ))
            }
        };
        let len = items.len() as i64;
        let at = match k {
            k if k > 0 && k <= len => Some(k - 1),
            k if k < 0 && k >= -len => Some(len + k),
            _ => None,
        };
        match (at, c.args.get(2)) {
            (Some(i), _) => self.bind(&items[i as usize], mode),
            (None, Some(d)) => self.bind(d, mode),
            (None, None) => Err(Error::query(format!(
                "tuple doesn't have element with index '{k}' (ARGUMENT_OUT_OF_BOUND)"
            ))),
        }
    }

    /// `dateTrunc(unit, t[, 'UTC'])`: the `toStartOf…` function of the unit, typed as
    /// ClickHouse types it (`DateTime` up to a day, `Date` from a week; hours and less of a
    /// `Date` refused).
    fn bind_date_trunc(&mut self, c: &Call, mode: Mode) -> Result<BExpr> {
        if !(2..=3).contains(&c.args.len()) {
            return Err(Error::query(
                "dateTrunc takes a unit, a time and a time zone",
            ));
        }
        let unit = match &c.args[0] {
            Expr::Lit(l) => match &l.value {
                Value::Str(u) => Unit::parse(u).filter(|_| !u.ends_with(['s', 'S'])),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| Error::query("dateTrunc needs a constant unit: 'second' … 'year'"))?;
        if let Some(z) = c.args.get(2) {
            let zone = self.bind(z, Mode::Const)?;
            if !matches!(zone.as_const(), Some(Value::Str(z)) if z == "UTC") {
                return Err(Error::unsupported(
                    "function dateTrunc with a time zone other than 'UTC'",
                ));
            }
        }
        let t = self.bind(&c.args[1], mode)?;
        let illegal = |t: &BExpr| {
            Error::query(format!(
                "illegal type {} of argument of function dateTrunc",
                t.ty
            ))
        };
        match t.ty.base() {
            DataType::Date | DataType::DateTime => {}
            DataType::DateTime64 => {
                return Err(Error::unsupported("function dateTrunc of a DateTime64"))
            }
            _ => return Err(illegal(&t)),
        }
        let date = *t.ty.base() == DataType::Date;
        let f = match unit {
            Unit::Second | Unit::Minute | Unit::Hour if date => return Err(illegal(&t)),
            Unit::Second => return Ok(t),
            Unit::Minute => "toStartOfMinute",
            Unit::Hour => "toStartOfHour",
            Unit::Day if date => "toDateTime",
            Unit::Day => "toStartOfDay",
            Unit::Week => "toMonday",
            Unit::Month => "toStartOfMonth",
            Unit::Quarter => "toStartOfQuarter",
            Unit::Year => "toStartOfYear",
        };
        funcs::bind(f, vec![t], self.env.now)
    }

    fn bind_call(&mut self, whole: &Expr, c: &Call, mode: Mode) -> Result<BExpr> {
        if let Some(over) = &c.over {
            return self.bind_window(whole, c, over, mode);
        }
        let name = funcs::canonical(&c.name);
        if let Some((base, is_if)) = funcs::aggregate(&name) {
            if mode != Mode::Post {
                return Err(Error::query(format!(
                    "aggregate function {} is not allowed in {}",
                    c.name, self.clause
                )));
            }
            // Window functions run after aggregation: none inside an aggregate.
            let windows = self.windows.take();
            let r = self.bind_aggregate(whole, c, base, is_if);
            self.windows = windows;
            return r;
        }
        if name == "toTypeName" && c.params.is_none() && c.args.len() == 1 {
            return self.bind_type_name(&c.args[0], mode);
        }
        // An aggregate outside the subset is named as such before its arguments are read (which
        // would complain of columns not under an aggregate).
        if funcs::unsupported_aggregate(&name)
            || name
                .strip_suffix("If")
                .is_some_and(funcs::unsupported_aggregate)
        {
            return Err(funcs::unknown_function(
                name.strip_suffix("If").unwrap_or(&name),
            ));
        }
        if c.params.is_some() {
            return Err(Error::query(format!("{} takes no parameters", c.name)));
        }
        // `addDays(t, n)` and `subtractDays(t, n)` and their kin are `t ± INTERVAL n DAY`,
        // under their own names.
        let mut args = c.args.clone();
        if let Some(e) = super::super::parser::date_arithmetic(&c.name, &mut args) {
            return self.bind(&e, mode);
        }
        // `toIntervalDay(n)` is `INTERVAL n DAY`.
        if let Some(unit) = name
            .strip_prefix("toInterval")
            .and_then(|u| Unit::parse(u).filter(|p| p.name() == u))
        {
            let [n] = c.args.as_slice() else {
                return Err(Error::query(format!("{name} takes one argument")));
            };
            return self.bind(&Expr::Interval(Box::new(n.clone()), unit), mode);
        }
        if name == "dateTrunc" {
            return self.bind_date_trunc(c, mode);
        }
        if name == "in" || name == "notIn" || name == "globalIn" || name == "globalNotIn" {
            if c.args.len() != 2 {
                return Err(Error::query("IN needs a left and a right side"));
            }
            let left = self.bind(&c.args[0], mode)?;
            let values = self.in_values(&c.args[1], mode)?;
            let set = funcs::in_set(&left.ty, &values)?;
            let nullable = left.ty.is_nullable();
            let mut ty = DataType::UInt8.nullable_if(nullable);
            if left.ty.is_low_cardinality() && left.as_const().is_none() {
                ty = ty.low_cardinality();
            }
            let e = BExpr::call(F::In(Box::new(set), name.ends_with("otIn")), vec![left], ty);
            return fold(e);
        }
        if name == "countDistinct" {
            return Err(Error::query("count(DISTINCT …) is an aggregate"));
        }
        if name == "arrayJoin" {
            return self.bind_array_join(whole, c, mode);
        }
        if name == "tupleElement" {
            return self.bind_tuple_element(c, mode);
        }
        if let Some(op) = super::super::eval::lambda_op(&name) {
            if let Some(Expr::Func(l)) = c.args.first() {
                if l.name == "lambda" {
                    return self.bind_lambda(&name, op, c, mode);
                }
            }
        }
        if name == "lambda" {
            return Err(Error::query(
                "a lambda (x -> …) is only allowed as the first argument of arrayMap, \
                 arrayFilter, …",
            ));
        }
        let mut args = Vec::with_capacity(c.args.len());
        for a in &c.args {
            let b = self.bind(a, mode)?;
            if name != "if" && name != "multiIf" {
                refuse_state(&b, "an argument of ", &c.name)?;
            }
            args.push(b);
        }
        fold(funcs::bind(&name, args, self.env.now)?)
    }

    /// `arrayJoin(E)` over source rows: the slot its elements are read from, one row per
    /// element (the scan repeats each row once per element of `E`). The same call shares one
    /// slot; different calls multiply the rows, in the order they are bound.
    fn bind_array_join(&mut self, whole: &Expr, c: &Call, mode: Mode) -> Result<BExpr> {
        let mut slot = self.columns.len();
        for j in self.array_joins.iter().flatten() {
            if j.key.as_ref() == Some(whole) && mode == Mode::Row && self.lambdas.is_empty() {
                return Ok(BExpr {
                    kind: BKind::Slot(slot),
                    ty: element_type(&j.arrays[0].ty),
                });
            }
            slot += j.arrays.len();
        }
        match mode {
            Mode::Row if self.lambdas.is_empty() && self.array_joins.is_some() => {}
            Mode::Post => {
                return Err(Error::unsupported(
                    "arrayJoin after GROUP BY or over aggregates (arrayJoin(groupArray(x)))",
                ))
            }
            _ => {
                return Err(Error::unsupported(format!(
                    "arrayJoin in {} (it is allowed in the select list, WHERE, GROUP BY, \
                     ORDER BY and aggregate arguments)",
                    if self.lambdas.is_empty() {
                        self.clause
                    } else {
                        "a lambda"
                    }
                )))
            }
        }
        if c.args.len() != 1 {
            return Err(Error::query(format!(
                "NUMBER_OF_ARGUMENTS_DOESNT_MATCH: arrayJoin takes 1 argument, got {}",
                c.args.len()
            )));
        }
        let arg = self.bind(&c.args[0], mode)?;
        refuse_state(&arg, "an argument of ", "arrayJoin")?;
        let elem = match arg.ty.base() {
            DataType::Array(e) => (**e).clone(),
            DataType::Map(..) => return Err(Error::unsupported("arrayJoin of a map")),
            t => {
                return Err(Error::query(format!(
                    "ILLEGAL_TYPE_OF_ARGUMENT: Argument for function arrayJoin must be Array, \
                     not {t}"
                )))
            }
        };
        if elem == DataType::Nothing {
            return Err(Error::query(
                "ILLEGAL_TYPE_OF_ARGUMENT: arrayJoin of an array of Nothing ([]) has no type",
            ));
        }
        let slot = self.array_join_slots();
        self.array_joins
            .as_mut()
            .ok_or_else(|| Error::query("internal: arrayJoin"))?
            .push(ArrayJoin {
                key: Some(whole.clone()),
                arrays: vec![arg],
                left: false,
            });
        Ok(BExpr {
            kind: BKind::Slot(slot),
            ty: elem,
        })
    }

    /// The slot the next repetition's first elements go to.
    fn array_join_slots(&self) -> usize {
        self.columns.len()
            + self
                .array_joins
                .iter()
                .flatten()
                .map(|j| j.arrays.len())
                .sum::<usize>()
    }

    /// `[LEFT] ARRAY JOIN a [AS x], …` over source rows: the arrays bound, their elements named
    /// by their aliases (or, for a name without one, by that name), ahead of any `arrayJoin`.
    pub(super) fn bind_array_join_clause(
        &mut self,
        clause: &super::super::ast::ArrayJoinClause,
    ) -> Result<()> {
        self.clause = "ARRAY JOIN";
        let mut arrays = Vec::new();
        let mut names = Vec::new();
        let slot = self.array_join_slots();
        for item in &clause.items {
            let e = self.full(&item.expr)?;
            let a = self.bind(&e, Mode::Row)?;
            let elem = match a.ty.base() {
                DataType::Array(e) => (**e).clone(),
                DataType::Map(..) => return Err(Error::unsupported("ARRAY JOIN of a map")),
                t => {
                    return Err(Error::query(format!(
                        "TYPE_MISMATCH: ARRAY JOIN requires an array argument, not {t}"
                    )))
                }
            };
            if elem == DataType::Nothing {
                return Err(Error::query(
                    "ILLEGAL_TYPE_OF_ARGUMENT: ARRAY JOIN of an array of Nothing ([]) has no type",
                ));
            }
            let name = match (&item.alias, &item.expr) {
                (Some(a), _) => Some(a.clone()),
                (None, Expr::Ident(n)) => Some(n.clone()),
                _ => None,
            };
            if let Some(n) = name {
                names.push((
                    n,
                    BExpr {
                        kind: BKind::Slot(slot + arrays.len()),
                        ty: elem,
                    },
                ));
            }
            arrays.push(a);
        }
        self.array_joins
            .as_mut()
            .ok_or_else(|| Error::query("internal: ARRAY JOIN"))?
            .push(ArrayJoin {
                key: None,
                arrays,
                left: clause.left,
            });
        self.array_join_names.extend(names);
        Ok(())
    }

    /// The element `ARRAY JOIN` names `n`.
    fn array_join_name(&self, n: &str) -> Option<BExpr> {
        self.array_join_names
            .iter()
            .find(|(x, _)| x == n)
            .map(|(_, e)| e.clone())
    }

    /// The bound lambda parameter `n`, innermost lambda first.
    fn lambda_param(&self, n: &str) -> Option<BExpr> {
        for (level, params) in self.lambdas.iter().enumerate().rev() {
            if let Some(j) = params.iter().position(|(p, _)| p == n) {
                return Some(BExpr {
                    kind: BKind::Slot(LAMBDA_SLOTS + level * MAX_LAMBDA_PARAMS + j),
                    ty: params[j].1.clone(),
                });
            }
        }
        None
    }

    /// Fails when an argument of the aggregate `c` reads a parameter of a lambda around it
    /// (`arrayMap(x -> sum(x), a)`): an aggregate runs over the table's rows, before any
    /// lambda has elements to give.
    pub(super) fn refuse_lambda_params(&self, c: &Call) -> Result<()> {
        if self.lambdas.is_empty() {
            return Ok(());
        }
        fn find<'e>(e: &'e Expr, params: &[&str]) -> Option<&'e str> {
            match e {
                Expr::Ident(n) if params.contains(&n.as_str()) => Some(n),
                // A lambda inside the aggregate hides the names of its own parameters.
                Expr::Func(c) if c.name == "lambda" => {
                    let own: Vec<&str> = match c.args.first() {
                        Some(Expr::Func(t)) => t
                            .args
                            .iter()
                            .filter_map(|p| match p {
                                Expr::Ident(p) => Some(p.as_str()),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    let outer: Vec<&str> = params
                        .iter()
                        .copied()
                        .filter(|p| !own.contains(p))
                        .collect();
                    c.args.get(1).and_then(|body| find(body, &outer))
                }
                Expr::Func(c) => c
                    .args
                    .iter()
                    .chain(c.params.iter().flatten())
                    .find_map(|a| find(a, params)),
                Expr::Interval(x, _) => find(x, params),
                Expr::Array(items) | Expr::Tuple(items) => {
                    items.iter().find_map(|a| find(a, params))
                }
                _ => None,
            }
        }
        let params: Vec<&str> = self
            .lambdas
            .iter()
            .flatten()
            .map(|(p, _)| p.as_str())
            .collect();
        match c.args.iter().find_map(|a| find(a, &params)) {
            Some(p) => Err(Error::query(format!(
                "the aggregate function {} inside a lambda reads the lambda's parameter {p}: \
                 an aggregate reads the table's rows, not a lambda's elements (aggregate the \
                 lambda's result instead, or use arraySum, arrayMax, … on the array)",
                c.name
            ))),
            None => Ok(()),
        }
    }

    /// `f(x -> body, a, …)`: the arrays bound, then the body with `x` the arrays' elements.
    fn bind_lambda(&mut self, name: &str, op: LambdaOp, c: &Call, mode: Mode) -> Result<BExpr> {
        let (params, body) = match c.args.first() {
            Some(Expr::Func(l)) => match (l.args.first(), l.args.get(1)) {
                (Some(Expr::Func(t)), Some(body)) if l.args.len() == 2 => {
                    let mut names = Vec::new();
                    for p in &t.args {
                        match p {
                            Expr::Ident(p) => names.push(p.clone()),
                            _ => return Err(Error::query("a lambda's parameters must be names")),
                        }
                    }
                    (names, body)
                }
                _ => return Err(Error::query("a lambda needs parameters and a body")),
            },
            _ => return Err(Error::query("internal: lambda expected")),
        };
        if params.len() > MAX_LAMBDA_PARAMS || self.lambdas.len() >= MAX_LAMBDA_NESTING {
            return Err(Error::query(format!(
                "lambdas nest too deeply or take too many parameters (at most \
                 {MAX_LAMBDA_NESTING} levels of {MAX_LAMBDA_PARAMS})"
            )));
        }
        let mut arrays = Vec::new();
        for a in &c.args[1..] {
            arrays.push(self.bind(a, mode)?);
        }
        if arrays.len() != params.len() {
            return Err(Error::query(format!(
                "{name}: the lambda takes {} parameters but {} arrays are given",
                params.len(),
                arrays.len()
            )));
        }
        let mut typed = Vec::new();
        for (p, a) in params.iter().zip(&arrays) {
            match &a.ty {
                DataType::Array(e) => typed.push((p.clone(), (**e).clone())),
                t => {
                    return Err(Error::query(format!(
                        "{name}: argument {t} is not an array"
                    )))
                }
            }
        }
        let level = self.lambdas.len();
        self.lambdas.push(typed);
        let bound = self.bind(body, mode);
        self.lambdas.pop();
        let mut body = bound?;
        let mut captured = Vec::new();
        remap_lambda(&mut body, level, &mut captured, params.len());
        let ty = super::super::eval::lambda_type(name, op, &arrays, &body.ty)?;
        let mut args = arrays;
        args.extend(captured);
        let f = ArrayFn::Lambda(
            op,
            Box::new(Lambda {
                body,
                params: params.len(),
            }),
        );
        fold(BExpr::call(F::Array(Box::new(f)), args, ty))
    }

    /// The constant values on the right of `IN`.
    fn in_values(&mut self, e: &Expr, mode: Mode) -> Result<Vec<(Value, DataType)>> {
        match e {
            // An array written out converts its elements to the left side's type one by one,
            // as a tuple's: `x IN [-1, 18446744073709551615]` needs no common element type.
            Expr::Tuple(items) | Expr::Array(items) => {
                let mut out = Vec::new();
                for x in items {
                    let b = self.bind(x, mode)?;
                    let v = b
                        .as_const()
                        .cloned()
                        .ok_or_else(|| Error::unsupported("IN with non-constant values"))?;
                    out.push((v, b.ty));
                }
                Ok(out)
            }
            Expr::Subquery(q, _) => {
                let t = run_select(q, self.env, self.scope)?;
                if t.cols.len() != 1 {
                    return Err(Error::unsupported("IN with a subquery of several columns"));
                }
                let ty = t.types[0].clone();
                Ok((0..t.rows)
                    .map(|i| (t.cols[0].value_at(i, &ty), ty.clone()))
                    .collect())
            }
            other => {
                let b = self.bind(other, mode)?;
                match (b.as_const(), &b.ty) {
                    (Some(Value::Array(items)), DataType::Array(elem)) => Ok(items
                        .iter()
                        .map(|v| (v.clone(), (**elem).clone()))
                        .collect()),
                    (Some(v), t) => Ok(vec![(v.clone(), t.clone())]),
                    (None, _) => Err(Error::unsupported("IN with a non-constant right side")),
                }
            }
        }
    }

    fn bind_aggregate(&mut self, whole: &Expr, c: &Call, base: &str, is_if: bool) -> Result<BExpr> {
        if let Some((comb, inner, state_if)) =
            super::super::state::split_combinator(&funcs::canonical(&c.name))
        {
            return self.bind_combinator(whole, c, comb, &inner, state_if);
        }
        let fold = |e: &Expr| {
            self.fold_alias(e).and_then(|l| match l {
                Expr::Lit(l) => Some(l.value),
                _ => None,
            })
        };
        if let Some(moved) = arithmetic_out_of_extreme(c, base, is_if, &fold) {
            return self.bind(&moved, Mode::Post);
        }
        let nkeys = self.keys.len();
        if let Some(i) = self.aggs.iter().position(|(x, _)| x == whole) {
            return Ok(BExpr {
                kind: BKind::Slot(nkeys + i),
                ty: self.aggs[i].1.ty.clone(),
            });
        }
        let params = self.aggregate_params(c)?;
        self.refuse_lambda_params(c)?;
        let mut arg_exprs: Vec<&Expr> = c.args.iter().collect();
        let mut kind = funcs::aggregate_kind(base, &params)?;
        let saved = self.clause;
        self.clause = "aggregate function arguments (nested aggregates)";
        let cond_expr = if is_if {
            arg_exprs.last().copied()
        } else {
            None
        };
        let cond = if is_if {
            let last = arg_exprs
                .pop()
                .ok_or_else(|| Error::query(format!("{} needs a condition", c.name)))?;
            let b = self.bind(last, Mode::Row)?;
            if !super::super::funcs::is_uint8_condition(&b.ty) {
                return Err(super::super::funcs::illegal_condition(&c.name, &b.ty));
            }
            Some(b)
        } else {
            None
        };
        let mut args = Vec::new();
        for a in &arg_exprs {
            args.push(self.bind(a, Mode::Row)?);
        }
        self.clause = saved;
        kind.check_arity(&c.name, args.len())?;
        if kind == AggKind::Count {
            // count(x) of a column that is never NULL counts rows.
            if args.first().is_some_and(|a| !a.ty.is_nullable()) {
                args.clear();
            }
        }
        for (i, a) in args.iter().enumerate() {
            refuse_state(a, "an argument of ", &c.name)?;
            // argMin/argMax keep their first argument as it is: only the key is compared.
            let kept = i == 0 && matches!(kind, AggKind::ArgMin | AggKind::ArgMax);
            if matches!(a.ty.base(), DataType::Array(_) | DataType::Map(..))
                && !kept
                && !matches!(kind, AggKind::Any | AggKind::GroupArray(..))
            {
                return Err(Error::unsupported(format!("{} of arrays or maps", c.name)));
            }
        }
        // An aggregate of a `NULL` literal (`Nullable(Nothing)`) is `NULL`, as in ClickHouse
        // (`sum(NULL)`, `avg(NULL)`, `groupArray(NULL)`, …); `count` and `uniq` count nothing.
        let only_null = |t: &DataType| t.is_nullable() && *t.base() == DataType::Nothing;
        if !matches!(kind, AggKind::Count | AggKind::Uniq) {
            if let Some(i) = args.iter().position(|a| only_null(&a.ty)) {
                kind = AggKind::Any;
                args = vec![args.swap_remove(i)];
            }
        }
        let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
        // Aggregates of low-cardinality values are not low-cardinality in ClickHouse.
        let ty = super::super::agg::result_type(&kind, &types)?.without_low_cardinality();
        if let AggKind::Quantile(q, levels, false) = &kind {
            // Quantiles of one argument share one state: each is an element of their array.
            let mut key_args: Vec<Expr> = arg_exprs.iter().map(|e| (*e).clone()).collect();
            key_args.extend(cond_expr.cloned());
            let key = Expr::Func(Box::new(Call {
                name: format!("quantiles {q:?}"),
                params: None,
                args: key_args,
                over: None,
            }));
            let level = levels.first().copied().unwrap_or(0.5);
            let array_ty = DataType::Array(Box::new(ty.clone()));
            let slot = match self.aggs.iter().position(|(x, _)| *x == key) {
                Some(i) => i,
                None => {
                    self.aggs.push((
                        key,
                        AggSpec {
                            // Singular: an empty group gives NaN or NULL, not quantilesExact's 0.
                            kind: AggKind::Quantile(*q, Vec::new(), false),
                            args,
                            cond,
                            ty: array_ty.clone(),
                        },
                    ));
                    self.aggs.len() - 1
                }
            };
            let AggKind::Quantile(_, shared, _) = &mut self.aggs[slot].1.kind else {
                return Err(Error::query("internal: shared quantile state"));
            };
            let pos = match shared.iter().position(|l| *l == level) {
                Some(p) => p,
                None => {
                    shared.push(level);
                    shared.len() - 1
                }
            };
            return Ok(BExpr::call(
                F::ArrayElement(pos),
                vec![BExpr {
                    kind: BKind::Slot(nkeys + slot),
                    ty: array_ty,
                }],
                ty,
            ));
        }
        Ok(self.push_aggregate(
            whole,
            AggSpec {
                kind,
                args,
                cond,
                ty,
            },
        ))
    }

    /// Adds the aggregate `whole` bound as `spec`, and gives the expression reading its result.
    pub(super) fn push_aggregate(&mut self, whole: &Expr, spec: AggSpec) -> BExpr {
        let ty = spec.ty.clone();
        self.aggs.push((whole.clone(), spec));
        BExpr {
            kind: BKind::Slot(self.keys.len() + self.aggs.len() - 1),
            ty,
        }
    }
}

/// The elements' type of an array type (`Nothing` for any other type).
fn element_type(ty: &DataType) -> DataType {
    match ty.base() {
        DataType::Array(e) => (**e).clone(),
        _ => DataType::Nothing,
    }
}

/// Whether `e` is built of literals by functions that are not aggregates: a constant.
fn is_constant_expr(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) => true,
        Expr::Interval(x, _) => is_constant_expr(x),
        Expr::Array(items) => items.iter().all(is_constant_expr),
        Expr::Func(c) => {
            funcs::aggregate(&funcs::canonical(&c.name)).is_none()
                && c.params.is_none()
                && c.over.is_none()
                && c.args.iter().all(is_constant_expr)
        }
        Expr::Ident(_)
        | Expr::Star
        | Expr::QualifiedStar(_)
        | Expr::Tuple(_)
        | Expr::Subquery(..) => false,
    }
}

/// `min(x + c)` as `min(x) + c`: ClickHouse moves arithmetic with a constant out of `min` and
/// `max` (`optimize_arithmetic_operations_in_aggregate_functions`, on by default), which shows
/// where the arithmetic wraps (integers, `DateTime` plus an `INTERVAL`) and over no rows. A
/// negative factor or divisor swaps `min` and `max`, and so does a constant minus `x`
/// (`max(c - x)` is `c - min(x)`). Without combinators only, and only where
/// `x` reads a column: a constant argument is folded whole first. The constant may be any
/// constant expression (`toDateTime('…')`), which `fold` evaluates.
fn arithmetic_out_of_extreme(
    c: &Call,
    base: &str,
    is_if: bool,
    fold: &dyn Fn(&Expr) -> Option<Value>,
) -> Option<Expr> {
    if is_if || !(base == "min" || base == "max") || c.params.is_some() || c.args.len() != 1 {
        return None;
    }
    let Expr::Func(inner) = &c.args[0] else {
        return None;
    };
    if inner.params.is_some() || inner.args.len() != 2 {
        return None;
    }
    let op = funcs::canonical(&inner.name);
    let constant = |e: &Expr| match e {
        Expr::Lit(l) => Some(l.value.clone()),
        Expr::Interval(x, _) if matches!(&**x, Expr::Lit(_)) => match &**x {
            Expr::Lit(l) => Some(l.value.clone()),
            _ => None,
        },
        e if is_constant_expr(e) => fold(e),
        _ => None,
    };
    let (a, b) = (&inner.args[0], &inner.args[1]);
    let (x, k, k_first) = match (constant(a), constant(b)) {
        (None, Some(k)) => (a, k, false),
        (Some(k), None) if op == "plus" || op == "multiply" || op == "minus" => (b, k, true),
        _ => return None,
    };
    if !reads_a_name(x) {
        return None;
    }
    if !matches!(op.as_str(), "plus" | "minus" | "multiply" | "divide") {
        return None;
    }
    let negative = match k {
        Value::Int(i) => i < 0,
        Value::Float32(f) => f < 0.0,
        Value::Float64(f) => f < 0.0,
        Value::UInt(_) => false,
        _ if op == "plus" || op == "minus" => false,
        _ => return None,
    };
    let swap = (negative && (op == "multiply" || op == "divide")) || (k_first && op == "minus");
    let agg = match (base == "min", swap) {
        (true, false) | (false, true) => "min",
        _ => "max",
    };
    let moved = Expr::call(agg, vec![x.clone()]);
    let k_expr = if k_first { a.clone() } else { b.clone() };
    Some(if k_first {
        Expr::call(&op, vec![k_expr, moved])
    } else {
        Expr::call(&op, vec![moved, k_expr])
    })
}

/// Whether `e` names a column or an alias anywhere outside a scalar subquery (which ClickHouse
/// evaluates first, as a constant).
fn reads_a_name(e: &Expr) -> bool {
    match e {
        Expr::Ident(_) | Expr::Star | Expr::QualifiedStar(_) => true,
        Expr::Func(c) => {
            c.args.iter().any(reads_a_name)
                || c.over.iter().flat_map(|o| o.exprs()).any(reads_a_name)
        }
        Expr::Interval(x, _) => reads_a_name(x),
        Expr::Array(v) | Expr::Tuple(v) => v.iter().any(reads_a_name),
        Expr::Lit(_) | Expr::Subquery(..) => false,
    }
}

/// The elements of a tuple written out: `(a, b)`, `tuple(a, b)`, or a literal element of one
/// (`((a, b), c).1`; nested no deeper than the parser allows an expression).
fn tuple_items(mut e: Expr) -> Option<Vec<Expr>> {
    loop {
        match e {
            Expr::Tuple(items) => return Some(items),
            Expr::Func(f) if f.name == "tuple" && f.params.is_none() => return Some(f.args),
            Expr::Func(f) if f.name == "tupleElement" && f.args.len() == 2 => {
                let k = match &f.args[1] {
                    Expr::Lit(l) => match l.value {
                        Value::UInt(u) => i64::try_from(u).ok()?,
                        Value::Int(i) => i,
                        _ => return None,
                    },
                    _ => return None,
                };
                let mut args = f.args;
                let inner = tuple_items(args.swap_remove(0))?;
                let len = inner.len() as i64;
                let at = match k {
                    k if k > 0 && k <= len => k - 1,
                    k if k < 0 && k >= -len => len + k,
                    _ => return None,
                };
                e = inner.into_iter().nth(at as usize)?;
            }
            _ => return None,
        }
    }
}

/// Folds a call whose arguments are all constants into a constant.
fn fold(e: BExpr) -> Result<BExpr> {
    if let BKind::Call(c) = &e.kind {
        // A `multiIf` of one value is what is left of one that read columns (see
        // `funcs::bind`): ClickHouse does not take it for a constant.
        let kept = matches!(c.f, F::MultiIf) && c.args.len() == 1;
        if !kept && c.args.iter().all(|a| a.as_const().is_some()) {
            let v = eval_const(&e)?;
            return Ok(BExpr::constant(v, e.ty));
        }
    }
    Ok(e)
}

/// A `WHERE` condition without its constant-true conjuncts (`WHERE 1 AND …`, as templates
/// write), or `None` when nothing is left to test.
pub(super) fn without_true(e: BExpr) -> Option<BExpr> {
    fn conjuncts(e: BExpr, out: &mut Vec<BExpr>) {
        match &e.kind {
            BKind::Call(c) if matches!(c.f, F::And) => {
                for a in &c.args {
                    conjuncts(a.clone(), out);
                }
            }
            _ => out.push(e),
        }
    }
    let truthy = |e: &BExpr| {
        e.as_const()
            .is_some_and(|v| *v != Value::Null && super::super::column::value_f(v) != 0.0)
    };
    let ty = e.ty.clone();
    let mut all = Vec::new();
    conjuncts(e, &mut all);
    all.retain(|a| !truthy(a));
    match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(BExpr::call(F::And, all, ty)),
    }
}

/// The integer value of a constant `LIMIT`/`OFFSET` expression.
pub(super) fn limit_value(
    b: &mut Binder<'_, '_, '_, '_>,
    e: &Expr,
    what: &'static str,
) -> Result<u64> {
    b.clause = what;
    // Aliases are read, as ClickHouse reads them: `WITH (SELECT …) AS n … LIMIT n`.
    let e = b.full(e)?;
    let v = b.bind(&e, Mode::Const)?;
    match v.as_const() {
        Some(Value::UInt(u)) => Ok(*u),
        Some(Value::Int(i)) if *i >= 0 => Ok(*i as u64),
        _ => Err(Error::query(format!(
            "{what} must be a non-negative integer"
        ))),
    }
}

/// The expression a positional reference (`GROUP BY 1`) stands for.
pub(super) fn positional<'x>(e: &'x Expr, items: &'x [(String, Expr)]) -> Result<&'x Expr> {
    if let Expr::Lit(l) = e {
        if !l.typed {
            if let Value::UInt(n) = l.value {
                return items
                    .get((n as usize).wrapping_sub(1))
                    .map(|(_, x)| x)
                    .ok_or_else(|| {
                        Error::query(format!("position {n} is not in the select list"))
                    });
            }
        }
    }
    Ok(e)
}

pub(super) fn add_alias<'q>(
    name: &str,
    e: &'q Expr,
    aliases: &mut Vec<(String, &'q Expr)>,
) -> Result<()> {
    if let Some((_, prev)) = aliases.iter().find(|(n, _)| n == name) {
        if *prev != e {
            return Err(Error::query(format!(
                "different expressions have the same alias '{name}'"
            )));
        }
        return Ok(());
    }
    aliases.push((name.to_string(), e));
    Ok(())
}
