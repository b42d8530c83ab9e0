// The dispatcher as one Fastify plugin: it builds the WebhookDispatcher (the WebhookQueue other products
// deliver through, handed back with `dispatcherOf`) and serves /dispatch, /api/deliveries and /api/endpoints
// behind --api-key. Starting and stopping stay with server.ts: the dispatcher starts once every part is
// registered and stops after the parts that feed it (see the close order there).
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { SystemEvents } from '../core/system-events.js';
import type { Topics } from '../core/topics.js';
import { fastLanesOf } from '../http/app.js';
import { requireKey } from '../http/auth.js';
import { productHandle, productPlugin } from '../http/plugin.js';
import type { Store } from '../store/contracts/store.js';
import { createDispatcher, queueBatchFromDispatch, queueFromDispatch, type DispatchConfig } from './create.js';
import { deliveriesApi } from './deliveries-api.js';
import type { WebhookDispatcher } from './dispatcher.js';
import { endpointsApi } from './endpoints-api.js';
import { dispatchLane, dispatchRoute } from './route.js';

export interface DispatcherPluginOptions {
  config: DispatchConfig & { apiKey?: string | undefined; maxJsonDepth: number; maxBody: number };
  store: Pick<Store, 'deliveries' | 'endpoints' | 'limiter'>;
  /** /dispatch publishes to topics too (a body without `_url`). */
  topics: Topics;
  metrics: Metrics;
  /** The system topic: endpoint events go there; with --alert-url every event there is delivered. */
  events: SystemEvents;
  /** Throws when the store cannot take a write now. */
  storeWritable: () => void;
}

const dispatcherHandle = productHandle<WebhookDispatcher>('hookhub.dispatcher');

/** The dispatcher the plugin built, once `await app.register(dispatcherPlugin, …)` has returned. */
export const dispatcherOf = (app: FastifyInstance): WebhookDispatcher => dispatcherHandle.of(app);

export const dispatcherPlugin = productPlugin<DispatcherPluginOptions>('hookhub-dispatcher', async (app, options) => {
  const { config } = options;
  const dispatcher = createDispatcher(config, {
    store: options.store.deliveries,
    endpoints: { book: options.store.endpoints, limiter: options.store.limiter },
    metrics: options.metrics,
    log: app.log,
    events: options.events,
  });
  dispatcherHandle.set(app, dispatcher);
  await app.register(async (api) => {
    // Without --api-key the hook would only return: no hook at all spares every request a hook turn.
    if (config.apiKey !== undefined) api.addHook('onRequest', requireKey(config.apiKey));
    const routeDeps = {
      topics: options.topics,
      storeWritable: options.storeWritable,
      maxJsonDepth: config.maxJsonDepth,
      queueWebhook: queueFromDispatch(dispatcher),
      queueWebhooks: queueBatchFromDispatch(dispatcher),
    };
    dispatchRoute(api, routeDeps);
    // The hot path: the same answers without Fastify's per-request work (whatever the lane passes on, the route takes).
    fastLanesOf(app).add(dispatchLane(routeDeps, { apiKey: config.apiKey, maxBody: config.maxBody }));
    deliveriesApi(api, { dispatcher });
    endpointsApi(api, dispatcher);
  });
});
