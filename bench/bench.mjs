// Runs the benchmark in headless Chromium and writes the report; bench/run.sh builds what it
// needs first (the wasm package, the DuckDB bundle, the data file) and is the documented entry.
//
//   node bench/bench.mjs [--rows N] [--seed S] [--reps R] [--contenders a,b,...] [--stream]
//                        [--workers 1,2,...]
//
// Side by side (the default up to 2,000,000 rows): every contender gets the same NDJSON bytes
// as an ArrayBuffer in its worker. Streaming (--stream, and the default above 2,000,000 rows):
// llm-metrics alone reads the file through fetch()'s body reader. Scaling (--workers 1,2): the
// file as a File into createStore()'s loadFile with each number of threads. See bench/README.md.

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium.mjs';
import { startServer } from './lib/serve.mjs';
import { agreement, compareReport, streamReport } from './lib/report.mjs';

const bench = dirname(fileURLToPath(import.meta.url));
const repo = join(bench, '..');
const modules = join(bench, 'node_modules');
const WORK = join(repo, 'target', 'bench');

/** Largest side-by-side run: every contender holds the whole file in memory. */
const MAX_SIDE_BY_SIDE_ROWS = 2_000_000;

const BENCH_ARGS = [
  ...CHROMIUM_ARGS,
  '--js-flags=--expose-gc',
  '--enable-precise-memory-info',
  // measureUserAgentSpecificMemory() answers at once instead of waiting for the next GC.
  '--enable-blink-features=ForceEagerMeasureMemory',
];

const DUCKDB_FILES = [
  ['vendor/duckdb.mjs', join(WORK, 'vendor', 'duckdb.mjs')],
  ['duckdb-eh.wasm', join(modules, '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm')],
  ['ndjson.js', join(bench, 'www/ndjson.js')],
];

/** The contenders, in report order; `ratio` marks those llm-metrics is divided by. */
const CONTENDERS = [
  {
    id: 'llm-metrics',
    title: 'llm-metrics',
    files: [
      ['llm_metrics.js', join(repo, 'pkg/llm_metrics.js')],
      ['llm_metrics_bg.wasm', join(repo, 'pkg/llm_metrics_bg.wasm')],
    ],
  },
  { id: 'duckdb-arrow', title: 'DuckDB-WASM (JSON.parse → Arrow)', ratio: true, files: DUCKDB_FILES.slice() },
  { id: 'duckdb-json', title: 'DuckDB-WASM (insertJSONFromPath)', ratio: true, files: DUCKDB_FILES.slice(0, 2) },
  { id: 'duckdb-read-json', title: 'DuckDB-WASM (read_json)', files: DUCKDB_FILES.slice(0, 2) },
  {
    id: 'arquero',
    title: 'Arquero',
    files: [
      ['arquero.min.js', join(modules, 'arquero/dist/arquero.min.js')],
      ['ndjson.js', join(bench, 'www/ndjson.js')],
    ],
  },
  {
    id: 'plain-js',
    title: 'plain JS',
    ratio: true,
    noLoad: true,
    files: [
      ['plain-js.js', join(bench, 'www/contenders/plain-js.js')],
      ['ndjson.js', join(bench, 'www/ndjson.js')],
    ],
  },
];

