//! Pipes: `.pipe` files, their SQL, and results as endpoint JSON.

mod endpoint;
mod pipe;
mod seed;

pub use endpoint::{write_json_string, Endpoint, Meta, Statistics, Value};
pub use pipe::{parse_pipe, Node, Pipe};

use crate::error::Result;
use crate::store::Store;

/// Query parameters by name, as JSON values (strings, numbers, booleans or arrays).
pub type Params = serde_json::Map<String, serde_json::Value>;

/// Runs the endpoint node of `pipe` over `store`.
pub fn run_pipe(store: &Store, pipe: &Pipe, params: &Params) -> Result<Endpoint> {
    let _ = params;
    seed::run(store, &pipe.endpoint_node().sql)
}
