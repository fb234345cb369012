// <llm-metrics-dashboard> in JSX: its attributes (the element's own types are the package's
// dashboard.d.ts).
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type { LlmMetricsDashboard } from 'llm-metrics/dashboard';

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'llm-metrics-dashboard': DetailedHTMLProps<HTMLAttributes<LlmMetricsDashboard>, LlmMetricsDashboard> & {
        src?: string;
        sample?: string | number;
        views?: string;
      };
    }
  }
}
