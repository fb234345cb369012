import { useState, type ChangeEvent } from 'react';
import 'llm-metrics/dashboard';
import { createStore } from 'llm-metrics';

interface Summary {
  state: 'ready' | 'loading' | 'failed';
  text: string;
  requests?: number;
  tokens?: number;
}

/** The dashboard element, and createStore() answering llm_kpis for a file chosen here. */
export function App() {
  const [summary, setSummary] = useState<Summary | null>(null);

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (!file) return;
    setSummary({ state: 'loading', text: 'Loading…' });
    const store = await createStore();
    try {
      const report = await store.loadFile(file);
      const { data: [kpis] } = await store.pipe('llm_kpis');
      const requests = Number(kpis.requests);
      const tokens = Number(kpis.total_tokens);
      setSummary({
        state: 'ready',
        text: `${file.name}: ${report.rows} rows stored, ${requests} requests, ${tokens} tokens, $${kpis.total_cost} spent.`,
        requests,
        tokens,
      });
    } catch (err) {
      setSummary({ state: 'failed', text: `The store failed: ${err instanceof Error ? err.message : String(err)}` });
    } finally {
      await store.close();
    }
  }

  return (
    <main>
      <h1>llm-metrics with Vite and React</h1>
      <h2>The dashboard element</h2>
      <llm-metrics-dashboard views="inputs kpis usage cost" />
      <h2>createStore() on its own</h2>
      <label>
        NDJSON file <input id="file" type="file" accept=".ndjson,.jsonl,.json,.gz" onChange={onFile} />
      </label>
      <p
        id="summary"
        role="status"
        data-state={summary?.state}
        data-requests={summary?.requests}
        data-tokens={summary?.tokens}
      >
        {summary?.text ?? 'Choose a file.'}
      </p>
    </main>
  );
}
