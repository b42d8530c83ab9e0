// Liveness, readiness and Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { Store } from '../store/contracts/store.js';
import { requireKey } from '../http/auth.js';

/** `metricsKey` (--metrics-key): `Authorization: Bearer <key>` on /metrics; open when unset. */
export function opsRoutes(app: FastifyInstance, deps: { store: Store; metrics: Metrics; metricsKey?: string | undefined }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (req, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ready', store: deps.store.kind };
    } catch (err) {
      req.log.warn({ err }, 'store not ready');
      return reply.code(503).send({ status: 'unavailable', store: deps.store.kind, error: (err as Error).message });
    }
  });
  app.get('/metrics', { onRequest: requireKey(deps.metricsKey) }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
