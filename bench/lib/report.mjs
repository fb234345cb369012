// Turns the raw samples of a run into the agreement check and the Markdown report.

import { QUERIES } from '../www/normalize.js';

/** Relative tolerance of the agreement check. */
export const TOLERANCE = 1e-6;

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median of the timed samples: the first sample of every list is the warm-up. */
export const timed = (samples) => median(samples.slice(1));

const close = (a, b) => a === b || Math.abs(a - b) <= TOLERANCE * Math.max(Math.abs(a), Math.abs(b));

const keyOf = (row) => (row.hour === undefined ? row.model_name : `${row.model_name} @ ${new Date(row.hour * 1000).toISOString()}`);

/** Compares two canonical answers: { groups that differ, the first difference or null }. */
export function compare(expected, actual) {
  const want = new Map(expected.map((r) => [keyOf(r), r]));
  const got = new Map(actual.map((r) => [keyOf(r), r]));
  if (want.size !== expected.length || got.size !== actual.length) return { count: 1, first: 'duplicate groups' };
  const problems = [];
  for (const key of got.keys()) if (!want.has(key)) problems.push(`unexpected group ${key}`);
  for (const [key, w] of want) {
    const g = got.get(key);
    if (!g) {
      problems.push(`group ${key} is missing`);
      continue;
    }
    for (const field of Object.keys(w)) {
      if (field === 'model_name' || field === 'hour') continue;
      const a = [w[field]].flat();
      const b = [g[field]].flat();
      if (a.length !== b.length || a.some((x, i) => !close(x, b[i]))) {
        problems.push(`${key}: ${field} ${JSON.stringify(g[field])}, expected ${JSON.stringify(w[field])}`);
        break;
      }
    }
  }
  return { count: problems.length, first: problems[0] ?? null };
}

/**
 * Checks every query's answers against the first contender (in `order`) that answered it, and
 * each contender's extra queries against the answer to the query they stand beside.
 * Returns { queries: { [query]: { reference, groups, agree: [ids], differ: { id: reason } } },
 * extras: [{ id, name, like, reference, count, first }] }.
 */
export function agreement(order, results) {
  const queries = {};
  for (const query of QUERIES) {
    const answered = order.filter((id) => results[id]?.time?.queries?.[query]?.rows);
    if (answered.length === 0) continue;
    const reference = answered[0];
    const rows = results[reference].time.queries[query].rows;
    const entry = { reference, groups: rows.length, agree: [reference], differ: {} };
    for (const id of answered.slice(1)) {
      const { first } = compare(rows, results[id].time.queries[query].rows);
      if (first === null) entry.agree.push(id);
      else entry.differ[id] = first;
    }
    queries[query] = entry;
  }
  const extras = [];
  for (const id of order) {
    for (const [name, extra] of Object.entries(results[id]?.time?.extras ?? {})) {
      const ref = queries[extra.like];
      if (!extra.rows || !ref) continue;
      const expected = results[ref.reference].time.queries[extra.like].rows;
      extras.push({ id, name, like: extra.like, reference: ref.reference, groups: expected.length, ...compare(expected, extra.rows) });
    }
  }
  return { queries, extras };
}

const group = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function ms(x) {
  if (x < 10) return `${group(x, 2)} ms`;
  if (x < 100) return `${group(x, 1)} ms`;
  return `${group(x)} ms`;
}

export function bytes(n) {
  if (n >= 1e9) return `${group(n / 1e9, 2)} GB`;
  if (n >= 1e6) return `${group(n / 1e6, 1)} MB`;
  return `${group(n / 1e3, 1)} kB`;
}

const ratio = (ours, theirs) => (ours > 0 && theirs > 0 ? `${(ours / theirs).toFixed(ours / theirs < 0.1 ? 3 : 2)}×` : '—');

