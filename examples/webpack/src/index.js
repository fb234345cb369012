// @ts-check (webpack example: the same page script as examples/plain, bundled)
// The dashboard element registers itself on import; createStore() answers a pipe for a file
// chosen on the page, in a worker of its own that is closed once the answer is shown.
import 'llm-metrics/dashboard';
import { createStore } from 'llm-metrics';

const input = /** @type {HTMLInputElement} */ (document.getElementById('file'));
const summary = /** @type {HTMLElement} */ (document.getElementById('summary'));

input.addEventListener('change', async () => {
  const file = input.files?.[0];
  if (!file) return;
  summary.dataset.state = 'loading';
  const store = await createStore();
  try {
    const report = await store.loadFile(file);
    const { data: [kpis] } = await store.pipe('llm_kpis');
    summary.textContent = `${file.name}: ${report.rows} rows stored, ${kpis.requests} requests, ` +
      `${kpis.total_tokens} tokens, $${kpis.total_cost} spent.`;
    summary.dataset.requests = String(kpis.requests);
    summary.dataset.tokens = String(kpis.total_tokens);
    summary.dataset.state = 'ready';
  } catch (err) {
    summary.textContent = `The store failed: ${err instanceof Error ? err.message : err}`;
    summary.dataset.state = 'failed';
  } finally {
    await store.close();
  }
});
