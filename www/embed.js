// The "store alone" half of embed.html: createStore() without the dashboard's UI, and the
// results written as text into the host page's own markup.

import { createStore } from './store.js';

const summary = document.getElementById('store-summary');
const list = document.getElementById('store-models');

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const count = new Intl.NumberFormat('en-US');

try {
  const store = await createStore();
  await store.loadSample(5000, 7);
  const { data: [kpis] } = await store.pipe('llm_kpis');
  const usage = await store.pipe('llm_usage_by_model');
  summary.textContent = `${count.format(kpis.requests)} requests cost ${usd.format(kpis.total_cost)}; ` +
    `${(kpis.success_rate * 100).toFixed(1)} % succeeded.`;
  const models = [...usage.data].sort((a, b) => b.total_cost - a.total_cost);
  list.replaceChildren(...models.map((row) => {
    const item = document.createElement('li');
    item.textContent = `${row.model_name}: ${usd.format(row.total_cost)}, ${count.format(row.total_tokens)} tokens`;
    item.dataset.model = row.model_name;
    item.dataset.cost = String(row.total_cost);
    return item;
  }));
  summary.dataset.state = 'ready';
  await store.close();
} catch (err) {
  summary.textContent = `The store could not run: ${err.message}`;
  summary.dataset.state = 'failed';
}
