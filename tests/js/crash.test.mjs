// What a JavaScript caller of the package sees when the engine panics: an Error naming the
// panic and where it struck, then a lost store that refuses every call, while a fresh instance
// of the module works. The panic comes from the test build (tests/js/panic-pkg.mjs); the shipped
// package in pkg/ is checked to have no such trigger.
//
//   node --test tests/js/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PANIC_SQL, loadPanicPkg } from './panic-pkg.mjs';

/** What the trigger does: index 19 (the length of its SQL text) of an empty Vec, in src/wasm.rs. */
const PANIC_MESSAGE = /^index out of bounds: the len is 0 but the index is 19 at src\/wasm\.rs:\d+:\d+$/;
const LOST = /^the store was lost after a crash: index out of bounds: the len is 0 but the index is 19 at src\/wasm\.rs:\d+:\d+; reload the data$/;

/** Three events in the llm_events schema, written out by hand. */
const NDJSON = new TextEncoder().encode([
  '{"event_time":"2024-10-01 10:00:00","model_name":"gpt-4o","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.5,"latency":1.5,"success":1,"error_message":""}',
  '{"event_time":"2024-10-01 10:01:00","model_name":"gpt-4o","prompt_tokens":20,"completion_tokens":10,"total_tokens":30,"cost":1,"latency":2.5,"success":0,"error_message":"timeout"}',
  '{"event_time":"2024-10-01 10:02:00","model_name":"claude-3","prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"cost":0.25,"latency":0.5,"success":1,"error_message":""}',
  '',
].join('\n'));

function load(pkg) {
  const store = new pkg.EventStore();
  store.begin('three.ndjson');
  store.write(NDJSON);
  store.end();
  return store;
}

test('a panic reaches the caller as an Error naming it, and the store is lost afterwards', async () => {
  const pkg = await loadPanicPkg(1);
  assert.equal(pkg.lastPanic(), undefined);
  const store = load(pkg);
  const other = load(pkg);
  assert.equal(store.rowCount, 3);

  let thrown;
  try {
    store.sql(PANIC_SQL);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof Error, `an Error, got ${thrown}`);
  assert.ok(!(thrown instanceof WebAssembly.RuntimeError), `not a bare trap: ${thrown}`);
  assert.match(thrown.message, /^llm-metrics panicked: index out of bounds: the len is 0 but the index is 19 at src\/wasm\.rs:\d+:\d+$/);
  assert.match(pkg.lastPanic(), PANIC_MESSAGE);
  assert.equal(thrown.message, `llm-metrics panicked: ${pkg.lastPanic()}`);

  // Every later call refuses to run on what the panic left behind.
  const lost = (call, what) => assert.throws(call, (e) => e instanceof Error && LOST.test(e.message), what);
  lost(() => store.pipe('llm_usage_by_model'), 'pipe on the crashed store');
  lost(() => store.sql('SELECT count() FROM llm_events'), 'sql on the crashed store');
  lost(() => store.rowCount, 'rowCount on the crashed store');
  lost(() => other.write(NDJSON), 'write on another store');
  lost(() => other.end(), 'end on another store');
  lost(() => other.rowCount, 'rowCount on another store');
  lost(() => new pkg.EventStore(), 'a new store');
  lost(() => pkg.EventStore.fromDatasource('SCHEMA >\n    `a` String `json:$.a`\n'), 'fromDatasource');
  lost(() => pkg.generateSample(10, 1), 'generateSample');
  lost(() => pkg.warmUp(1), 'warmUp');
  // The store the panic struck stays borrowed inside wasm-bindgen's glue, which refuses it
  // before the engine is reached; an Error all the same.
  assert.throws(() => store.write(NDJSON), Error);

  // A fresh instance of the module is unaffected.
  const fresh = await loadPanicPkg(2);
  assert.equal(fresh.lastPanic(), undefined);
  const again = load(fresh);
  assert.equal(again.rowCount, 3);
  assert.deepEqual(again.sql('SELECT count() AS n, sum(total_tokens) AS t FROM llm_events').data, [{ n: 3, t: 55 }]);
});

test('the shipped package has no way to panic on purpose', async () => {
  const pkgDir = fileURLToPath(new URL('../../pkg/', import.meta.url));
  const pkg = await import(`${pkgDir}llm_metrics.js?crash-test`);
  pkg.initSync({ module: readFileSync(`${pkgDir}llm_metrics_bg.wasm`) });
  const store = load(pkg);
  assert.throws(() => store.sql(PANIC_SQL), (e) => e instanceof Error && !/panicked/.test(e.message) && /test_panic/.test(e.message));
  assert.equal(pkg.lastPanic(), undefined);
  assert.equal(store.rowCount, 3);
  store.free();
});
