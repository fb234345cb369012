// Reopening a store from the Origin Private File System in headless Chromium: a store of N
// generated events is saved as the page saves it and reopened as the page reopens it, and the
// figures are printed (medians of --reps runs, each run listed). See bench/README.md.
//
//   node bench/persist.mjs [--rows 1000000,10000000] [--seed 42] [--reps 3]
//
// Needs pkg/ (scripts/build-wasm.sh); Chromium as for bench/bench.mjs.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';
import { startServer } from './lib/serve.mjs';

const bench = dirname(fileURLToPath(import.meta.url));
const repo = join(bench, '..');

function usage(message) {
  if (message) console.error(`bench/persist: ${message}`);
  console.error('usage: node bench/persist.mjs [--rows N[,N...]] [--seed S] [--reps R]');
  process.exit(2);
}

const args = { rows: [1_000_000, 10_000_000], seed: 42, reps: 3 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const value = argv[i + 1];
  if (value === undefined) usage(`${argv[i]} needs a value`);
  if (argv[i] === '--rows') args.rows = value.split(',').map(Number);
  else if (argv[i] === '--seed') args.seed = Number(value);
  else if (argv[i] === '--reps') args.reps = Number(value);
  else usage(`unknown option ${argv[i]}`);
}
if (args.rows.some((n) => !Number.isInteger(n) || n < 1) || !(args.reps >= 1)) usage('bad numbers');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (x) => `${x.toFixed(3)} s`;
const mb = (x) => `${(x / 1e6).toFixed(1)} MB`;

const server = await startServer({ dirs: [['/pkg/', join(repo, 'pkg')], ['/', join(bench, 'www')]] });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const lines = [];
try {
  for (const rows of args.rows) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (msg) => process.stderr.write(`  ${msg.text()}\n`));
    await page.goto(`${server.url}persist.html`);
    const r = await page.evaluate((job) => window.runPersist(job), { rows, seed: args.seed, reps: args.reps });
    await context.close();
    if (r.error) {
      lines.push(`${rows} events: failed: ${r.error}`);
      continue;
    }
    const list = (xs) => xs.map((x) => x.toFixed(3)).join(', ');
    lines.push(
      `${rows.toLocaleString('en-US')} events: store file ${mb(r.fileBytes)} ` +
        `(${(r.fileBytes / rows).toFixed(2)} bytes/event; store ${mb(r.storeBytes)} in memory), ` +
        `ingest ${s(r.ingestSeconds)}`,
      `  save to OPFS ${s(median(r.saveSeconds))} (serialising alone ${s(median(r.serialiseSeconds))}) [${list(r.saveSeconds)}]`,
      `  reopen from OPFS ${s(median(r.reopenSeconds))} [${list(r.reopenSeconds)}]: ` +
        `reading the file alone ${s(median(r.readSeconds))} [${list(r.readSeconds)}]`,
      `  reopen through a sync access handle ${s(median(r.reopenSyncSeconds))} [${list(r.reopenSyncSeconds)}]`,
      `  reopen from 16 MiB slices of the file ${s(median(r.reopenSliceSeconds))} [${list(r.reopenSliceSeconds)}]`,
      `  reopened ${r.reopenedRows.toLocaleString('en-US')} rows; llm_kpis and llm_usage_by_model as before: ${r.sameAnswers}`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(lines.join('\n'));
