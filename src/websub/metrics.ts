// WebSub metrics, registered on the server's registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Subscriptions } from '../store/contracts/subscriptions.js';

export function createWebSubMetrics(registry: Registry, subscriptions: Subscriptions) {
  return {
    verifications: new Counter({
      name: 'hookhub_websub_verifications_total',
      help: 'WebSub verifications of intent by mode and outcome',
      labelNames: ['mode', 'outcome'] as const,
      registers: [registry],
    }),
    denials: new Counter({ name: 'hookhub_websub_denials_total', help: 'WebSub subscriptions denied', registers: [registry] }),
    fetches: new Counter({
      name: 'hookhub_websub_fetches_total',
      help: 'Topic fetches after a WebSub publish ping, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    queued: new Counter({ name: 'hookhub_websub_deliveries_queued_total', help: 'WebSub deliveries queued', registers: [registry] }),
    subscriptions: new Gauge({
      name: 'hookhub_websub_subscriptions',
      help: 'WebSub subscriptions in the store (pending, active and expired)',
      registers: [registry],
      async collect() {
        this.set(await subscriptions.count());
      },
    }),
  };
}

export type WebSubMetrics = ReturnType<typeof createWebSubMetrics>;
