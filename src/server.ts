// Builds the Fastify app from the parts. buildServer() does not listen; startServer() does.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';
import { isHookhubError } from './core/errors.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { Topics } from './core/topics.js';
import { clientRoute } from './channels/client-route.js';
import { dispatchRoute } from './dispatch/route.js';
import { topicsApi } from './api/topics.js';
import { requireKey } from './http/auth.js';
import { Connections } from './http/connections.js';
import { logRequests } from './http/request-log.js';
import { opsRoutes } from './ops/health.js';
import { createStore } from './store/create.js';
import type { Store } from './store/interface.js';
import { sseTransport } from './transports/sse.js';
import { streamTransport } from './transports/stream.js';
import { createChannels, type Channels } from './channels/index.js';
import { wsTransport } from './transports/ws.js';
import { wsFallback } from './transports/ws-fallback.js';

export interface Hookhub {
  app: FastifyInstance;
  config: Config;
  store: Store;
  topics: Topics;
  metrics: Metrics;
  connections: Connections;
  channels: Channels;
  /** Base URL once listening (startServer). */
  url: string;
  close(): Promise<void>;
}

export interface BuildOptions {
  /** A pino logger or options; defaults to JSON logs on stdout at --log-level. */
  logger?: FastifyServerOptions['loggerInstance'];
  store?: Store;
}

export async function buildServer(config: Config, options: BuildOptions = {}): Promise<Hookhub> {
  const store = options.store ?? (await createStore(config));
  const metrics = createMetrics();
  const topics = new Topics(store.topics, metrics);
  const connections = new Connections(config.maxConnections, metrics);

  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] } }),
    // One line per request comes from logRequests(); Fastify's two default lines are off.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBody,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 1024 },
  });

  // Bodies arrive as bytes; each route decides what they mean (payloads are forwarded as received).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    if (isHookhubError(err)) return reply.code(err.status).send({ error: err.message, code: err.code });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      const message = status === 413 ? `body larger than ${config.maxBody} bytes` : (err as Error).message;
      return reply.code(status).send({ error: message });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }));
  logRequests(app);

  const streaming = {
    topics,
    connections,
    metrics,
    heartbeatMs: config.heartbeat,
    bufferLimit: config.subscriberBuffer,
    ...(config.streamKey !== undefined ? { streamKey: config.streamKey } : {}),
  };

  await app.register(async (consumers) => {
    streamTransport(consumers, streaming);
    sseTransport(consumers, streaming);
  });
  await app.register(async (producers) => {
    producers.addHook('onRequest', requireKey(config.apiKey));
    dispatchRoute(producers, { topics });
    topicsApi(producers, { topics });
  });
  // Browser channels: /ws, its HTTP fallback and the Hookbox REST API (own token check, own context).
  const channels = await createChannels({ config, topics, store: store.channels, metrics, log: app.log });
  const wsDeps = {
    sessions: channels.sessions,
    connections,
    metrics,
    maxFrame: config.maxFrame,
    bufferLimit: config.subscriberBuffer,
    heartbeatMs: config.heartbeat,
  };
  await app.register(async (browsers) => {
    await wsTransport(browsers, wsDeps);
    wsFallback(browsers, wsDeps);
    channels.routes(browsers);
  });
  app.addHook('onClose', async () => channels.close());
  opsRoutes(app, { store, metrics });
  clientRoute(app);

  app.addHook('preClose', async () => connections.shutdownAll());
  app.addHook('onClose', async () => store.close());

  const hub: Hookhub = {
    app,
    config,
    store,
    topics,
    metrics,
    connections,
    channels,
    url: '',
    close: () => app.close(),
  };
  return hub;
}

export async function startServer(config: Config, options: BuildOptions = {}): Promise<Hookhub> {
  const hub = await buildServer(config, options);
  const address = await hub.app.listen({ port: config.port, host: config.host });
  hub.url = address.replace('[::1]', '127.0.0.1');
  return hub;
}
