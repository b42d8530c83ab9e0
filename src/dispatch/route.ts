// POST /dispatch — the Hookah entry point: `_topic` publishes the payload to a topic, `_url` queues a webhook.
import type { FastifyInstance } from 'fastify';
import { atItem, HookhubError } from '../core/errors.js';
import type { Topics } from '../core/topics.js';
import { controlText, parseDispatchBatch, parseDispatchBody, type DispatchBody } from './body.js';

/** Queues an outgoing webhook for a parsed /dispatch body; answers the delivery id. */
export type QueueWebhook = (body: DispatchBody, headers: Record<string, string | string[] | undefined>) => Promise<{ id: string }>;
/** Queues a batch of webhooks (every item has `_url`), all checked first; answers their ids in order. */
export type QueueWebhooks = (bodies: DispatchBody[]) => Promise<string[]>;

export interface DispatchRouteDeps {
  topics: Topics;
  /** Throws store_unavailable when the store cannot take a write now: nothing is queued then. */
  storeWritable?: () => void;
  queueWebhook?: QueueWebhook;
  queueWebhooks?: QueueWebhooks;
  /** --max-json-depth: JSON bodies nested deeper are refused (400). */
  maxJsonDepth?: number;
}

export function dispatchRoute(app: FastifyInstance, deps: DispatchRouteDeps): void {
  app.post('/dispatch', async (req, reply) => {
    const batch = parseDispatchBatch(req.headers['content-type'], req.body as Buffer | undefined, deps.maxJsonDepth);
    if (batch) {
      batch.forEach((item, i) =>
        atItem(i, () => {
          if (controlText(item, '_url') === undefined) throw new HookhubError('bad_request', 'a batch queues webhooks: _url is required');
          if (controlText(item, '_topic') !== undefined) throw new HookhubError('bad_request', 'give _url or _topic, not both');
        }),
      );
      if (!deps.queueWebhooks) throw new HookhubError('unavailable', 'the webhook dispatcher is not running');
      deps.storeWritable?.();
      return reply.code(202).send({ ids: await deps.queueWebhooks(batch) });
    }
    const body = await parseDispatchBody(req.headers['content-type'], req.body as Buffer | undefined, deps.maxJsonDepth);
    const topic = controlText(body, '_topic');
    const url = controlText(body, '_url');
    if (topic === undefined && url === undefined) throw new HookhubError('bad_request', '_url or _topic is required');
    if (topic !== undefined && url !== undefined) throw new HookhubError('bad_request', 'give _url or _topic, not both');
    if (topic !== undefined) {
      const m = await deps.topics.publish(topic, { contentType: body.payload.contentType, body: body.payload.body });
      return reply.code(202).send({ id: m.id, offset: m.offset });
    }
    if (!deps.queueWebhook) throw new HookhubError('unavailable', 'the webhook dispatcher is not running');
    deps.storeWritable?.();
    const { id } = await deps.queueWebhook(body, req.headers);
    return reply.code(202).send({ id });
  });
}
