// POST /hub (and its aliases /subscribe, /publish) and GET /api/subscriptions.
// Hub errors answer 4xx with a plain-text reason, as WebSub subscribers and publishers expect.
import type { FastifyInstance } from 'fastify';
import { HookhubError, isHookhubError } from '../core/errors.js';
import { storeFailure } from '../core/store-down.js';
import { bearerToken } from '../http/auth.js';
import { pageOf, pageQuery } from '../http/paging.js';
import { described, errorReply, inputSchema, open, pathParam } from '../http/openapi.js';
import { parseInput } from '../http/validate.js';
import type { Subscription } from '../store/contracts/subscriptions.js';
import type { WebSubHub } from './hub.js';
import { formParams, parseHubRequest, type RequestRules } from './request.js';

export const HUB_PATHS = ['/hub', '/subscribe', '/publish'] as const;

const plainText = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
const hubParams = {
  type: 'object',
  properties: {
    'hub.mode': { type: 'string', enum: ['subscribe', 'unsubscribe', 'publish'] },
    'hub.callback': { type: 'string', format: 'uri', description: 'subscribe, unsubscribe: the subscriber' },
    'hub.topic': { type: 'string', description: 'subscribe, unsubscribe: the topic; publish: the topic URL(s)' },
    'hub.secret': { type: 'string', description: 'subscribe: signs content distribution (X-Hub-Signature)' },
    'hub.lease_seconds': { type: 'string', description: 'subscribe: lease asked for' },
    'hub.url': { type: 'string', format: 'uri', description: 'publish: the topic URL the hub fetches' },
  },
  required: ['hub.mode'],
};
const hubDoc = (path: string) => described({
  tags: ['websub'],
  // Judged by topic and direction (--websub-allow, and the keys when they guard it), not by --api-key alone.
  security: open,
  summary: path === '/hub' ? 'WebSub hub: subscribe, unsubscribe (verified asynchronously) and publish' : `Alias of /hub`,
  ...(path === '/hub' ? {} : { hide: true }),
  body: { content: { 'application/x-www-form-urlencoded': { schema: hubParams } } },
  response: {
    202: { description: 'Accepted (verification of intent or the fetch follows)', type: 'null' },
    400: plainText('Bad request: the reason'),
    403: plainText('Refused by --websub-allow or the keys'),
    503: plainText('The store cannot take a write now (Retry-After)'),
  },
});

/** Registers the hub routes; call inside their own (open) context: it sets a plain-text error handler. */
export function websubRoutes(app: FastifyInstance, hub: WebSubHub, rules: RequestRules & { maxBody: number; storeWritable?: () => void }): void {
  const storeWritable = rules.storeWritable ?? (() => {});
  app.setErrorHandler((err, req, reply) => {
    // The store unreachable: 503 with the reason and Retry-After (the publisher or subscriber tries again).
    const down = storeFailure(err, storeWritable);
    if (down) {
      req.log.warn({ err }, 'hub request refused: store unavailable');
      if (down.retryAfter !== undefined) reply.header('retry-after', String(down.retryAfter));
      return reply.code(down.status).type('text/plain; charset=utf-8').send(`${down.message}\n`);
    }
    let status = isHookhubError(err) ? err.status : ((err as { statusCode?: number }).statusCode ?? 500);
    let reason = status === 413 ? `body larger than ${rules.maxBody} bytes` : (err as Error).message;
    if (status >= 500) {
      req.log.error({ err }, 'hub request failed');
      status = 500;
      reason = 'internal error';
    }
    return reply.code(status).type('text/plain; charset=utf-8').send(`${reason}\n`);
  });

  for (const path of HUB_PATHS) {
    app.post(path, hubDoc(path), async (req, reply) => {
      const request = parseHubRequest(formParams(req.headers['content-type'], req.body as Buffer | undefined), rules);
      // Refused before anything starts: a publish would be fetched, and a subscription verified, for nothing.
      storeWritable();
      const answer = await hub.handle(request, hub.access.credential(bearerToken(req)));
      if (answer.status !== 202) return reply.code(answer.status).type('text/plain; charset=utf-8').send(`${answer.reason}\n`);
      return reply.code(202).type('text/plain; charset=utf-8').send('');
    });
  }
}

export interface SubscriptionJson {
  id: string;
  callback: string;
  topic: string;
  state: 'pending' | 'active' | 'expired';
  leaseSeconds: number;
  leaseExpiresAt: string | null;
  createdAt: string;
  signed: boolean;
  /** A request awaiting verification of intent. */
  pendingRequest: 'subscribe' | 'unsubscribe' | null;
  lastDelivery: {
    at: string;
    deliveryId: string;
    ok: boolean;
    final: boolean;
    status?: number;
    error?: string;
  } | null;
}

export function subscriptionJson(s: Subscription, now = Date.now()): SubscriptionJson {
  const expired = s.state === 'active' && s.expiresAt !== null && s.expiresAt <= now;
  return {
    id: s.id,
    callback: s.callback,
    topic: s.topic,
    state: expired ? 'expired' : s.state,
    leaseSeconds: s.leaseSeconds,
    leaseExpiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
    createdAt: new Date(s.createdAt).toISOString(),
    signed: s.secret !== null,
    pendingRequest: s.intent?.mode ?? null,
    lastDelivery: s.lastDelivery ? { ...s.lastDelivery, at: new Date(s.lastDelivery.at).toISOString() } : null,
  };
}

/** GET /api/subscriptions?topic=&limit=&cursor= and /api/subscriptions/:id — register inside the api-key context. */
export function subscriptionsApi(app: FastifyInstance, hub: WebSubHub): void {
  const listDoc = described({
    tags: ['websub'],
    summary: 'WebSub subscriptions, a page at a time, optionally of one topic',
    querystring: { ...inputSchema(pageQuery), properties: { ...(inputSchema(pageQuery).properties as object), topic: { type: 'string' } } },
    response: { 200: { description: 'A page; next_cursor when it is full', type: 'object', properties: { subscriptions: { type: 'array', items: { type: 'object' } }, next_cursor: { type: 'string' } }, required: ['subscriptions'] } },
  });
  const oneDoc = described({ tags: ['websub'], summary: 'One WebSub subscription', params: pathParam('id', 'subscription id'), response: { 200: { description: 'The subscription', type: 'object' }, 404: errorReply('No such subscription') } });
  app.get('/api/subscriptions', listDoc, async (req) => {
    const query = req.query as Record<string, unknown>;
    const topic = query.topic;
    if (topic !== undefined && typeof topic !== 'string') throw new HookhubError('bad_request', 'give one topic');
    const q = parseInput(pageQuery, { limit: query.limit, cursor: query.cursor });
    // Paged by subscription id: next_cursor while a page is full.
    const page = pageOf(await hub.subscriptions.list(topic === '' ? undefined : topic), (s) => s.id, q);
    const now = Date.now();
    return { subscriptions: page.items.map((s) => subscriptionJson(s, now)), ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
  });

  app.get<{ Params: { id: string } }>('/api/subscriptions/:id', oneDoc, async (req) => {
    const row = await hub.subscriptions.get(req.params.id);
    if (!row) throw new HookhubError('not_found', `no subscription ${req.params.id}`);
    return subscriptionJson(row);
  });
}
