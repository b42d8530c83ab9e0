// WebSub as one Fastify plugin: it builds the hub (deliveries through the WebhookQueue server.ts hands in),
// serves /hub (with /subscribe and /publish) and /api/subscriptions, and starts the hub. /hub has no key
// hook: subscribers and publishers may carry none, and each request is judged by topic and direction
// (websub/access.ts). /api/subscriptions is behind --api-key. The hub comes back by `websubOf` (server.ts
// closes it before the queue it feeds stops).
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { Topics } from '../core/topics.js';
import type { WebhookQueue } from '../core/webhooks.js';
import { requireKey } from '../http/auth.js';
import { productHandle, productPlugin } from '../http/plugin.js';
import type { Subscriptions } from '../store/contracts/subscriptions.js';
import { WebSubHub } from './hub.js';
import { subscriptionsApi, websubRoutes } from './routes.js';

/** The server options WebSub reads (the server's Config has them under these names). */
export interface WebSubConfig {
  apiKey?: string | undefined;
  streamKey?: string | undefined;
  websubAllow?: readonly string[] | undefined;
  allowPrivateTargets: boolean;
  websubRequireHttps: boolean;
  leaseMin: number;
  leaseMax: number;
  leaseDefault: number;
  /** Timeout of verification GETs and topic fetches. */
  deliveryTimeout: number;
  maxBody: number;
  websubFetchRetry: readonly number[];
  websubPendingMax: number;
  websubPendingPerHost: number;
}

export interface WebSubPluginOptions {
  config: WebSubConfig;
  subscriptions: Subscriptions;
  topics: Topics;
  metrics: Metrics;
  /** Where content distribution goes: the dispatcher's queue. */
  queue: WebhookQueue;
  /** How clients reach this server, read lazily (known once listening). */
  publicUrl: () => string;
  /** Throws when the store cannot take a write now. */
  storeWritable: () => void;
}

const hubHandle = productHandle<WebSubHub>('hookhub.websub');

/** The hub the plugin built, once `await app.register(websubPlugin, …)` has returned. */
export const websubOf = (app: FastifyInstance): WebSubHub => hubHandle.of(app);

export const websubPlugin = productPlugin<WebSubPluginOptions>('hookhub-websub', async (app, options) => {
  const { config } = options;
  const websub = new WebSubHub({
    subscriptions: options.subscriptions,
    topics: options.topics,
    log: app.log,
    registry: options.metrics.registry,
    allowPrivate: config.allowPrivateTargets,
    requireHttps: config.websubRequireHttps,
    access: { allow: config.websubAllow, apiKey: config.apiKey, streamKey: config.streamKey },
    leaseMinMs: config.leaseMin,
    leaseMaxMs: config.leaseMax,
    leaseDefaultMs: config.leaseDefault,
    timeoutMs: config.deliveryTimeout,
    maxBody: config.maxBody,
    fetchSchedule: config.websubFetchRetry,
    pendingMax: config.websubPendingMax,
    pendingPerHost: config.websubPendingPerHost,
    publicUrl: options.publicUrl,
  });
  websub.useQueue(options.queue);
  hubHandle.set(app, websub);
  await app.register(async (api) => {
    api.addHook('onRequest', requireKey(config.apiKey));
    subscriptionsApi(api, websub);
  });
  await app.register(async (hub) => {
    websubRoutes(hub, websub, {
      allowPrivate: config.allowPrivateTargets,
      requireHttps: config.websubRequireHttps,
      maxBody: config.maxBody,
      storeWritable: options.storeWritable,
    });
  });
  await websub.start();
});
