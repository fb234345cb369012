// How values are written on the page and in exports. Pure functions, shared by the dashboard
// and its tests.

const INTEGER = /^(Nullable\()?U?Int\d+/;
const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;

export function isNumericType(type) {
  return NUMERIC.test(type);
}

export function isIntegerType(type) {
  return INTEGER.test(type);
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const largeFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
const smallFormat = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });

/** A number for a table cell: integers in full, others with four decimals or four digits. */
export function formatNumber(value) {
  if (Number.isInteger(value)) return integerFormat.format(value);
  if (Math.abs(value) >= 1) return largeFormat.format(value);
  return smallFormat.format(value);
}

/**
 * The text of a table cell for a value of a ClickHouse type: numbers grouped, null (NaN in the
 * engine) as "–", arrays joined with "; ", everything else as the string the pipe returned.
 */
export function formatCell(value, type = '') {
  if (value === null || value === undefined) return '–';
  if (Array.isArray(value)) return value.map((v) => formatCell(v)).join('; ');
  if (typeof value === 'number') return isNumericType(type) || type === '' ? formatNumber(value) : String(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The exact value behind a cell, as text: what a title or data-value attribute carries. */
export function exactText(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function formatCount(n) {
  return integerFormat.format(n);
}

export function plural(n, word, words = `${word}s`) {
  return `${formatCount(n)} ${n === 1 ? word : words}`;
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}

export function formatSeconds(s) {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s.toFixed(2)} s`;
}

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const usdSmall = new Intl.NumberFormat('en-US', {
  style: 'currency', currency: 'USD', maximumSignificantDigits: 3,
});

export function formatUsd(value) {
  if (value !== 0 && Math.abs(value) < 1) return usdSmall.format(value);
  return usd.format(value);
}

/** The KPI cards: llm_kpis column, label, and how its value is written. */
export const KPIS = [
  { key: 'requests', label: 'Requests', format: formatCount },
  { key: 'total_tokens', label: 'Total tokens', format: formatCount },
  { key: 'total_cost', label: 'Cost', format: formatUsd },
  { key: 'avg_latency', label: 'Avg latency', format: (v) => `${v.toFixed(2)} s` },
  { key: 'success_rate', label: 'Success rate', format: (v) => `${(v * 100).toFixed(2)} %` },
  { key: 'errors', label: 'Errors', format: formatCount },
];

/** A KPI value's text; "–" for null (a ratio over no events). */
export function formatKpi(kpi, value) {
  if (value === null || value === undefined) return '–';
  return kpi.format(value);
}

// ---- exports -------------------------------------------------------------------------------

/**
 * One CSV field (RFC 4180). Text that a spreadsheet would run as a formula (starting with
 * = + - @, tab or carriage return) gets a leading apostrophe.
 */
function csvField(value) {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A table as CSV: a header row of column names, then one row per record, CRLF-terminated. */
export function toCsv(meta, data) {
  const lines = [meta.map((m) => csvField(m.name)).join(',')];
  for (const record of data) lines.push(meta.map((m) => csvField(record[m.name])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** A table as JSON in the endpoint shape: { meta, data, rows }. */
export function toJson(meta, data) {
  return `${JSON.stringify({ meta, data, rows: data.length }, null, 2)}\n`;
}

// ---- time ----------------------------------------------------------------------------------

/** 'YYYY-MM-DD HH:MM:SS' (UTC) to seconds since the epoch. */
export function parseDateTime(text) {
  return Date.parse(`${text.replace(' ', 'T')}Z`) / 1000;
}

/** Seconds since the epoch to 'YYYY-MM-DD HH:MM:SS' (UTC). */
export function formatDateTime(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}
