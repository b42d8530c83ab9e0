// The delivery log: list, one delivery with its attempts, and resend (one more attempt, same id).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HookhubError } from '../core/errors.js';
import { commonErrors, described, errorReply, inputSchema, pathParam } from '../http/openapi.js';
import { parseInput as parse } from '../http/validate.js';
import { HELD_BEHIND_EARLIER, PARKED, type DeliveryQueue, type DeliveryRecord } from '../store/contracts/delivery-queue.js';
import { matchesTarget } from '../store/contracts/delivery-target.js';
import { originOf } from './endpoint-id.js';
import { failedDeliveries } from './replay.js';

const MAX_LIMIT = 1000;

const listQuery = z.object({
  status: z.enum(['pending', 'delivering', 'succeeded', 'failed'], { message: 'status must be pending, delivering, succeeded or failed' }).optional(),
  target: z.string().min(1, 'target must not be empty').optional(),
  limit: z.string().regex(/^\d{1,6}$/, 'limit must be a whole number').default('50').transform(Number)
    .refine((n) => n >= 1 && n <= MAX_LIMIT, `limit must be 1–${MAX_LIMIT}`),
  cursor: z.string().regex(/^\d{1,15}$/, 'cursor must be a next_cursor from a previous page').transform(Number).optional(),
  endpoint: z.string().min(1, 'endpoint must not be empty').optional(),
  id: z.string().min(1, 'id must not be empty').optional(),
  since: z.string().optional(),
  until: z.string().optional(),
});

/** Log rows a filtered page looks at, at most, before it answers (with a next_cursor to go on). */
export const SCAN_MAX = 5000;
const SCAN_PAGE = 200;

export const time = (name: string) => {
  const message = `${name} must be an ISO 8601 time, e.g. 2026-11-23T14:00:00Z`;
  return z.string({ message }).refine((v) => !Number.isNaN(Date.parse(v)), message).transform((v) => Date.parse(v));
};

const recoverQuery = z.object({
  since: time('since'),
  until: time('until').optional(),
  target: z.string().min(1, 'target must not be empty').optional(),
});

const iso = (ms: number): string => new Date(ms).toISOString();

/** The public shape of a delivery: never its secret or body. */
export function deliveryJson(d: DeliveryRecord): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: d.id,
    url: d.url,
    method: d.method,
    status: d.status,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    attempts: d.attempts,
    max_attempts: d.maxAttempts,
  };
  // Held: waiting for an earlier delivery with the same ordering key to finish; it has no due time yet.
  if (d.status === 'pending' && d.nextAt === HELD_BEHIND_EARLIER) json.held = true;
  // Parked: its endpoint is open or disabled; it goes out when the endpoint comes back.
  else if (d.status === 'pending' && d.nextAt === PARKED) json.parked = true;
  else if (d.status === 'pending') json.next_attempt_at = iso(d.nextAt);
  if (d.contentType !== undefined) json.content_type = d.contentType;
  json.body_bytes = d.body.length;
  if (d.errback !== undefined) json.errback = d.errback;
  if (d.callback !== undefined) json.callback = d.callback;
  if (d.origin !== undefined) json.origin = d.origin;
  if (d.idempotencyKey !== undefined) json.idempotency_key = d.idempotencyKey;
  if (d.orderKey !== undefined) json.ordering_key = d.orderKey;
  return json;
}

/** What the delivery log needs of the dispatcher. */
export interface DeliveryLog {
  readonly store: DeliveryQueue;
  /** Which endpoint a URL belongs to (the `endpoint` filter); undefined without endpoint control. */
  readonly endpoints: { endpointOf(url: string): string } | undefined;
  retry(id: string): Promise<'queued' | 'in_flight' | 'not_found'>;
}

const delivery = { description: 'One delivery (never its body or secret)', type: 'object', properties: {
  id: { type: 'string' }, url: { type: 'string' }, method: { type: 'string' },
  status: { type: 'string', enum: ['pending', 'delivering', 'succeeded', 'failed'] },
  created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
  attempts: { type: 'array', items: { type: 'object' } }, max_attempts: { type: 'integer' },
  held: { type: 'boolean' }, parked: { type: 'boolean' }, next_attempt_at: { type: 'string', format: 'date-time' },
  content_type: { type: 'string' }, body_bytes: { type: 'integer' }, errback: { type: 'string' }, callback: { type: 'string' },
  origin: { type: 'string' }, idempotency_key: { type: 'string' }, ordering_key: { type: 'string' },
}, required: ['id', 'url', 'method', 'status', 'created_at', 'updated_at', 'attempts', 'max_attempts'] };
const idParam = pathParam('id', 'delivery id');
const requeued = { description: 'Queued again', type: 'object', properties: { queued: { type: 'integer' }, more: { type: 'boolean' } }, required: ['queued'] };

