// Pipes the dashboard adds to its store: the two founding pipes, llm_usage_by_model and
// llm_performance, with the same columns and the filter parameters every other view takes.
// addPipe() names a pipe after its last node. Without filters the dashboard runs the founding
// pipes themselves.

const FILTERS = `
    WHERE 1
        {% if defined(start_date) %} AND event_time >= {{DateTime(start_date)}} {% end %}
        {% if defined(end_date) %} AND event_time <= {{DateTime(end_date)}} {% end %}
        {% if defined(models) %} AND model_name IN {{Array(models, 'String')}} {% end %}`;

export const FILTERED_USAGE = 'llm_usage_by_model_filtered';
export const FILTERED_PERFORMANCE = 'llm_performance_filtered';

export const DASHBOARD_PIPES = [
  `DESCRIPTION >
    Token usage and cost per model (llm_usage_by_model) for a time range and a set of models.
    Parameters (all optional): start_date and end_date (DateTime, inclusive), models (Array of
    String).

NODE ${FILTERED_USAGE}
SQL >
    %
    SELECT
        model_name,
        sum(prompt_tokens) AS total_prompt_tokens,
        sum(completion_tokens) AS total_completion_tokens,
        sum(total_tokens) AS total_tokens,
        sum(cost) AS total_cost
    FROM llm_events${FILTERS}
    GROUP BY model_name

TYPE endpoint
`,
  `DESCRIPTION >
    Latency and success rate per model (llm_performance) for a time range and a set of models.
    Parameters (all optional): start_date and end_date (DateTime, inclusive), models (Array of
    String).

NODE ${FILTERED_PERFORMANCE}
SQL >
    %
    SELECT
        model_name,
        avg(latency) AS avg_latency,
        avg(success) AS success_rate
    FROM llm_events${FILTERS}
    GROUP BY model_name

TYPE endpoint
`,
];
