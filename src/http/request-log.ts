// One log line per request, with secrets stripped from the URL.
import type { FastifyInstance } from 'fastify';

const SECRET_PARAMS = /([?&](?:key|security_token|secret|hub\.secret|api_key|session)=)[^&]*/gi;

export const redactUrl = (url: string): string => url.replace(SECRET_PARAMS, '$1[redacted]');

/** Levels at which request lines are written. */
const LOGGED = new Set(['trace', 'debug', 'info']);

export function logRequests(app: FastifyInstance): void {
  // Synchronous, and nothing built below the log level: it runs for every request.
  app.addHook('onResponse', (req, reply, done) => {
    if (LOGGED.has(req.log.level)) {
      req.log.info(
        { method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
    done();
  });
}
