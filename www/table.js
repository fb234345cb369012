// A sortable result table with CSV and JSON export. Every value is written with textContent;
// each cell keeps the exact value it shows in data-value.

import { exactText, formatCell, isNumericType, toCsv, toJson } from './format.js';

let tableCount = 0;

/** Starts a download of `text` as a file called `filename`. */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function compareValues(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return exactText(a).localeCompare(exactText(b), 'en');
}

export class DataTable {
  /**
   * `label`: the accessible name of the table; `exportName`: the file name of downloads,
   * without extension; `wide`: column names whose text may wrap.
   */
  constructor({ label, exportName, wide = [] }) {
    this.exportName = exportName;
    this.wide = new Set(wide);
    this.endpoint = null;
    this.sort = null; // { column, descending }
    const id = `lm-table-${++tableCount}`;

    this.element = document.createElement('div');
    this.element.className = 'table-block';

    const tools = document.createElement('div');
    tools.className = 'table-tools';
    this.summary = document.createElement('span');
    this.summary.className = 'table-summary';
    const csv = button('CSV', `Download ${label} as CSV`, () => this.export('csv'));
    const json = button('JSON', `Download ${label} as JSON`, () => this.export('json'));
    csv.dataset.export = 'csv';
    json.dataset.export = 'json';
    this.exportButtons = [csv, json];
    tools.append(this.summary, csv, json);

    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    wrap.tabIndex = 0;
    wrap.setAttribute('role', 'region');
    wrap.setAttribute('aria-label', label);
    this.table = document.createElement('table');
    this.table.id = id;
    const caption = document.createElement('caption');
    caption.className = 'visually-hidden';
    caption.textContent = label;
    this.thead = document.createElement('thead');
    this.tbody = document.createElement('tbody');
    this.table.append(caption, this.thead, this.tbody);
    wrap.append(this.table);
    this.element.append(tools, wrap);
    this.setEmpty();
  }

  setEmpty() {
    this.endpoint = null;
    this.thead.replaceChildren();
    this.tbody.replaceChildren();
    this.summary.textContent = 'No rows.';
    for (const b of this.exportButtons) b.disabled = true;
  }

  /** Shows an endpoint result ({ meta, data, rows, statistics }); keeps the chosen sort. */
  render(endpoint) {
    this.endpoint = endpoint;
    if (this.sort && !endpoint.meta.some((m) => m.name === this.sort.column)) this.sort = null;
    this.#renderHead();
    this.#renderBody();
    for (const b of this.exportButtons) b.disabled = false;
  }

  /** The records in the order shown. */
  rows() {
    if (!this.endpoint) return [];
    const data = this.endpoint.data;
    if (!this.sort) return data;
    const { column, descending } = this.sort;
    const sign = descending ? -1 : 1;
    // Stable: ties keep the pipe's order.
    return data
      .map((record, i) => [record, i])
      .sort((x, y) => sign * compareValues(x[0][column], y[0][column]) || x[1] - y[1])
      .map(([record]) => record);
  }

  sortBy(column) {
    if (this.sort?.column === column) this.sort = { column, descending: !this.sort.descending };
    else this.sort = { column, descending: false };
    this.#renderHead();
    this.#renderBody();
  }

  export(kind) {
    if (!this.endpoint) return;
    const { meta } = this.endpoint;
    if (kind === 'csv') download(`${this.exportName}.csv`, toCsv(meta, this.rows()), 'text/csv');
    else download(`${this.exportName}.json`, toJson(meta, this.rows()), 'application/json');
  }

  #renderHead() {
    const row = document.createElement('tr');
    for (const column of this.endpoint.meta) {
      const th = document.createElement('th');
      th.scope = 'col';
      if (isNumericType(column.type)) th.className = 'num';
      const sorted = this.sort?.column === column.name;
      th.setAttribute('aria-sort', sorted ? (this.sort.descending ? 'descending' : 'ascending') : 'none');
      const sortButton = button('', `${column.name}, ${column.type}, sort`, () => this.sortBy(column.name));
      sortButton.className = 'sort';
      sortButton.title = `${column.type}; sort by ${column.name}`;
      const name = document.createElement('span');
      name.className = 'col-name';
      name.textContent = column.name;
      const mark = document.createElement('span');
      mark.className = 'sort-mark';
      mark.setAttribute('aria-hidden', 'true');
      mark.textContent = sorted ? (this.sort.descending ? '▼' : '▲') : '';
      sortButton.append(name, mark);
      th.append(sortButton);
      row.append(th);
    }
    this.thead.replaceChildren(row);
  }

  #renderBody() {
    const { meta } = this.endpoint;
    const rows = this.rows().map((record) => {
      const tr = document.createElement('tr');
      for (const column of meta) {
        const td = document.createElement('td');
        const value = record[column.name];
        const text = formatCell(value, column.type);
        const exact = exactText(value);
        td.textContent = text;
        td.dataset.value = exact;
        if (exact !== text && typeof value === 'number') td.title = exact;
        if (isNumericType(column.type)) td.className = 'num';
        else if (this.wide.has(column.name)) td.className = 'wide';
        tr.append(td);
      }
      return tr;
    });
    this.tbody.replaceChildren(...rows);
    const stats = this.endpoint.statistics;
    const shown = this.endpoint.data.length;
    this.summary.textContent = stats
      ? `${shown.toLocaleString('en-US')} ${shown === 1 ? 'row' : 'rows'} · ` +
        `${stats.rows_read.toLocaleString('en-US')} rows read in ${(stats.elapsed * 1000).toFixed(1)} ms`
      : `${shown.toLocaleString('en-US')} ${shown === 1 ? 'row' : 'rows'}`;
  }
}

/** A button with visible text and an accessible name. */
export function button(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (label && label !== text) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}
