// The package the crash tests load: the same crate built with the Cargo feature `test-panic`, in
// which `store.sql('SELECT test_panic()')` panics like a bug would (src/wasm.rs). It goes to
// target/pkg-test-panic/, apart from pkg/, so the shipped package never has the trigger. It is
// rebuilt on every run, so it always matches the sources: an up-to-date cargo build takes seconds,
// and wasm-opt is skipped (--no-opt) since only behaviour, not speed, is under test.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Where the test build lives, relative to the repository: its .js and _bg.wasm. */
export const PANIC_PKG = join(repo, 'target', 'pkg-test-panic');

/** The SQL text that panics in the test build (and is an unknown function elsewhere). */
export const PANIC_SQL = 'SELECT test_panic()';

let built = false;

/** Builds target/pkg-test-panic/ (once per process) and returns its directory. */
export function buildPanicPkg() {
  if (built) return PANIC_PKG;
  const path = [join(repo, 'node_modules', '.bin'), join(homedir(), '.cargo', 'bin'), process.env.PATH]
    .join(delimiter);
  execFileSync('wasm-pack', [
    'build', '--release', '--no-opt', '--target', 'web', '--no-pack',
    '--out-dir', PANIC_PKG, '--', '--features', 'test-panic',
  ], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PATH: path } });
  if (!existsSync(join(PANIC_PKG, 'llm_metrics_bg.wasm'))) {
    throw new Error(`wasm-pack did not write ${PANIC_PKG}`);
  }
  built = true;
  return PANIC_PKG;
}

/** Imports a fresh copy of the test build in Node.js, initialised: its module namespace. */
export async function loadPanicPkg(instance = 1) {
  const dir = buildPanicPkg();
  // A distinct URL makes a distinct module, with its own wasm instance.
  const module = await import(`${join(dir, 'llm_metrics.js')}?instance=${instance}`);
  module.initSync({ module: readFileSync(join(dir, 'llm_metrics_bg.wasm')) });
  return module;
}
