// Liveness, readiness and Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { Store } from '../store/contracts/store.js';
import { requireKey } from '../http/auth.js';
import { described, open } from '../http/openapi.js';

const status = (description: string) => ({ description, type: 'object', properties: { status: { type: 'string' }, store: { type: 'string' }, error: { type: 'string' } }, required: ['status'] });

/** `metricsKey` (--metrics-key): `Authorization: Bearer <key>` on /metrics; open when unset. */
export function opsRoutes(app: FastifyInstance, deps: { store: Store; metrics: Metrics; metricsKey?: string | undefined }): void {
  app.get('/healthz', described({ tags: ['ops'], security: open, summary: 'Liveness: the process answers', response: { 200: status('ok') } }), async () => ({ status: 'ok' }));
  app.get('/readyz', described({ tags: ['ops'], security: open, summary: 'Readiness: the store answers', response: { 200: status('ready'), 503: status('The store does not answer') } }), async (req, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ready', store: deps.store.kind };
    } catch (err) {
      req.log.warn({ err }, 'store not ready');
      return reply.code(503).send({ status: 'unavailable', store: deps.store.kind, error: (err as Error).message });
    }
  });
  app.get('/metrics', {
    ...described({ tags: ['ops'], security: [{ metricsKey: [] }], summary: 'Prometheus metrics (text exposition format)', response: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } }),
    onRequest: requireKey(deps.metricsKey),
  }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
