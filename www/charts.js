// Charts drawn with uPlot (www/vendor/, copied from node_modules by the build scripts): grouped
// horizontal bars for per-model values and lines for time series. Each chart is a <figure>
// whose caption says what it shows; figure.chart holds exactly the numbers drawn.

import uPlot from './vendor/uPlot.esm.js';

/** Colours for models, in the order of their names (Tableau 10, then again dashed). */
export const MODEL_COLORS = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

function themeColor(element, name, fallback) {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value || fallback;
}

/** Colours for axes and grid, read once per scheme from the dashboard's custom properties. */
const themes = new Map();
const dark = matchMedia('(prefers-color-scheme: dark)');

function theme(element) {
  const key = dark.matches ? 'dark' : 'light';
  if (!themes.has(key)) {
    themes.set(key, {
      fg: themeColor(element, '--lm-fg', '#1d2330'),
      grid: themeColor(element, '--lm-grid', '#e3e6ec'),
      font: '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    });
  }
  return themes.get(key);
}

/**
 * Charts are drawn in tasks of at most about DRAW_BUDGET_MS (a chart is never split), with a
 * frame between two tasks, so that drawing several never holds the main thread for long; a
 * chart asked to draw again before its turn draws only the latest data.
 */
const DRAW_BUDGET_MS = 8;
const drawQueue = [];
let drawScheduled = false;

function scheduleDraw(chart, draw) {
  return new Promise((resolve, reject) => {
    const pending = drawQueue.find((entry) => entry.chart === chart);
    const entry = { chart, draw, waiters: [...(pending?.waiters ?? []), { resolve, reject }] };
    if (pending) drawQueue.splice(drawQueue.indexOf(pending), 1, entry);
    else drawQueue.push(entry);
    if (!drawScheduled) {
      drawScheduled = true;
      setTimeout(drawNext, 0);
    }
  });
}

function drawNext() {
  const start = performance.now();
  do {
    const entry = drawQueue.shift();
    if (!entry) break;
    try {
      entry.draw();
      for (const w of entry.waiters) w.resolve();
    } catch (err) {
      for (const w of entry.waiters) w.reject(err);
    }
  } while (drawQueue.length > 0 && performance.now() - start < DRAW_BUDGET_MS);
  if (drawQueue.length === 0) drawScheduled = false;
  else if (document.hidden) setTimeout(drawNext, 0);
  else requestAnimationFrame(() => setTimeout(drawNext, 0));
}

/**
 * Draws and drops a small chart off-screen, so that the first real one, typically drawn right
 * after a large load, does not also pay for compiling uPlot's code and resolving its fonts.
 */
export function warmUp() {
  const target = document.createElement('div');
  const fg = '#888';
  const grid = '#888';
  const font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const chart = new uPlot({
    width: 200,
    height: 100,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    axes: [{ stroke: fg, font, grid: { stroke: grid } }, { stroke: fg, font, grid: { stroke: grid } }],
    series: [{}, { stroke: fg }, { fill: fg, paths: uPlot.paths.bars() }],
  }, [[0, 3600, 7200], [1, 3, 2], [2, 1, 3]], target);
  chart.destroy();
}

/** A figure with a caption, a plot area and (after render) a uPlot chart and its legend. */
class Chart {
  constructor({ title, description }) {
    this.figure = document.createElement('figure');
    this.figure.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    this.caption = caption;
    this.plot = document.createElement('div');
    this.plot.className = 'plot';
    this.plot.setAttribute('role', 'img');
    this.plot.setAttribute('aria-label', description ?? title);
    this.empty = document.createElement('p');
    this.empty.className = 'chart-empty';
    this.empty.textContent = 'No data for the current filters.';
    this.empty.hidden = true;
    this.figure.append(caption, this.empty, this.plot);
    this.uplot = null;
    this.figure.chart = null;
    // The width comes from the observer, so drawing never forces a layout.
    this.knownWidth = 0;
    this.resizer = new ResizeObserver((entries) => {
      this.knownWidth = entries[entries.length - 1].contentRect.width;
      this.#resize();
    });
    this.resizer.observe(this.figure);
  }

  get element() {
    return this.figure;
  }

  /** Stops observing the figure's size and destroys the uPlot chart (and its window listeners). */
  dispose() {
    this.resizer.disconnect();
    this.uplot?.destroy();
    this.uplot = null;
    this.shape = null;
  }

  setTitle(title, description) {
    this.caption.textContent = title;
    this.plot.setAttribute('aria-label', description ?? title);
  }

  width() {
    return Math.max(240, Math.floor(this.knownWidth || this.figure.clientWidth || 480));
  }

  #resize() {
    if (!this.uplot) return;
    const width = this.width();
    if (Math.abs(width - this.uplot.width) > 1) this.uplot.setSize({ width, height: this.uplot.height });
  }

  /**
   * Draws in a task of its own; `shown` is what figure.chart reports as drawn. A chart of the
   * same `shape` (series, colours, categories) as the one on screen only gets new data, after
   * `update()` has set what the chart's callbacks read; any other is built anew. Resolves once
   * drawn.
   */
  draw(options, data, shown, shape = null, update = () => {}) {
    return scheduleDraw(this, () => {
      this.figure.chart = shown;
      const hasData = shown.series.some((s) => s.values.length > 0);
      this.empty.hidden = hasData;
      this.plot.hidden = !hasData;
      if (hasData && this.uplot && shape !== null && shape === this.shape) {
        update();
        this.uplot.setData(data);
        return;
      }
      this.uplot?.destroy();
      this.uplot = null;
      this.shape = null;
      if (!hasData) return;
      update();
      this.uplot = new uPlot({ ...options, width: this.width() }, data, this.plot);
      this.shape = shape;
    });
  }

  clear() {
    return this.draw({}, [], { series: [] });
  }
}

/**
 * Horizontal bars, one row per category (model), with several series side by side in each
 * row, never stacked. `format` writes a value for the axis and legend.
 */
export class BarChart extends Chart {
  /** `format` writes values in the legend, `axisFormat` on the axis (default: `format`). */
  constructor({ title, description, format = String, axisFormat = format }) {
    super({ title, description });
    this.format = format;
    this.axisFormat = axisFormat;
  }

  /**
   * categories: strings; series: [{ label, color, values }] with one value per category.
   * Resolves once drawn.
   */
  render(categories, series) {
    const shown = {
      kind: 'bars',
      categories: [...categories],
      series: series.map((s) => ({ label: s.label, values: [...s.values] })),
    };
    if (categories.length === 0) {
      return this.draw({}, [], { ...shown, series: shown.series.map((s) => ({ ...s, values: [] })) });
    }
    const { fg, grid, font } = theme(this.figure);
    const n = categories.length;
    const group = 0.8;
    const barWidth = group / series.length;
    const index = categories.map((_, i) => i);
    const format = this.format;
    const axisFormat = this.axisFormat;
    const longest = Math.max(...categories.map((c) => c.length));
    // The callbacks read the categories from here, so that new data in the same shape (the
    // same models, maybe in another order) keeps the chart.
    const current = { categories };
    const shape = JSON.stringify([series.map((s) => [s.label, s.color]), [...categories].sort()]);
    const options = {
      height: 40 + n * Math.max(22, 9 * series.length + 8),
      scales: {
        // Vertical category axis, first category at the top.
        x: { time: false, ori: 1, dir: -1, range: [-0.5, n - 0.5] },
        y: { ori: 0, dir: 1, range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        {
          scale: 'x',
          side: 3,
          stroke: fg,
          font,
          grid: { show: false },
          ticks: { show: false },
          splits: () => index,
          values: (u, splits) => splits.map((i) => this.current.categories[i] ?? ''),
          size: Math.min(220, 16 + longest * 7),
        },
        {
          scale: 'y',
          side: 2,
          stroke: fg,
          font,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          values: (u, splits) => splits.map((v) => axisFormat(v)),
          space: 64,
          size: 36,
        },
      ],
      series: [
        { label: 'Model', value: (u, i) => (i === null ? '–' : this.current.categories[i] ?? '') },
        ...series.map((s, k) => ({
          label: s.label,
          scale: 'y',
          fill: s.color,
          stroke: s.color,
          width: 0,
          points: { show: false },
          value: (u, v) => (v === null || v === undefined ? '–' : format(v)),
          paths: uPlot.paths.bars({
            disp: {
              x0: { unit: 1, values: () => index.map((i) => i - group / 2 + k * barWidth) },
              size: { unit: 1, values: () => [barWidth * 0.92] },
            },
          }),
        })),
      ],
      legend: { show: true, live: true },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
    };
    return this.draw(options, [index, ...series.map((s) => s.values)], shown, shape, () => {
      this.current = current;
    });
  }
}

/** Lines over time, one per model; x in seconds since the epoch, shown in UTC. */
export class LineChart extends Chart {
  /**
   * `sync`: a key shared by charts whose cursors move together; `onSelect(start, end)`: called
   * with the seconds at both ends of a range dragged across the chart.
   */
  constructor({ title, description, format = String, sync, onSelect }) {
    super({ title, description });
    this.format = format;
    this.sync = sync;
    this.onSelect = onSelect;
  }

  /**
   * times: seconds; series: [{ label, color, dash, values }] with one value per time. Resolves
   * once drawn.
   */
  render(times, series) {
    const shown = {
      kind: 'lines',
      x: [...times],
      series: series.map((s) => ({ label: s.label, values: [...s.values] })),
    };
    if (times.length === 0 || series.length === 0) {
      return this.draw({}, [], { ...shown, series: [] });
    }
    const { fg, grid, font } = theme(this.figure);
    const format = this.format;
    const few = times.length <= 48;
    const shape = JSON.stringify([series.map((s) => [s.label, s.color, s.dash ?? null]), few]);
    const options = {
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        { stroke: fg, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: fg,
          font,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          values: (u, splits) => splits.map((v) => format(v)),
          size: 56,
        },
      ],
      series: [
        { label: 'Time (UTC)', value: '{YYYY}-{MM}-{DD} {HH}:{mm}' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          dash: s.dash,
          points: { show: few, size: 4, fill: s.color },
          value: (u, v) => (v === null || v === undefined ? '–' : format(v)),
        })),
      ],
      legend: { show: true, live: true },
      cursor: {
        sync: this.sync ? { key: this.sync } : undefined,
        drag: { x: Boolean(this.onSelect), y: false, setScale: false },
      },
      hooks: {
        setSelect: [
          (u) => {
            if (!this.onSelect || u.select.width < 2) return;
            const start = u.posToVal(u.select.left, 'x');
            const end = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.onSelect(Math.floor(start), Math.ceil(end));
          },
        ],
      },
    };
    return this.draw(options, [times, ...series.map((s) => s.values)], shown, shape);
  }
}
