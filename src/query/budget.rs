//! The bytes a query's arrays take, charged to what the store's `maxBytes` leaves free.
//!
//! Two kinds of bytes are counted, by [`value_bytes`] (a string by its length):
//!
//! * kept: what lasts until the query ends, the values `groupArray` and `groupUniqArray` keep
//!   and the arrays of the rows a projection returns;
//! * live: the arrays and strings array functions build over one block of rows, which are
//!   dropped with the block (the count starts again at each block, [`next_block`]).
//!
//! A query fails, naming `maxBytes`, as soon as kept and live bytes together pass the bytes the
//! store's budget leaves free when the query starts (JOINs and aggregate states are checked
//! against the same free bytes). The counts live in the thread running the query, set by
//! [`enter`] for the outermost query and cleared when its [`Guard`] drops.

use super::Value;
use crate::error::{Error, Result};
use std::cell::Cell;

#[derive(Clone, Copy)]
struct Meter {
    /// Bytes free for the query; `u64::MAX` without a budget.
    limit: u64,
    kept: u64,
    live: u64,
    /// Queries running one inside another (the outermost sets the limit).
    depth: u32,
}

const IDLE: Meter = Meter {
    limit: u64::MAX,
    kept: 0,
    live: 0,
    depth: 0,
};

thread_local! {
    static METER: Cell<Meter> = const { Cell::new(IDLE) };
}

/// Clears the counts when the query that set them ends.
#[must_use]
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        METER.with(|m| {
            let mut v = m.get();
            v.depth = v.depth.saturating_sub(1);
            m.set(if v.depth == 0 { IDLE } else { v });
        });
    }
}

/// Starts counting for a query with `free` bytes (what `maxBytes` leaves); a query inside
/// another shares the outer one's counts and limit.
pub fn enter(free: u64) -> Guard {
    METER.with(|m| {
        let mut v = m.get();
        if v.depth == 0 {
            v = Meter {
                limit: free,
                ..IDLE
            };
        }
        v.depth = v.depth.saturating_add(1);
        m.set(v);
    });
    Guard(())
}

/// A new block of rows: the arrays built for the last one are gone.
pub fn next_block() {
    METER.with(|m| {
        let mut v = m.get();
        v.live = 0;
        m.set(v);
    });
}

/// Charges `bytes` built for the current block of rows.
pub fn live(bytes: u64) -> Result<()> {
    charge(bytes, false)
}

/// Charges `bytes` kept until the query ends.
pub fn keep(bytes: u64) -> Result<()> {
    charge(bytes, true)
}

/// Fails when the bytes charged so far pass the limit.
pub fn check() -> Result<()> {
    charge(0, true)
}

fn charge(bytes: u64, kept: bool) -> Result<()> {
    let v = METER.with(|m| {
        let mut v = m.get();
        if v.depth == 0 {
            return v;
        }
        if kept {
            v.kept = v.kept.saturating_add(bytes);
        } else {
            v.live = v.live.saturating_add(bytes);
        }
        m.set(v);
        v
    });
    if v.kept.saturating_add(v.live) > v.limit {
        return Err(over(v.limit));
    }
    Ok(())
}

#[inline(never)]
fn over(limit: u64) -> Error {
    Error::query(format!(
        "the query's arrays and groupArray values need more than the {limit} bytes the \
         store's maxBytes leaves free"
    ))
}

/// Bytes a value takes, roughly: a string its length and a header, an array its elements and
/// a header, other values 16.
pub fn value_bytes(v: &Value) -> u64 {
    match v {
        Value::Str(s) => s.len() as u64 + 24,
        Value::Array(items) => items.iter().map(value_bytes).fold(24, u64::saturating_add),
        Value::Map(pairs) => pairs.iter().fold(24, |b, (k, x)| {
            b.saturating_add(value_bytes(k))
                .saturating_add(value_bytes(x))
        }),
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_pass_the_limit_and_blocks_free_live_bytes() {
        let _g = enter(1_000);
        // Hand-derived: "abc" is 3 + 24 bytes; [1, "abc"] is 24 + 16 + 27.
        assert_eq!(value_bytes(&Value::Str("abc".into())), 27);
        let a = Value::Array(vec![Value::UInt(1), Value::Str("abc".into())]);
        assert_eq!(value_bytes(&a), 67);
        assert!(live(600).is_ok());
        assert!(keep(300).is_ok());
        let err = live(101).unwrap_err().to_string();
        assert!(
            err.contains("maxBytes") && err.contains("1000 bytes"),
            "{err}"
        );
        next_block();
        assert!(live(700).is_ok());
        assert!(keep(1).is_err());
        {
            // A query inside keeps the outer limit and counts.
            let _inner = enter(u64::MAX);
            assert!(check().is_err());
        }
        assert!(check().is_err());
        drop(_g);
        // No query running: no limit.
        assert!(keep(u64::MAX).is_ok());
        let _g = enter(10);
        assert!(check().is_ok());
    }
}
