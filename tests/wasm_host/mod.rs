//! What the wasm test files share with their host (Node.js or a browser page).

use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;

/// Gives the host's event loop a turn (a `setTimeout` of 0 ms): a browser page stays
/// responsive to its test runner between hostile cases, as a page would between a user's
/// queries.
pub async fn yield_to_host() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let timer = Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        match timer {
            Some(set_timeout) => {
                let _ = set_timeout.call2(&global, &resolve, &0.into());
            }
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
