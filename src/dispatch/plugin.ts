// The dispatcher as server.ts wires it: one WebhookDispatcher (the WebhookQueue other parts use),
// the /dispatch `_url` path and the delivery log routes.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { atItem } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { DeliveryQueue } from '../store/contracts/delivery-queue.js';
import { webhookFromDispatch } from './accept.js';
import { deliveriesApi } from './deliveries-api.js';
import { WebhookDispatcher } from './dispatcher.js';
import type { QueueWebhook, QueueWebhooks } from './route.js';

export function createDispatcher(config: Config, deps: { store: DeliveryQueue; metrics: Metrics; log: FastifyBaseLogger }): WebhookDispatcher {
  return new WebhookDispatcher({
    store: deps.store,
    registry: deps.metrics.registry,
    log: deps.log.child({ part: 'dispatch' }),
    allowPrivateTargets: config.allowPrivateTargets,
    ...(config.signingSecret !== undefined ? { signingSecret: config.signingSecret } : {}),
    ...(config.retrySchedule !== undefined ? { schedule: config.retrySchedule } : {}),
    timeoutMs: config.deliveryTimeout,
    concurrency: config.deliveryConcurrency,
    ...(config.deliveryPerHost > 0 ? { perHost: config.deliveryPerHost } : {}),
    threads: config.deliveryThreads,
    maxQueueDepth: config.maxQueueDepth,
    retentionMs: config.retention,
  });
}

/** What /dispatch calls for a batch (a JSON array of `_url` objects). */
export const queueBatchFromDispatch = (dispatcher: WebhookDispatcher): QueueWebhooks => async (bodies) => {
  const ws = bodies.map((body, i) => atItem(i, () => webhookFromDispatch(body, {})));
  return (await dispatcher.enqueueAll(ws)).map((r) => r.id);
};

/** What /dispatch calls for `_url`. */
export const queueFromDispatch = (dispatcher: WebhookDispatcher): QueueWebhook => async (body, headers) => {
  const { id } = await dispatcher.enqueue(webhookFromDispatch(body, headers));
  return { id };
};

/** Delivery log routes; register inside the api-key guarded context. */
export function deliveryRoutes(app: FastifyInstance, dispatcher: WebhookDispatcher): void {
  deliveriesApi(app, { dispatcher });
}
