// Prometheus metrics, one registry per server instance (tests run many servers in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  // Process and runtime metrics under their standard names (process_*, nodejs_*), as stock Node.js
  // dashboards and alerts expect them; Hookhub's own metrics are hookhub_*.
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    connections: new Gauge({ name: 'hookhub_connections', help: 'Open consumer connections', labelNames: ['transport'] as const, registers: [registry] }),
    published: new Counter({ name: 'hookhub_messages_published_total', help: 'Messages committed to topics', registers: [registry] }),
    delivered: new Counter({ name: 'hookhub_messages_delivered_total', help: 'Messages written to consumers', labelNames: ['transport'] as const, registers: [registry] }),
    dropped: new Counter({ name: 'hookhub_consumers_dropped_total', help: 'Consumers dropped (slow, over limit)', labelNames: ['transport', 'reason'] as const, registers: [registry] }),
    fanoutErrors: new Counter({
      name: 'hookhub_fanout_errors_total',
      help: 'Exceptions caught while handing a committed message on (stage: consumer, listener, store)',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    publishLatency: new Histogram({
      name: 'hookhub_publish_seconds',
      help: 'Time to commit a published message',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
