// Dispatcher metrics, registered on the server's registry: attempts by outcome, queue depth, latency.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LabelTally } from './label-tally.js';

export type AttemptOutcomeLabel = 'success' | 'http_retry' | 'http_final' | 'timeout' | 'network_error' | 'refused';

/** hookhub_endpoint_state's values. */
export const ENDPOINT_STATE_VALUE = { closed: 0, half_open: 1, open: 2, disabled: 3 } as const;

export function createDispatchMetrics(
  registry: Registry,
  depth: () => Promise<number>,
  endpointStates: () => Array<[string, keyof typeof ENDPOINT_STATE_VALUE]> = () => [],
) {
  // Per-delivery counts, handed to their counters at scrape time (label-tally.ts says why).
  const tallies = { attempts: new LabelTally(), deliveries: new LabelTally(), endpointSuccess: new LabelTally(), endpointFailure: new LabelTally() };
  return {
    tallies,
    attempts: new Counter({
      name: 'hookhub_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        tallies.attempts.drain((outcome, n) => this.inc({ outcome }, n));
      },
    }),
    deliveries: new Counter({
      name: 'hookhub_webhook_deliveries_total',
      help: 'Webhook deliveries finished, by final status',
      labelNames: ['status'] as const,
      registers: [registry],
      collect() {
        tallies.deliveries.drain((status, n) => this.inc({ status }, n));
      },
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
    parked: new Counter({
      name: 'hookhub_webhook_parked_total',
      help: 'Deliveries parked because their endpoint was open or disabled',
      registers: [registry],
    }),
    endpointAttempts: new Counter({
      name: 'hookhub_endpoint_attempts_total',
      help: 'Webhook attempts by endpoint and result (success: 2xx; failure: anything else)',
      labelNames: ['endpoint', 'result'] as const,
      registers: [registry],
      collect() {
        tallies.endpointSuccess.drain((endpoint, n) => this.inc({ endpoint, result: 'success' }, n));
        tallies.endpointFailure.drain((endpoint, n) => this.inc({ endpoint, result: 'failure' }, n));
      },
    }),
    endpointAttemptDuration: new Histogram({
      name: 'hookhub_endpoint_attempt_seconds',
      help: 'Duration of one webhook attempt, by endpoint',
      labelNames: ['endpoint'] as const,
      buckets: [0.005, 0.025, 0.1, 0.5, 2.5, 15],
      registers: [registry],
    }),
    endpointState: new Gauge({
      name: 'hookhub_endpoint_state',
      help: 'Endpoint state: 0 closed, 1 half-open, 2 open, 3 disabled',
      labelNames: ['endpoint'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [endpoint, state] of endpointStates()) this.labels(endpoint).set(ENDPOINT_STATE_VALUE[state]);
      },
    }),
  };
}

export type DispatchMetrics = ReturnType<typeof createDispatchMetrics>;
