// The page: reads NDJSON files (or generated sample events) into one in-memory EventStore and
// shows the report of each stream and the two pipes' results. Values are rendered with
// textContent only, exactly as the pipes return them.

import init, { EventStore, generateSample } from './pkg/llm_metrics.js';

const PIPES = [
  { name: 'llm_usage_by_model', section: 'usage' },
  { name: 'llm_performance', section: 'performance' },
];
const SAMPLE_ROWS = 100000;
const SAMPLE_SEED = 42;

const app = document.getElementById('app');
const filesInput = document.getElementById('files');
const sampleButton = document.getElementById('sample');
const statusLine = document.getElementById('status');
const rowCount = document.getElementById('row-count');
const reportList = document.getElementById('reports');

let store = null;

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

function setBusy(busy) {
  app.dataset.state = busy ? 'busy' : 'ready';
  app.setAttribute('aria-busy', String(busy));
  filesInput.disabled = busy;
  sampleButton.disabled = busy;
}

function plural(n, word) {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Appends one line describing a finished stream. */
function addReport(report) {
  const item = document.createElement('li');
  item.className = 'report';
  const name = document.createElement('strong');
  name.textContent = report.stream;
  item.append(
    name,
    `: ${plural(report.lines, 'line')}, ${plural(report.rows, 'row')} stored, ` +
      `${report.quarantined.toLocaleString('en-US')} quarantined, ` +
      `${report.blank.toLocaleString('en-US')} blank, ${formatBytes(report.bytes)}`,
  );
  if (report.errors.length > 0) {
    const errors = document.createElement('ul');
    errors.className = 'quarantine';
    for (const message of report.errors) {
      const line = document.createElement('li');
      line.textContent = message;
      errors.append(line);
    }
    item.append(errors);
  }
  reportList.append(item);
}

/** Appends a line for a stream that failed part-way. */
function addFailure(streamName, message) {
  const item = document.createElement('li');
  item.className = 'report error';
  const name = document.createElement('strong');
  name.textContent = streamName;
  item.append(name, `: ${message}`);
  reportList.append(item);
}

function cellText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const NUMERIC = /^(U?Int|Float|Decimal)/;

/** Fills one pipe's table from its endpoint JSON ({meta, data, rows, statistics}). */
function renderPipe(section, endpoint) {
  const thead = section.querySelector('thead');
  const tbody = section.querySelector('tbody');
  const headRow = document.createElement('tr');
  for (const column of endpoint.meta) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = column.name;
    th.title = column.type;
    if (NUMERIC.test(column.type)) th.className = 'num';
    headRow.append(th);
  }
  thead.replaceChildren(headRow);

  const rows = endpoint.data.map((record) => {
    const tr = document.createElement('tr');
    for (const column of endpoint.meta) {
      const td = document.createElement('td');
      td.textContent = cellText(record[column.name]);
      if (NUMERIC.test(column.type)) td.className = 'num';
      tr.append(td);
    }
    return tr;
  });
  tbody.replaceChildren(...rows);

  const ms = (endpoint.statistics.elapsed * 1000).toFixed(1);
  section.querySelector('.stats').textContent =
    `${plural(endpoint.rows, 'row')} · read ${plural(endpoint.statistics.rows_read, 'row')} in ${ms} ms`;
  section.hidden = false;
}

function refresh() {
  rowCount.textContent = `${plural(store.rowCount, 'event')} in memory.`;
  for (const { name, section } of PIPES) {
    const element = document.getElementById(section);
    try {
      renderPipe(element, store.pipe(name));
    } catch (err) {
      element.hidden = true;
      setStatus(`Pipe ${name} failed: ${err.message}`, true);
    }
  }
}

/** Feeds one File to the store chunk by chunk, as the browser reads it. */
async function ingestFile(file) {
  store.begin(file.name);
  const reader = file.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      store.write(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  return store.end();
}

/** Closes a stream that failed part-way so the next one starts cleanly. */
function closeFailedStream() {
  try {
    store.end();
  } catch {
    // The stream was never opened or is already closed: nothing to close.
  }
}

async function loadFiles(files) {
  setBusy(true);
  let failures = 0;
  try {
    for (const [i, file] of files.entries()) {
      setStatus(`Reading ${file.name} (${i + 1} of ${files.length})…`);
      try {
        addReport(await ingestFile(file));
      } catch (err) {
        failures += 1;
        closeFailedStream();
        addFailure(file.name, err.message);
      }
    }
    refresh();
    if (failures === 0) {
      setStatus(`Loaded ${plural(files.length, 'file')}.`);
    } else {
      setStatus(`${plural(failures, 'file')} could not be loaded; see the stream list.`, true);
    }
  } finally {
    setBusy(false);
  }
}

async function loadSample() {
  setBusy(true);
  const name = `sample (${SAMPLE_ROWS.toLocaleString('en-US')} events, seed ${SAMPLE_SEED})`;
  setStatus('Generating sample data…');
  // Let the status paint before the synchronous work starts.
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  try {
    const bytes = generateSample(SAMPLE_ROWS, SAMPLE_SEED);
    store.begin(name);
    store.write(bytes);
    addReport(store.end());
    refresh();
    setStatus('Loaded sample data.');
  } catch (err) {
    closeFailedStream();
    addFailure(name, err.message);
    setStatus(`Sample data could not be loaded: ${err.message}`, true);
  } finally {
    setBusy(false);
  }
}

async function main() {
  try {
    await init();
    store = new EventStore();
  } catch (err) {
    app.dataset.state = 'failed';
    setStatus(`The engine could not start: ${err.message}`, true);
    return;
  }
  filesInput.addEventListener('change', () => {
    const files = Array.from(filesInput.files ?? []);
    if (files.length > 0) loadFiles(files).finally(() => (filesInput.value = ''));
  });
  sampleButton.addEventListener('click', () => loadSample());
  setBusy(false);
  setStatus('Ready. Choose NDJSON files or load the sample data.');
}

main();
