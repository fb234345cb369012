// The shipped pipes the dashboard reads for filtered views. Without filters it runs the founding
// pipes, llm_usage_by_model and llm_performance; with a time range or a set of models it runs
// their filtered versions, shipped with them in pipes/ (so a Tinybird project publishes them
// with the rest), which give the same columns and take the parameters every other view takes.

export const FILTERED_USAGE = 'llm_usage_by_model_filtered';
export const FILTERED_PERFORMANCE = 'llm_performance_filtered';
