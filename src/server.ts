// Builds the Fastify app from the parts. buildServer() does not listen; startServer() does.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { pusherAppsOf, type Config } from './config.js';
import { isHookhubError } from './core/errors.js';
import { storeFailure } from './core/store-down.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { Topics } from './core/topics.js';
import { SystemEvents } from './core/system-events.js';
import { dispatcherOf, dispatcherPlugin } from './dispatch/index.js';
import { topicsPlugin } from './api/index.js';
import { Connections } from './http/connections.js';
import { exposureWarning } from './http/exposure.js';
import { lazyRequestLogger, logRequests } from './http/request-log.js';
import { capSockets, httpServerOptions } from './http/socket-limits.js';
import { faviconRoute } from './http/favicon.js';
import { openApi } from './http/openapi.js';
import { opsRoutes } from './ops/health.js';
import { createStore, type Store } from './store/index.js';
import type { WebhookQueue } from './core/webhooks.js';
import { subscriptionsAdminView, websubOf, websubPlugin } from './websub/index.js';
import { channelsAdminView, channelsOf, channelsPlugin, type Channels } from './channels/index.js';
import { adminConsole } from './admin/plugin.js';
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
  const metrics = createMetrics();
  const storeWritable = (): void => store.assertWritable();
  const connections = new Connections(config.maxConnections, metrics);

  const socketLimits = {
    headerTimeoutMs: config.headerTimeout,
    requestTimeoutMs: config.requestTimeout,
    maxSockets: config.maxSockets,
  };
  let hookhub: Hookhub; // assigned at the end; publicUrl() reads it lazily
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] } }),
    // One line per request comes from logRequests(); Fastify's two default lines are off.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: config.maxBody,
    forceCloseConnections: 'idle',
    // Header, body and keep-alive timeouts on every socket (Fastify's own default is none).
    http: httpServerOptions(socketLimits),
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.idleTimeout,
    routerOptions: { maxParamLength: 1024 },
  });

  capSockets(app.server, config.maxSockets);
  // Before any route: the generator collects the routes' schemas as they are added.
  await openApi(app);

  // Bodies arrive as bytes; each route decides what they mean (payloads are forwarded as received).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const known = isHookhubError(err) ? err : storeFailure(err, storeWritable);
    if (known) {
      if (known !== err) req.log.warn({ err }, 'request failed: store unavailable');
      if (known.retryAfter !== undefined) reply.header('retry-after', String(known.retryAfter));
      return reply.code(known.status).send({ error: known.message, code: known.code });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      const message = status === 413 ? `body larger than ${config.maxBody} bytes` : (err as Error).message;
      return reply.code(status).send({ error: message });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  const topics = new Topics(store.topics, metrics, {
    errorLog: app.log,
    maxJsonDepth: config.maxJsonDepth,
    writable: storeWritable,
    maxTopics: config.maxTopics,
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }));
  logRequests(app);
  // The system topic (hookhub.endpoints): endpoint and channel events, and --alert-url through the dispatcher.
  const systemEvents = new SystemEvents(topics, (err, event, what) => app.log.error({ err, event: event.type }, what));
  // The dispatcher: /dispatch, /api/deliveries, /api/endpoints, and the queue WebSub and Pusher deliver through.
  await app.register(dispatcherPlugin, { config, store, topics, metrics, events: systemEvents, storeWritable });
  const dispatcher = dispatcherOf(app);
  // Topics: /stream and /sse (--stream-key), /api/topics (--api-key).
  await app.register(topicsPlugin, { config, topics, connections, metrics });

  // Read lazily: the listening address is known only after listen().
  const publicUrl = (): string => config.publicUrl ?? hookhub.url;
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

  app.addHook('preClose', async () => connections.shutdownAll());
  // The leaves of the connections just closed reach the webhook sink, then what waits there (delayed leaves)
  // is queued, before the dispatcher stops.
  app.addHook('preClose', async () => pusher?.settle());
  // WebSub stops verifying and fetching before the queue it feeds stops.
  app.addHook('preClose', async () => websub.close());
  // Stop claiming, let attempts in flight finish (bounded), release the rest — before the store closes.
  app.addHook('preClose', async () => dispatcher.stop());
  app.addHook('onClose', async () => {
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
