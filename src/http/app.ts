// The Fastify app every product registers into: socket limits and timeouts, the OpenAPI generator (before
// any route), raw bodies, the error and not-found answers, one log line per request. No route of its own
// but /openapi.json.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { HookhubError } from '../core/errors.js';
import { errorAnswer, installFastLanes, requestIds, type FastLanes } from './fast-lane.js';
import { openApi } from './openapi.js';
import { productHandle } from './plugin.js';
import { lazyRequestLogger, logRequestLine, logRequests, logsRequests } from './request-log.js';
import { capSockets, httpServerOptions } from './socket-limits.js';

const fastLanesHandle = productHandle<FastLanes>('hookhub.fast-lanes');

/** Where a product puts a fast lane (see fast-lane.ts) in front of the app's routes. */
export const fastLanesOf = (app: FastifyInstance): FastLanes => fastLanesHandle.of(app);

/** The app's answer to a request the router refused (Fastify's frameworkErrors). */
function routerRefusal(code: string): HookhubError {
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return new HookhubError('uri_too_long', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`);
  if (code === 'FST_ERR_BAD_URL') return new HookhubError('bad_request', 'malformed URL: the path is not valid percent-encoding');
  return new HookhubError('bad_request', 'the request could not be routed');
}

/** The longest path parameter the router matches (Fastify answers a longer one 414): fast lanes that read a
 *  parameter from the URL themselves leave longer ones to the router. */
export const MAX_PARAM_LENGTH = 1024;

/** The server options the app reads (the server's Config has them under these names). */
export interface AppConfig {
  logLevel: string;
  maxBody: number;
  maxSockets: number;
  headerTimeout: number;
  requestTimeout: number;
  idleTimeout: number;
}

export interface AppOptions {
  /** A pino logger or options; defaults to JSON logs on stdout at --log-level. */
  logger?: FastifyServerOptions['loggerInstance'] | undefined;
  /** Throws when the store cannot take a write now: a store failure is then answered 503, not 500. */
  storeWritable: () => void;
}

export async function createApp(config: AppConfig, options: AppOptions): Promise<FastifyInstance> {
  const socketLimits = {
    headerTimeoutMs: config.headerTimeout,
    requestTimeoutMs: config.requestTimeout,
    maxSockets: config.maxSockets,
  };
  const nextId = requestIds();
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] } }),
    // One line per request comes from logRequests(); Fastify's two default lines are off.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    // Fastify's default ids, from a sequence the fast lanes share.
    genReqId: nextId,
    bodyLimit: config.maxBody,
    forceCloseConnections: 'idle',
    // Header, body and keep-alive timeouts on every socket (Fastify's own default is none).
    http: httpServerOptions(socketLimits),
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.idleTimeout,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // What the router refuses before any route (a path that is not valid percent-encoding, a segment longer
    // than it matches) is answered as every other error: {error, code}, without echoing the path back.
    frameworkErrors: (err, req, reply) => {
      const refusal = routerRefusal(err.code);
      // Fastify runs no onResponse hook for these answers: their request line is written here.
      if (logsRequests(req.log.level)) {
        const start = performance.now();
        reply.raw.once('finish', () => logRequestLine(req.log, req.method, req.url, refusal.status, performance.now() - start));
      }
      return (reply as FastifyReply).code(refusal.status).send({ error: refusal.message, code: refusal.code });
    },
  });

  capSockets(app.server, config.maxSockets);
  // Before any route: the generator collects the routes' schemas as they are added.
  await openApi(app);

  // Bodies arrive as bytes; each route decides what they mean (payloads are forwarded as received).
  app.removeAllContentTypeParsers();
  const asBytes = (_req: unknown, body: Buffer | string, done: (err: null, body: Buffer | string) => void): void => done(null, body);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, asBytes);
  // The same parser by name for the common types: Fastify caches a named match, while the catch-all is
  // looked up afresh (the header parsed) on every request.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'application/json'], { parseAs: 'buffer' }, asBytes);

  app.setErrorHandler((err, req, reply) => {
    const answer = errorAnswer(err, req.log, options.storeWritable, config.maxBody);
    if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter));
    return reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }));
  logRequests(app);
  let closing = false;
  // The first hook of the close: from then on every request goes through Fastify (its 503 while closing).
  app.addHook('preClose', async () => {
    closing = true;
  });
  fastLanesHandle.set(app, installFastLanes(app, {
    nextId,
    enabled: () => !closing,
    storeWritable: options.storeWritable,
    maxBody: config.maxBody,
  }));
  return app;
}
