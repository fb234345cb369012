// Writes the provider data of the pinned npm package @pydantic/genai-prices (MIT) as JSON:
// { package, version, providers }, the price table llm-metrics reads (src/formats/prices.rs).
// The package keeps its data as the first declaration of its ES module (`const E = [...]`), not
// an export; it is read from there, evaluated as a plain literal in an empty context, and
// checked against the package's own calcPrice on a few models before it is written.
//
//   node scripts/prices.mjs OUT.json

import { readFileSync, writeFileSync } from 'node:fs';
import vm from 'node:vm';

const root = new URL('../node_modules/@pydantic/genai-prices/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const dist = new URL('dist/index.js', root);
const source = readFileSync(dist, 'utf8');

const head = 'const E = [';
const tail = '\n], J = {';
const end = source.indexOf(tail);
if (!source.startsWith(head) || end < 0) {
  throw new Error(`${pkg.name} ${pkg.version}: the data is not where this script expects it; update scripts/prices.mjs`);
}
const providers = vm.runInNewContext(`(${source.slice(head.length - 1, end + 2)})`, Object.create(null));

// The extracted data must be the data calcPrice uses.
const { calcPrice } = await import(dist.href);
for (const [model, provider] of [['gpt-4o', 'openai'], ['claude-3-5-sonnet-20241022', 'anthropic']]) {
  const calc = calcPrice({ input_tokens: 1000, output_tokens: 1000 }, model, { providerId: provider });
  const ours = providers.find((p) => p.id === provider)?.models.find((m) => m.id === calc?.model.id);
  if (!calc || !ours || JSON.stringify(ours.prices) !== JSON.stringify(calc.model.prices)) {
    throw new Error(`${pkg.name} ${pkg.version}: extracted data differs from calcPrice's for ${model}`);
  }
}

// Descriptions and usage extractors are not needed to price usage.
const slim = providers.map((p) => ({
  id: p.id,
  provider_match: p.provider_match,
  model_match: p.model_match,
  fallback_model_providers: p.fallback_model_providers,
  models: p.models.map((m) => ({ id: m.id, match: m.match, prices: m.prices })),
}));
const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/prices.mjs OUT.json');
const text = JSON.stringify({ package: pkg.name, version: pkg.version, providers: slim });
writeFileSync(out, text);
const models = slim.reduce((n, p) => n + p.models.length, 0);
console.log(`${out}: ${pkg.name} ${pkg.version}, ${slim.length} providers, ${models} models, ${text.length} bytes`);