function usage(message) {
  if (message) console.error(`bench: ${message}`);
  console.error('usage: node bench/bench.mjs [--rows N] [--seed S] [--reps R] [--contenders a,b,...] [--stream] [--workers 1,2,...]');
  console.error(`contenders: ${CONTENDERS.map((c) => c.id).join(', ')}`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { rows: 1_000_000, seed: 42, reps: 5, contenders: null, stream: null, workers: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    const count = (min) => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < min) usage(`${flag} must be an integer of at least ${min}, got '${v}'`);
      return Number(v);
    };
    switch (flag) {
      case '--rows':
        opts.rows = count(1);
        break;
      case '--seed':
        opts.seed = count(0);
        break;
      case '--reps':
        opts.reps = count(1);
        break;
      case '--contenders':
        opts.contenders = value().split(',');
        for (const id of opts.contenders) if (!CONTENDERS.some((c) => c.id === id)) usage(`unknown contender '${id}'`);
        break;
      case '--stream':
        opts.stream = true;
        break;
      case '--workers':
        opts.workers = value().split(',').map((v) => {
          if (!/^\d+$/.test(v) || Number(v) < 1) usage(`--workers takes thread counts of at least 1, got '${v}'`);
          return Number(v);
        });
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option '${argv[i]}'`);
    }
  }
  opts.stream ??= opts.rows > MAX_SIDE_BY_SIDE_ROWS;
  return opts;
}

/**
 * Ingest through createStore() (www/store.js) with each number of threads in `counts`: one
 * store, the file as a File, `reps` timed loadFile() calls per count after one warm-up, the
 * store emptied with forget() between them (its helper threads stay, started and warmed up).
 */
function runScaling(browser, url, job, counts) {
  return inFreshPage(browser, url, (page) => page.evaluate(async ({ dataUrl, rows, reps, counts }) => {
    const { createStore } = await import('/app/store.js');
    const blob = await (await fetch(dataUrl)).blob();
    const file = new File([blob], 'events.ndjson');
    const results = [];
    for (const workers of counts) {
      const store = await createStore();
      const ms = [];
      let cold = null;
      try {
        for (let i = 0; i <= reps; i++) {
          await store.forget();
          const started = performance.now();
          const r = await store.loadFile(file, { workers });
          const took = performance.now() - started;
          if (r.status !== 'done' || r.rows !== rows || r.quarantined !== 0) {
            throw new Error(`workers ${workers}: ${r.status}, ${r.rows} rows, ${r.quarantined} quarantined ${r.error ?? ''}`);
          }
          if (i === 0) cold = took;
          else ms.push(took);
        }
      } finally {
        await store.close();
      }
      results.push({ workers, cold, ms });
    }
    return { hardwareConcurrency: navigator.hardwareConcurrency, results };
  }, { ...job, counts }));
}

function scalingReport({ env, result }) {
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const lines = [
    `# llm-metrics: ingest on several threads (${env.rows.toLocaleString('en-US')} events, ${(env.dataBytes / 1e6).toFixed(0)} MB)`,
    '',
    `${env.date}; Chromium ${env.chromium}; ${env.cpu}, ${env.cores} cores (navigator.hardwareConcurrency ${result.hardwareConcurrency ?? '?'}); load average ${env.loadStart.toFixed(2)}; \`${env.command}\``,
    '',
  ];
  if (result.error) return `${lines.join('\n')}Failed: ${result.error}\n`;
  const base = median(result.results[0].ms);
  lines.push('| workers | ingest (median) | MB/s | speed-up | first load (helpers starting) | runs |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of result.results) {
    const m = median(r.ms);
    lines.push(`| ${r.workers} | ${(m / 1000).toFixed(2)} s | ${(env.dataBytes / 1e6 / (m / 1000)).toFixed(0)} | ${(base / m).toFixed(2)}x | ${(r.cold / 1000).toFixed(2)} s | ${r.ms.map((x) => (x / 1000).toFixed(2)).join(', ')} |`);
  }
  lines.push('', 'Speed-up is against the first row. createStore().loadFile(file, { workers }): the time from the call to its answer, every row stored.');
  return `${lines.join('\n')}\n`;
}

/** The data file bench/run.sh generates for these options. */
const dataFile = (rows, seed) => join(WORK, 'data', `events-${rows}-seed${seed}.ndjson`);

function gzipSizes(files) {
  const out = files.map(([name, path]) => ({ name, gzip: gzipSync(readFileSync(path), { level: 9 }).length }));
  return { files: out, gzip: out.reduce((sum, f) => sum + f.gzip, 0) };
}

const log = (text) => process.stderr.write(`${text}\n`);

/** Runs one worker job in a fresh browser context (its own renderer, empty HTTP cache). */
function inFreshContext(browser, url, job) {
  return inFreshPage(browser, url, (page) => page.evaluate((j) => window.runWorker(j), job));
}

/**
 * Opens `url` in a fresh browser context with its console logged, answers what `run(page)`
 * answers (or { error } when it throws), and closes the context.
 */
async function inFreshPage(browser, url, run) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('console', (msg) => log(`  ${msg.text()}`));
    page.on('pageerror', (err) => log(`  page error: ${err.message}`));
    await page.goto(url);
    return await run(page);
  } catch (err) {
    return { error: String(err?.message ?? err) };
  } finally {
    await context.close();
  }
}

/**
 * Measures one contender: the timed run first; when it fails outright (the contender cannot
 * ingest) the load and memory runs are skipped.
 */
