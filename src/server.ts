// Builds the Fastify app from the parts, in this order: store, metrics, the app (http/app.ts), Topics, the
// system events, then the products' plugins (dispatch, topics, WebSub, channels, Pusher), the admin console,
// ops, and the close order. buildServer() does not listen; startServer() does.
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { pusherAppsOf, type Config } from './config.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { Topics } from './core/topics.js';
import { SystemEvents } from './core/system-events.js';
import { dispatcherOf, dispatcherPlugin } from './dispatch/index.js';
import { topicsPlugin } from './api/index.js';
import { createApp } from './http/app.js';
import { Connections } from './http/connections.js';
import { exposureWarning } from './http/exposure.js';
import { faviconRoute } from './http/favicon.js';
import { opsRoutes } from './ops/health.js';
import { createStore, type Store } from './store/index.js';
import type { WebhookQueue } from './core/webhooks.js';
import { subscriptionsAdminView, websubOf, websubPlugin } from './websub/index.js';
import { channelsAdminView, channelsOf, channelsPlugin, type Channels } from './channels/index.js';
import { adminConsole } from './admin/plugin.js';
import { useIoUring } from './core/send-batch.js';
import { pusherOf, pusherPlugin, type PusherFrontDoor, type PusherNode, type PusherWebhookSink } from './pusher/index.js';

export interface Hookhub {
  app: FastifyInstance;
  config: Config;
  store: Store;
  topics: Topics;
  metrics: Metrics;
  connections: Connections;
  /** The durable outgoing webhook queue (dispatcher); other parts deliver through it. */
  webhooks: WebhookQueue;
  channels: Channels;
  /** The Pusher front door's connections and their directory (when apps are configured). */
  pusher: PusherNode | undefined;
  /** Base URL once listening (startServer). */
  url: string;
  close(): Promise<void>;
}

export interface BuildOptions {
  /** A pino logger or options; defaults to JSON logs on stdout at --log-level. */
  logger?: FastifyServerOptions['loggerInstance'];
  store?: Store;
  /** Where the Pusher front door reports lifecycle events (channel_occupied, member_added, …). */
  pusherWebhooks?: PusherWebhookSink;
}

export async function buildServer(config: Config, options: BuildOptions = {}): Promise<Hookhub> {
  const store = options.store ?? (await createStore(config));
  useIoUring(config.ioUring);
  const metrics = createMetrics();
  const storeWritable = (): void => store.assertWritable();
  const connections = new Connections(config.maxConnections, metrics);
  let hookhub: Hookhub; // assigned at the end; the URLs below read it lazily
  // Read lazily: the listening address is known only after listen().
  const publicUrl = (): string => config.publicUrl ?? hookhub.url;
  const app = await createApp(config, { logger: options.logger, storeWritable });
  const topics = new Topics(store.topics, metrics, {
    errorLog: app.log,
    maxJsonDepth: config.maxJsonDepth,
    writable: storeWritable,
    maxTopics: config.maxTopics,
  });
  // The system topic (hookhub.endpoints): endpoint and channel events, and --alert-url through the dispatcher.
  const systemEvents = new SystemEvents(topics, (err, event, what) => app.log.error({ err, event: event.type }, what));

  // The products, each one plugin with its routes and its auth hook. What one hands another (the webhook
  // queue, the WebSocket route) comes back from its registration and passes through here.
  // The dispatcher: /dispatch, /api/deliveries, /api/endpoints (--api-key); the queue the others deliver through.
  await app.register(dispatcherPlugin, { config, store, topics, metrics, events: systemEvents, storeWritable });
  const dispatcher = dispatcherOf(app);
  // Topics: /stream and /sse (--stream-key), /api/topics (--api-key).
  await app.register(topicsPlugin, { config, topics, connections, metrics });
  // WebSub: /hub (judged per topic and direction, no key hook), /api/subscriptions (--api-key).
  await app.register(websubPlugin, {
    config,
    subscriptions: store.subscriptions,
    topics,
    metrics,
    queue: dispatcher,
    publicUrl,
    storeWritable,
  });
  const websub = websubOf(app);
  let pusher: PusherFrontDoor | undefined;
  // Before the WebSocket plugin closes the connections (its preClose comes with channels, next): on several
  // nodes, this node's Pusher subscriptions and members go to a live node, which reports them leaving.
  app.addHook('preClose', async () => pusher?.handOver());
  // Browser channels: /ws (at the root), its HTTP fallback, /web and /rest (own token check), /hookbox.js.
  await app.register(channelsPlugin, {
    config,
    topics,
    store,
    metrics,
    events: systemEvents,
    connections,
    ownUrl: () => config.publicUrl ?? hookhub?.url,
  });
  const { channels, wsRoute } = channelsOf(app);
  // The Pusher front door: /app/<key> and /apps/<app_id>/… (own access model: signed authorizations).
  await app.register(pusherPlugin, {
    apps: pusherAppsOf(config),
    config,
    topics,
    roster: store.pusher,
    queue: dispatcher,
    wsRoute,
    webhooks: options.pusherWebhooks,
  });
  pusher = pusherOf(app);

  // The /admin console: own context and own auth (Basic, --admin-password); absent (404) when unset.
  const adminPassword = config.adminPassword;
  if (adminPassword !== undefined) {
    await app.register(async (adminContext) => {
      await adminConsole(adminContext, {
        password: adminPassword,
        publicUrl: config.publicUrl,
        storeKind: store.kind,
        topics,
        connections,
        metrics,
        deliveries: dispatcher,
        subscriptions: subscriptionsAdminView(store.subscriptions),
        channels: channelsAdminView(channels),
        startedAt: Date.now(),
        maxJsonDepth: config.maxJsonDepth,
        historyMaxBytes: config.historyMaxBytes,
      });
    });
  }
  opsRoutes(app, { store, metrics, metricsKey: config.metricsKey });
  faviconRoute(app);

  // The close order, after the Pusher hand-over and the WebSocket plugin's close above (preClose hooks run
  // in the order added, then the HTTP server closes, then the onClose hook below — the only one that
  // closes products' parts, so that its order is the close order).
  app.addHook('preClose', async () => connections.shutdownAll());
  // The leaves of the connections just closed reach the webhook sink, then what waits there (delayed leaves)
  // is queued, before the dispatcher stops.
  app.addHook('preClose', async () => pusher?.settle());
  // WebSub stops verifying and fetching before the queue it feeds stops.
  app.addHook('preClose', async () => websub.close());
  // Stop claiming, let attempts in flight finish (bounded), release the rest — before the store closes.
  app.addHook('preClose', async () => dispatcher.stop());
  app.addHook('onClose', async () => {
    // The channels: polling stops, and what the connections' leaves started (channel destroys, history,
    // state) ends — no request is left to start more.
    await channels.close();
    // The last membership changes are made and every operational event is published before the store goes.
    await store.presence.flush();
    await systemEvents.settled();
    await store.close();
  });

  hookhub = {
    app,
    config,
    store,
    topics,
    metrics,
    connections,
    webhooks: dispatcher,
    channels,
    pusher: pusher.node,
    url: '',
    close: () => app.close(),
  };
  await dispatcher.start();
  return hookhub;
}

export async function startServer(config: Config, options: BuildOptions = {}): Promise<Hookhub> {
  const hookhub = await buildServer(config, options);
  const exposed = exposureWarning(config.host, config.apiKey);
  if (exposed !== undefined) hookhub.app.log.warn(exposed);
  const address = await hookhub.app.listen({ port: config.port, host: config.host });
  hookhub.url = address.replace('[::1]', '127.0.0.1');
  return hookhub;
}