/** Column values (numbers, for ratios) and cells (text) of one contender. */
function measures(result, dataBytes) {
  const values = {};
  const cells = {};
  const time = result.time;
  if (time?.error) {
    cells.ingest = 'failed, see below';
  } else if (time) {
    values.ingest = timed(time.ingestMs);
    cells.ingest = `${ms(values.ingest)} (${group(dataBytes / 1e6 / (values.ingest / 1e3))} MB/s)`;
    for (const q of QUERIES) {
      const r = time.queries[q];
      if (r?.error) cells[q] = 'n/a, see below';
      else if (r) cells[q] = ms((values[q] = timed(r.ms)));
    }
    for (const [name, extra] of Object.entries(time.extras ?? {})) {
      if (!extra.error) cells[extra.like] = `${cells[extra.like] ?? '—'} (${name}: ${ms(timed(extra.ms))})`;
    }
  }
  if (result.load?.error) cells.load = 'failed, see below';
  else if (result.load?.none) cells.load = '— (nothing to load)';
  else if (result.load) cells.load = ms((values.load = timed(result.load.ms)));
  if (result.memory?.error) cells.memory = 'failed, see below';
  else if (result.memory) {
    values.memory = result.memory.wasmBytes + result.memory.jsBytes;
    cells.memory = bytes(values.memory);
  }
  values.bundle = result.bundle.gzip;
  cells.bundle = bytes(values.bundle);
  return { values, cells };
}

const COLUMNS = [
  ['ingest', 'ingest'],
  ['usage', 'seed usage pipe'],
  ['performance', 'seed perf pipe'],
  ['quantiles', 'p50/p95/p99 per model'],
  ['hourly', 'per model per hour'],
  ['load', 'load'],
  ['memory', 'memory'],
  ['bundle', 'bundle gzip'],
];

/** The machine's 1-minute load average around the run: other work skews the timings. */
const loadLine = (env) =>
  `Load average (1 min) at the start and end of the run: ${env.loadStart.toFixed(2)} and ${env.loadEnd.toFixed(2)} on ${env.cores} cores.`;

