// The dispatcher product as others see it. server.ts builds one WebhookDispatcher (the WebhookQueue other
// parts deliver through) and wires /dispatch `_url` and the delivery log routes from here; the admin
// console mounts the delivery log through `deliveryLogRoutes`. Nothing else reaches into dispatch/.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { atItem } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { DeliveryQueue } from '../store/contracts/delivery-queue.js';
import { webhookFromDispatch } from './accept.js';
import { deliveriesApi, type DeliveryLog } from './deliveries-api.js';
import { WebhookDispatcher } from './dispatcher.js';
import type { QueueWebhook, QueueWebhooks } from './route.js';

export { dispatchRoute } from './route.js';
export type { DeliveryLog } from './deliveries-api.js';
export type { WebhookDispatcher } from './dispatcher.js';

/** The options the dispatcher reads (the server's Config has them under these names). */
export interface DispatchConfig {
  allowPrivateTargets: boolean;
  signingSecret?: string | undefined;
  retrySchedule?: number[] | undefined;
  deliveryTimeout: number;
  deliveryConcurrency: number;
  /** 0: the dispatcher's own default. */
  deliveryPerHost: number;
  deliveryThreads: number;
  maxQueueDepth: number;
  retention: number;
}

export function createDispatcher(config: DispatchConfig, deps: { store: DeliveryQueue; metrics: Metrics; log: FastifyBaseLogger }): WebhookDispatcher {
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

/**
 * The delivery log routes (list, one, resend, recover) under `prefix`: '' for /api/deliveries (register
 * inside the api-key guarded context), '/admin' for the console's copy.
 */
export function deliveryLogRoutes(app: FastifyInstance, log: DeliveryLog, prefix = ''): void {
  deliveriesApi(app, { dispatcher: log }, prefix);
}
