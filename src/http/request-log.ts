// One log line per request, with secrets stripped from the URL.
import type { FastifyInstance } from 'fastify';

const SECRET_PARAMS = /([?&](?:key|security_token|secret|hub\.secret|api_key|session)=)[^&]*/gi;

export const redactUrl = (url: string): string => url.replace(SECRET_PARAMS, '$1[redacted]');

export function logRequests(app: FastifyInstance): void {
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      { method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });
}