/** The Markdown report of a side-by-side run. */
export function compareReport({ env, contenders, results, checks }) {
  const m = Object.fromEntries(contenders.map(({ id }) => [id, measures(results[id], env.dataBytes)]));
  const lines = [];
  lines.push(`# llm-metrics benchmark: ${group(env.rows)} events (${bytes(env.dataBytes)} of NDJSON)`, '');
  lines.push(`Chromium ${env.chromium}, ${env.cpu} (${env.cores} cores), Node.js ${env.node}; ${env.date}.`);
  lines.push(`Medians of ${env.reps} run${env.reps === 1 ? '' : 's'} after one warm-up; \`${env.command}\`.`);
  lines.push(loadLine(env), '');
  lines.push(`| | ${COLUMNS.map(([, title]) => title).join(' | ')} |`);
  lines.push(`|---|${COLUMNS.map(() => '---:').join('|')}|`);
  for (const { id, title } of contenders) {
    lines.push(`| ${title} | ${COLUMNS.map(([k]) => m[id].cells[k] ?? '—').join(' | ')} |`);
  }
  const ours = m['llm-metrics'];
  if (ours) {
    for (const { id, title } of contenders.filter((c) => c.ratio)) {
      const cells = COLUMNS.map(([k]) => ratio(ours.values[k], m[id].values[k]));
      lines.push(`| *llm-metrics ÷ ${title}* | ${cells.join(' | ')} |`);
    }
  }
  lines.push('', 'Ratios are llm-metrics ÷ the other (below 1 is better for llm-metrics, in every column).', '');
  for (const { id, title } of contenders) {
    const w = results[id].time?.warmUpMs;
    if (typeof w === 'number') {
      lines.push(`${title} ran its warmUp() after loading and before the timed runs: ${w.toFixed(0)} ms, in no column above.`, '');
    }
  }

  lines.push('## Agreement', '');
  lines.push(`Every answer is compared group by group with the reference's, numbers to ${TOLERANCE} relative.`, '');
  const name = (id) => contenders.find((c) => c.id === id).title;
  for (const q of QUERIES) {
    const c = checks.queries[q];
    if (!c) {
      lines.push(`- ${q}: no contender answered`);
      continue;
    }
    let text = `- ${q} (${c.groups} groups): ${c.agree.map(name).join(', ')} agree`;
    if (c.agree.length === 1) text = `- ${q} (${c.groups} groups): only ${name(c.reference)} answered`;
    for (const [id, why] of Object.entries(c.differ)) text += `; **${name(id)} differs**: ${why}`;
    lines.push(text);
  }
  for (const x of checks.extras) {
    const verdict = x.count === 0 ? 'agrees' : `differs in ${x.count} of ${x.groups} groups (first: ${x.first})`;
    lines.push(`- ${name(x.id)}'s ${x.name}, beside ${x.like}: ${verdict} with ${name(x.reference)}`);
  }
  const missing = contenders.flatMap(({ id, title }) =>
    QUERIES.filter((q) => results[id].time?.queries?.[q]?.error).map((q) => `- ${title}, ${q}: ${results[id].time.queries[q].error}`),
  );
  if (missing.length) lines.push('', 'Not answered:', '', ...missing);
  const failed = contenders.flatMap(({ id, title }) =>
    ['time', 'memory', 'load'].filter((p) => results[id][p]?.error).map((p) => `- ${title}, ${p} run: ${results[id][p].error}`),
  );
  if (failed.length) lines.push('', 'Failures:', '', ...failed);

  lines.push('', '## Memory and bundle detail', '');
  lines.push('| | WebAssembly.Memory | worker JS heap + ArrayBuffers | bundle files (gzip -9) |');
  lines.push('|---|---:|---:|---|');
  for (const { id, title } of contenders) {
    const mem = results[id].memory;
    const files = results[id].bundle.files.map((f) => `${f.name} ${bytes(f.gzip)}`).join(', ');
    const wasm = mem && !mem.error && mem.wasmBytes > 0 ? bytes(mem.wasmBytes) : '—';
    const js = mem && !mem.error ? bytes(mem.jsBytes) : '—';
    lines.push(`| ${title} | ${wasm} | ${js} | ${files} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The Markdown report of a streaming run (llm-metrics only). */
export function streamReport({ env, result }) {
  const lines = [];
  lines.push(`# llm-metrics streaming benchmark: ${group(env.rows)} events (${bytes(env.dataBytes)} of NDJSON)`, '');
  lines.push(`Chromium ${env.chromium}, ${env.cpu} (${env.cores} cores), Node.js ${env.node}; ${env.date}.`);
  lines.push(`\`${env.command}\`: fetch() body reader → store.write(chunk), in one worker.`);
  lines.push(loadLine(env), '');
  const ok = !result.error;
  lines.push(`- completed: **${ok ? 'yes' : 'no'}**${ok ? '' : ` (${result.error})`}`);
  lines.push(`- rows stored: ${result.rows === null || result.rows === undefined ? 'unknown' : group(result.rows)} of ${group(env.rows)}`);
  if (result.bytes !== undefined) lines.push(`- bytes streamed: ${bytes(result.bytes)}`);
  if (result.ingestMs !== undefined) {
    lines.push(
      `- ingest time, first read to end(): ${ms(result.ingestMs)} (${group((result.bytes ?? 0) / 1e6 / (result.ingestMs / 1e3))} MB/s)`,
    );
  }
  if (result.transport) {
    const t = result.transport;
    lines.push(
      `- the same HTTP read without ingesting: ${ms(t.ms)} (${group(t.bytes / 1e6 / (t.ms / 1e3))} MB/s), ` +
        `${group(t.chunks)} chunks of ${bytes(t.bytes / t.chunks)} on average`,
    );
  }
  if (result.wasmBytes !== undefined) lines.push(`- WebAssembly.Memory after ingest: ${bytes(result.wasmBytes)}`);
  if (result.jsBytes !== undefined) lines.push(`- worker JS heap + ArrayBuffers at the end: ${bytes(result.jsBytes)}`);
  for (const q of QUERIES) {
    const r = result.queries?.[q];
    if (r) lines.push(`- ${q}: ${r.error ? `n/a: ${r.error}` : `${ms(timed(r.ms))} (median of ${r.ms.length - 1})`}`);
  }
  return `${lines.join('\n')}\n`;
}
