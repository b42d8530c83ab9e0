// Building the dispatcher from the server's options: the WebhookDispatcher with its endpoint control, its
// --alert-url follower on the system topic, and what /dispatch calls to queue. dispatch/plugin.ts uses it.
import type { FastifyBaseLogger } from 'fastify';
import { atItem } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { DeliveryQueue } from '../store/contracts/delivery-queue.js';
import type { EndpointBook, EndpointLimiter } from '../store/contracts/endpoints.js';
import type { EndpointOptions } from './endpoints.js';
import type { SystemEvent, SystemEvents } from '../core/system-events.js';
import { ALERT_ORIGIN, type EndpointEvent } from './events.js';
import { webhookFromDispatch } from './accept.js';
import { WebhookDispatcher } from './dispatcher.js';
import type { QueueWebhook, QueueWebhooks } from './route.js';

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
  retentionCount: number;
  endpointConcurrency: number;
  endpointRate: number;
  endpointBurst: number;
  circuitFailures: number;
  circuitFailureRate: number;
  circuitWindow: number;
  circuitMinAttempts: number;
  circuitCooldown: number;
  endpointDisableAfter: number;
  alertUrl?: string | undefined;
}

/** The endpoint control's options from the server's. */
export function endpointOptions(config: DispatchConfig): EndpointOptions {
  return {
    defaults: { concurrency: config.endpointConcurrency, rate: config.endpointRate, burst: config.endpointBurst },
    circuit: {
      failures: config.circuitFailures,
      failureRate: config.circuitFailureRate,
      windowMs: config.circuitWindow,
      minAttempts: config.circuitMinAttempts,
    },
    cooldownMs: config.circuitCooldown,
    disableAfterMs: config.endpointDisableAfter,
  };
}

export interface DispatcherDeps {
  store: DeliveryQueue;
  /** Endpoint records and flow-control permits (the store's); without them, no endpoint control. */
  endpoints?: { book: EndpointBook; limiter: EndpointLimiter };
  metrics: Metrics;
  log: FastifyBaseLogger;
  /**
   * The system topic: endpoint events are emitted there, and every event emitted there (the channels' too)
   * goes to --alert-url. Without it, endpoint events go nowhere.
   */
  events?: SystemEvents;
}

export function createDispatcher(config: DispatchConfig, deps: DispatcherDeps): WebhookDispatcher {
  const log = deps.log.child({ part: 'dispatch' });
  // Every event of the system topic (endpoint events, and the other products') goes to --alert-url as a
  // delivery of its own, retried and logged like any other; except events about the alert endpoint itself,
  // which could only be parked behind the failure they report.
  const alertUrl = config.alertUrl;
  if (alertUrl !== undefined) {
    deps.events?.follow((e: SystemEvent, body: Buffer) => {
      if ('endpoint' in e && e.endpoint === dispatcher.endpoints?.endpointOf(alertUrl)) return;
      return dispatcher.enqueue({ url: alertUrl, body, contentType: 'application/json', origin: { kind: ALERT_ORIGIN, ref: e.type } })
        .catch((err: unknown) => log.error({ err, event: e.type }, 'queuing an alert failed'));
    });
  }
  const onEvent = (e: EndpointEvent): void => deps.events?.emit(e);
  const dispatcher: WebhookDispatcher = new WebhookDispatcher({
    store: deps.store,
    ...(deps.endpoints ? { endpoints: { ...deps.endpoints, options: endpointOptions(config) } } : {}),
    onEvent,
    registry: deps.metrics.registry,
    log,
    allowPrivateTargets: config.allowPrivateTargets,
    ...(config.signingSecret !== undefined ? { signingSecret: config.signingSecret } : {}),
    ...(config.retrySchedule !== undefined ? { schedule: config.retrySchedule } : {}),
    timeoutMs: config.deliveryTimeout,
    concurrency: config.deliveryConcurrency,
    ...(config.deliveryPerHost > 0 ? { perHost: config.deliveryPerHost } : {}),
    threads: config.deliveryThreads,
    maxQueueDepth: config.maxQueueDepth,
    retentionMs: config.retention,
    retentionCount: config.retentionCount,
  });
  return dispatcher;
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
