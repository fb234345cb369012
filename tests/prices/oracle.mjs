// The price package's own calculator on usages read from standard input, for tests/formats.rs:
// a JSON array of { model, provider, time_ms, usage } in, a JSON array of total prices (USD, or
// null where the package has no price) out. A provider name the package does not know is
// dropped, and the model alone then finds the provider, as llm-metrics does.
//
//   node tests/prices/oracle.mjs < usages.json

import { readFileSync } from 'node:fs';

const { calcPrice } = await import(
  new URL('../../node_modules/@pydantic/genai-prices/dist/index.js', import.meta.url).href
);
const cases = JSON.parse(readFileSync(0, 'utf8'));
const prices = cases.map(({ model, provider, time_ms, usage }) => {
  const timestamp = new Date(time_ms);
  let calc = provider ? calcPrice(usage, model, { providerId: provider, timestamp }) : null;
  calc ??= calcPrice(usage, model, { timestamp });
  return calc ? calc.total_price : null;
});
process.stdout.write(JSON.stringify(prices));
