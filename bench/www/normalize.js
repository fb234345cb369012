// The four benchmark queries and the one shape every contender's answer is brought to before it
// is compared (outside the timed sections). Contenders answer with rows named as below; numbers
// may be BigInts and hours may be 'YYYY-MM-DD HH:MM:SS' strings, Dates or epoch seconds.
//
//   usage        model_name, total_prompt_tokens, total_completion_tokens, total_tokens, total_cost
//   performance  model_name, avg_latency, success_rate
//   quantiles    model_name, q: [p50, p95, p99] of latency, ClickHouse quantileExact semantics
//   hourly       model_name, hour (start of the hour, UTC), requests

export const QUERIES = ['usage', 'performance', 'quantiles', 'hourly'];

/** The quantile levels of the `quantiles` query. */
export const LEVELS = [0.5, 0.95, 0.99];

const number = (v) => (typeof v === 'bigint' ? Number(v) : Number(v));

/** Epoch seconds of a 'YYYY-MM-DD HH:MM:SS' UTC string, a Date, or a number of seconds. */
function seconds(v) {
  if (typeof v === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(v);
    if (!m) throw new Error(`unexpected time '${v}'`);
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }
  if (v instanceof Date) return v.getTime() / 1000;
  return number(v);
}

const SHAPES = {
  usage: (r) => ({
    model_name: String(r.model_name),
    total_prompt_tokens: number(r.total_prompt_tokens),
    total_completion_tokens: number(r.total_completion_tokens),
    total_tokens: number(r.total_tokens),
    total_cost: number(r.total_cost),
  }),
  performance: (r) => ({
    model_name: String(r.model_name),
    avg_latency: number(r.avg_latency),
    success_rate: number(r.success_rate),
  }),
  quantiles: (r) => ({ model_name: String(r.model_name), q: Array.from(r.q, number) }),
  hourly: (r) => ({ model_name: String(r.model_name), hour: seconds(r.hour), requests: number(r.requests) }),
};

/** `rows` in the shared shape, as plain objects that survive structured cloning. */
export function canonical(query, rows) {
  return Array.from(rows, SHAPES[query]);
}