async function runContender(browser, url, contender, job) {
  const result = { bundle: gzipSizes(contender.files) };
  const base = { ...job, contender: contender.id };
  result.time = await inFreshContext(browser, url, { ...base, phase: 'time' });
  if (result.time.error) {
    log(`${contender.id}: ${result.time.error}`);
    return result;
  }
  result.memory = await inFreshContext(browser, url, { ...base, phase: 'memory' });
  log(`${contender.id}: memory ${JSON.stringify(result.memory)}`);
  if (contender.noLoad) {
    result.load = { none: true };
    return result;
  }
  const ms = [];
  for (let i = 0; i <= job.reps; i++) {
    const r = await inFreshContext(browser, url, { ...base, phase: 'load' });
    if (r.error) {
      result.load = r;
      return result;
    }
    ms.push(r.loadMs);
  }
  result.load = { ms };
  log(`${contender.id}: load ${ms.map((x) => x.toFixed(0)).join(', ')} ms`);
  return result;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const data = dataFile(opts.rows, opts.seed);
  let dataBytes;
  try {
    dataBytes = statSync(data).size;
  } catch {
    usage(`no data file ${relative(process.cwd(), data)}; bench/run.sh generates it`);
  }
  const server = await startServer({
    files: new Map([
      ['/vendor/duckdb.mjs', join(WORK, 'vendor', 'duckdb.mjs')],
      ['/vendor/duckdb-eh.wasm', join(modules, '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm')],
      ['/vendor/arquero.min.js', join(modules, 'arquero/dist/arquero.min.js')],
    ]),
    dirs: [
      ['/pkg/', join(repo, 'pkg')],
      // createStore() and its workers, for --workers.
      ['/app/pkg/', join(repo, 'pkg')],
      ['/app/', join(repo, 'www')],
      ['/data/', join(WORK, 'data')],
      ['/', join(bench, 'www')],
    ],
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BENCH_ARGS, headless: true });
  const args = process.argv.slice(2).join(' ');
  const env = {
    rows: opts.rows,
    dataBytes,
    reps: opts.reps,
    chromium: browser.version(),
    cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpus().length,
    node: process.versions.node,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    command: `bash bench/run.sh${args ? ` ${args}` : ''}`,
    loadStart: loadavg()[0],
  };
  const job = {
    dataUrl: `/data/${data.split('/').pop()}`,
    rows: opts.rows,
    reps: opts.reps,
    chunkBytes: 1 << 20,
  };
  const outDir = join(bench, 'results');
  mkdirSync(outDir, { recursive: true });
  let report;
  try {
    if (opts.workers) {
      log(`llm-metrics: createStore ingest with ${opts.workers.join(', ')} threads`);
      const result = await runScaling(browser, server.url, job, opts.workers);
      report = { name: 'latest-workers', data: { env, result }, markdown: () => scalingReport({ env, result }) };
    } else if (opts.stream) {
      log(`llm-metrics: streaming ${opts.rows} rows`);
      const result = await inFreshContext(browser, server.url, { ...job, contender: 'llm-metrics', phase: 'stream' });
      report = { name: 'latest-stream', data: { env, result }, markdown: () => streamReport({ env, result }) };
    } else {
      const contenders = CONTENDERS.filter((c) => !opts.contenders || opts.contenders.includes(c.id));
      const results = {};
      for (const contender of contenders) {
        log(`${contender.id}: running`);
        results[contender.id] = await runContender(browser, server.url, contender, job);
      }
      const order = ['llm-metrics', 'plain-js', 'duckdb-arrow', 'duckdb-json', 'duckdb-read-json', 'arquero'];
      const checks = agreement(order.filter((id) => results[id]), results);
      report = {
        name: 'latest',
        data: { env, results, checks },
        markdown: () => compareReport({ env, contenders, results, checks }),
      };
    }
  } finally {
    await browser.close();
    await server.close();
  }
  env.loadEnd = loadavg()[0];
  const markdown = report.markdown();
  const path = join(outDir, `${report.name}.md`);
  writeFileSync(path, markdown);
  writeFileSync(join(outDir, `${report.name}.json`), JSON.stringify(report.data, null, 1));
  process.stdout.write(`\n${markdown}\nWritten to ${relative(process.cwd(), path)}\n`);
}

await main();
