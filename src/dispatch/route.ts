// POST /dispatch — the Hookah entry point: `_topic` publishes the payload to a topic, `_url` queues a webhook.
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { atItem, HookhubError } from '../core/errors.js';
import type { Topics } from '../core/topics.js';
import { bearerOf, secretEquals } from '../http/auth.js';
import { answerBody, JSON_REPLY, type FastLane } from '../http/fast-lane.js';
import { commonErrors, described, errorReply } from '../http/openapi.js';
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

// Control fields start with "_"; every other field is the payload, forwarded in the encoding it came in.
const controlFields = {
  _url: { type: 'string', format: 'uri', description: 'queue a webhook to this URL' },
  _topic: { type: 'string', description: 'publish the payload to this topic instead' },
  _method: { type: 'string', description: 'HTTP method of the webhook (default POST, GET without payload)' },
  _headers: { description: 'extra headers: a JSON object (or its text)' },
  _timeout: { type: 'string', description: 'attempt timeout, e.g. 10s' },
  _secret: { type: 'string', description: 'whsec_… key signing this webhook (Standard Webhooks)' },
  _callback: { type: 'string', format: 'uri', description: 'told of the success' },
  _errback: { type: 'string', format: 'uri', description: 'told of the final failure' },
  _idempotency_key: { type: 'string', description: 'same key, same delivery (also the Idempotency-Key header)' },
  _ordering_key: { type: 'string', description: 'deliveries with the same key go out one at a time, in order' },
  _ordered: { type: 'string', description: 'true: order by _url' },
};
const dispatchBody = { type: 'object', properties: controlFields, additionalProperties: true };
const dispatchDoc = described({
  tags: ['dispatch'],
  summary: 'Queue a webhook (_url) or publish to a topic (_topic); a JSON array queues a batch of webhooks',
  body: {
    content: {
      'application/x-www-form-urlencoded': { schema: dispatchBody },
      'multipart/form-data': { schema: dispatchBody },
      'application/json': { schema: { oneOf: [dispatchBody, { type: 'array', items: dispatchBody }] } },
    },
  },
  response: {
    202: {
      description: 'Queued: the delivery id; published: message id and offset; a batch: the ids in order',
      type: 'object',
      properties: { id: { type: 'string' }, offset: { type: 'integer' }, ids: { type: 'array', items: { type: 'string' } } },
    },
    ...commonErrors,
    413: errorReply('Body larger than --max-body'),
    415: errorReply('Not form-urlencoded, multipart or JSON'),
  },
});

/** The /dispatch answer (its 202 body, JSON) for a body as received; throws HookhubError for a refusal. */
async function answerDispatch(deps: DispatchRouteDeps, contentType: string | undefined, raw: Buffer | undefined, headers: IncomingHttpHeaders): Promise<string> {
  const batch = parseDispatchBatch(contentType, raw, deps.maxJsonDepth);
  if (batch) {
    batch.forEach((item, i) =>
      atItem(i, () => {
        if (controlText(item, '_url') === undefined) throw new HookhubError('bad_request', 'a batch queues webhooks: _url is required');
        if (controlText(item, '_topic') !== undefined) throw new HookhubError('bad_request', 'give _url or _topic, not both');
      }),
    );
    if (!deps.queueWebhooks) throw new HookhubError('unavailable', 'the webhook dispatcher is not running');
    deps.storeWritable?.();
    return JSON.stringify({ ids: await deps.queueWebhooks(batch) });
  }
  const parsed = parseDispatchBody(contentType, raw, deps.maxJsonDepth);
  const body = parsed instanceof Promise ? await parsed : parsed;
  const topic = controlText(body, '_topic');
  const url = controlText(body, '_url');
  if (topic === undefined && url === undefined) throw new HookhubError('bad_request', '_url or _topic is required');
  if (topic !== undefined && url !== undefined) throw new HookhubError('bad_request', 'give _url or _topic, not both');
  if (topic !== undefined) {
    const m = await deps.topics.publish(topic, { contentType: body.payload.contentType, body: body.payload.body });
    return JSON.stringify({ id: m.id, offset: m.offset });
  }
  if (!deps.queueWebhook) throw new HookhubError('unavailable', 'the webhook dispatcher is not running');
  deps.storeWritable?.();
  const { id } = await deps.queueWebhook(body, headers);
  return `{"id":${JSON.stringify(id)}}`;
}

export function dispatchRoute(app: FastifyInstance, deps: DispatchRouteDeps): void {
  app.post('/dispatch', dispatchDoc, async (req, reply) => {
    const answer = await answerDispatch(deps, req.headers['content-type'], req.body as Buffer | undefined, req.headers);
    // The text the route's serializer (JSON.stringify) would make, made already: no serializer pass.
    return reply.code(202).header('content-type', JSON_REPLY).send(answer);
  });
}

/** The bodies the lane reads itself (Fastify's parser for them hands the bytes over as they are). */
const LANE_TYPES = new Set(['application/x-www-form-urlencoded', 'application/json']);

/**
 * POST /dispatch as a fast lane (http/fast-lane.ts): the same answers as the route, for the requests where
 * Fastify would add nothing: exactly `/dispatch`, a form or JSON body with its length given and within
 * --max-body, and the right key when --api-key is set. Any other request (a wrong key's 401, a 413, a
 * query string, chunked bodies, other types) goes to the route.
 */
export function dispatchLane(deps: DispatchRouteDeps, options: { apiKey: string | undefined; maxBody: number }): FastLane {
  return (req, res, tools) => {
    const headers = req.headers;
    const type = headers['content-type'];
    const length = headers['content-length'];
    if (req.method !== 'POST' || req.url !== '/dispatch' || type === undefined || !LANE_TYPES.has(type) || length === undefined) return false;
    if (headers['transfer-encoding'] !== undefined || headers.upgrade !== undefined || !(Number(length) <= options.maxBody)) return false;
    if (options.apiKey !== undefined && !secretEquals(bearerOf(headers.authorization), options.apiKey)) return false;
    return answerBody(req, res, tools, (raw) => answerDispatch(deps, type, raw, headers));
  };
}