const docs = {
  list: described({
    tags: ['deliveries'],
    summary: 'Deliveries, newest first, filtered; next_cursor while there are more',
    querystring: inputSchema(listQuery),
    response: { 200: { description: 'A page of deliveries', type: 'object', properties: { deliveries: { type: 'array', items: delivery }, next_cursor: { type: 'string' } }, required: ['deliveries'] }, ...commonErrors },
  }),
  one: described({ tags: ['deliveries'], summary: 'One delivery with its attempts', params: idParam, response: { 200: delivery, 401: commonErrors[401], 404: errorReply('No such delivery') } }),
  recover: described({
    tags: ['deliveries'],
    summary: 'Resend every delivery that failed between since and until (after a receiver outage)',
    querystring: inputSchema(recoverQuery),
    response: { 202: requeued, ...commonErrors },
  }),
  retry: described({
    tags: ['deliveries'],
    summary: 'One more attempt of a delivery (same id)',
    params: idParam,
    response: {
      202: { description: 'Queued', type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      401: commonErrors[401], 404: errorReply('No such delivery'), 409: errorReply('An attempt is in flight on another node'),
    },
  }),
};

/** The routes under `prefix` ('' for /api/deliveries; the admin console mounts the same under /admin). */
export function deliveriesApi(app: FastifyInstance, deps: { dispatcher: DeliveryLog }, prefix = ''): void {
  const store = deps.dispatcher.store;

  app.get(`${prefix}/api/deliveries`, docs.list, async (req) => {
    const q = parse(listQuery, req.query);
    const since = q.since === undefined ? undefined : parse(time('since'), q.since);
    const until = q.until === undefined ? undefined : parse(time('until'), q.until);
    const endpointOf = (url: string): string => deps.dispatcher.endpoints?.endpointOf(url) ?? originOf(url);
    const accept = (d: DeliveryRecord): boolean =>
      (since === undefined || d.createdAt >= since) && (until === undefined || d.createdAt <= until)
      && (q.endpoint === undefined || endpointOf(d.url) === q.endpoint)
      && (q.status === undefined || d.status === q.status) && (q.target === undefined || matchesTarget(d.url, q.target));
    if (q.id !== undefined) {
      const d = await store.get(q.id);
      return { deliveries: d && accept(d) ? [deliveryJson(d)] : [] };
    }
    const base = {
      ...(q.status !== undefined ? { status: q.status } : {}),
      // An endpoint's deliveries are among its origin's (a defined prefix narrows them further).
      ...(q.target !== undefined ? { target: q.target } : q.endpoint !== undefined && originOf(q.endpoint) !== '' ? { target: new URL(q.endpoint).host } : {}),
    };
    const out: { deliveries: Record<string, unknown>[]; next_cursor?: string } = { deliveries: [] };
    if (since === undefined && until === undefined && q.endpoint === undefined) {
      const page = await store.list({ ...base, limit: q.limit, ...(q.cursor !== undefined ? { before: q.cursor } : {}) });
      out.deliveries = page.map(deliveryJson);
      const last = page[page.length - 1];
      if (page.length === q.limit && last) out.next_cursor = String(last.seq);
      return out;
    }
    // Filters the store does not index: scan newest first (bounded), stop at `since` (older ones follow).
    let before = q.cursor;
    let scanned = 0;
    for (;;) {
      const page = await store.list({ ...base, limit: SCAN_PAGE, ...(before !== undefined ? { before } : {}) });
      for (const d of page) {
        if (since !== undefined && d.createdAt < since) return out;
        if (!accept(d)) continue;
        out.deliveries.push(deliveryJson(d));
        if (out.deliveries.length === q.limit) {
          out.next_cursor = String(d.seq);
          return out;
        }
      }
      scanned += page.length;
      const last = page[page.length - 1];
      if (page.length < SCAN_PAGE || !last) return out;
      before = last.seq;
      if (scanned >= SCAN_MAX) {
        out.next_cursor = String(before);
        return out;
      }
    }
  });

  app.get<{ Params: { id: string } }>(`${prefix}/api/deliveries/:id`, docs.one, async (req) => {
    const d = await store.get(req.params.id);
    if (!d) throw new HookhubError('not_found', `no delivery ${req.params.id}`);
    return deliveryJson(d);
  });

  // Svix's "recover": after a receiver's outage, resend every delivery that failed meanwhile.
  app.post(`${prefix}/api/deliveries/recover`, docs.recover, async (req, reply) => {
    const q = parse(recoverQuery, req.query);
    const { ids, more } = await failedDeliveries(store, q);
    let queued = 0;
    for (const id of ids) if ((await deps.dispatcher.retry(id)) === 'queued') queued++;
    return reply.code(202).send({ queued, ...(more ? { more: true } : {}) });
  });

  app.post<{ Params: { id: string } }>(`${prefix}/api/deliveries/:id/retry`, docs.retry, async (req, reply) => {
    const result = await deps.dispatcher.retry(req.params.id);
    if (result === 'not_found') throw new HookhubError('not_found', `no delivery ${req.params.id}`);
    if (result === 'in_flight') return reply.code(409).send({ error: 'an attempt of this delivery is in flight on another node; retry when it is done' });
    return reply.code(202).send({ id: req.params.id });
  });
}
