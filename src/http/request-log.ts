// One log line per request, with secrets stripped from the URL; and each request's logger made only when
// something is logged through it.
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';

const SECRET_PARAMS = /([?&](?:key|security_token|secret|hub\.secret|api_key|session)=)[^&]*/gi;

export const redactUrl = (url: string): string => url.replace(SECRET_PARAMS, '$1[redacted]');

/** Levels at which request lines are written. */
const LOGGED = new Set(['trace', 'debug', 'info']);

/** Whether a logger at `level` writes a line per request. */
export const logsRequests = (level: string): boolean => LOGGED.has(level);

export function logRequests(app: FastifyInstance): void {
  // Synchronous, and nothing built below the log level: it runs for every request.
  app.addHook('onResponse', (req, reply, done) => {
    if (LOGGED.has(req.log.level)) logRequestLine(req.log, req.method, req.url, reply.statusCode, reply.elapsedTime);
    done();
  });
}

/** The one line per request (the app's hook and the fast lanes write the same). */
export function logRequestLine(log: FastifyBaseLogger, method: string, url: string, status: number, ms: number): void {
  log.info({ method, url: redactUrl(url), status, ms: Math.round(ms) }, 'request');
}

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

/**
 * A request's logger (its bindings: the request id) that makes the real child logger on first use. Fastify
 * makes one per request; above the info level (no request lines) most requests log nothing, and building a
 * pino child for each showed in the dispatcher's profiles.
 */
class LazyChildLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  fatal(...args: Parameters<FastifyBaseLogger['fatal']>): void {
    this.real.fatal(...args);
  }

  error(...args: Parameters<FastifyBaseLogger['error']>): void {
    this.real.error(...args);
  }

  warn(...args: Parameters<FastifyBaseLogger['warn']>): void {
    this.real.warn(...args);
  }

  info(...args: Parameters<FastifyBaseLogger['info']>): void {
    this.real.info(...args);
  }

  debug(...args: Parameters<FastifyBaseLogger['debug']>): void {
    this.real.debug(...args);
  }

  trace(...args: Parameters<FastifyBaseLogger['trace']>): void {
    this.real.trace(...args);
  }

  silent(...args: Parameters<FastifyBaseLogger['silent']>): void {
    this.real.silent(...args);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

/** Fastify's childLoggerFactory: request loggers made on first use (a route with its own level gets its child at once). */
export const lazyRequestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  options.level !== undefined ? logger.child(bindings, options) : (new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger);
