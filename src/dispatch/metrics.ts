// Dispatcher metrics, registered on the server's registry: attempts by outcome, queue depth, latency.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type AttemptOutcomeLabel = 'success' | 'http_retry' | 'http_final' | 'timeout' | 'network_error' | 'refused';

export function createDispatchMetrics(registry: Registry, depth: () => Promise<number>) {
  return {
    attempts: new Counter({
      name: 'hookhub_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'hookhub_webhook_deliveries_total',
      help: 'Webhook deliveries finished, by final status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    depth: new Gauge({
      name: 'hookhub_webhook_queue_depth',
      help: 'Webhook deliveries not finished yet (pending or being delivered)',
      registers: [registry],
      async collect() {
        this.set(await depth());
      },
    }),
    latency: new Histogram({
      name: 'hookhub_webhook_delivery_seconds',
      help: 'Time from enqueue to the successful attempt',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400],
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: 'hookhub_webhook_attempt_seconds',
      help: 'Duration of one webhook attempt',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
      registers: [registry],
    }),
  };
}

export type DispatchMetrics = ReturnType<typeof createDispatchMetrics>;
