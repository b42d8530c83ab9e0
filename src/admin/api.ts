// The console's JSON endpoints (/admin/api/*). They read and act through the topic core, the connection
// registry and the views each product exports from its index (dispatch: the delivery log and endpoints; websub:
// subscriptions; channels: channels and users). Register inside the admin context (Basic auth + same-origin hook).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { newestMessages } from './newest-messages.js';
import { HookhubError } from '../core/errors.js';
import { parseJsonInput } from '../core/json-input.js';
import { toJson } from '../core/message.js';
import type { Metrics } from '../core/metrics.js';
import { checkTopicName } from '../core/topic-name.js';
import type { Topics } from '../core/topics.js';
import type { Connections } from '../http/connections.js';
import type { AdminChannel, ChannelsAdminView } from '../channels/index.js';
import { deliveryLogRoutes, endpointRoutes, type DeliveryLog, type EndpointsControl } from '../dispatch/index.js';
import { pageOf, pageQuery } from '../http/paging.js';
import { parseInput as parse } from '../http/validate.js';
import type { SubscriptionsAdminView } from '../websub/index.js';

/** What the console reads and acts on; server.ts passes the running parts in. */
export interface AdminDeps {
  storeKind: string;
  topics: Topics;
  connections: Connections;
  metrics: Metrics;
  /** The dispatcher: its queue/log and resend, and its endpoints. */
  deliveries: DeliveryLog & EndpointsControl;
  subscriptions: SubscriptionsAdminView;
  channels: ChannelsAdminView;
  /** When the server started (ms since the epoch). */
  startedAt: number;
  /** --max-json-depth: request bodies nested deeper are refused. */
  maxJsonDepth: number;
  /** --history-max-bytes: payload bytes one topic view holds at most. */
  historyMaxBytes: number;
}

const MAX_LIMIT = 1000;

const limitParam = (fallback: string) =>
  z.string().regex(/^\d{1,6}$/, 'limit must be a whole number').default(fallback).transform(Number)
    .refine((n) => n >= 1 && n <= MAX_LIMIT, `limit must be 1–${MAX_LIMIT}`);

const topicQuery = z.object({ limit: limitParam('50') });

const publishBody = z.object({
  topic: z.string({ message: 'topic is required' }).min(1, 'topic is required'),
  contentType: z.string().min(1, 'contentType must not be empty').max(256, 'contentType too long')
    .regex(/^[^\r\n]*$/, 'contentType must be one line').default('text/plain; charset=utf-8'),
  body: z.string({ message: 'body must be a string' }),
  encoding: z.enum(['utf8', 'base64'], { message: 'encoding must be utf8 or base64' }).default('utf8'),
}).strict();

const optionsBody = z.record(z.string(), z.unknown(), { message: 'options must be a JSON object' });

/** A POST body as JSON: must be application/json and parse; an empty body is undefined. */
function jsonBody(req: FastifyRequest, maxDepth: number): unknown {
  const raw = req.body as Buffer | undefined;
  if (!raw || raw.length === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HookhubError('unsupported_media', 'send application/json');
  const json = parseJsonInput(raw, maxDepth);
  if (!json.ok) throw new HookhubError('bad_request', json.kind === 'malformed' ? 'body is not valid JSON' : json.reason);
  return json.value;
}

async function counterValue(metric: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export function adminApi(app: FastifyInstance, deps: AdminDeps): void {
  const channels = deps.channels;

  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/admin/api/overview', async () => {
    const [topics, queueDepth, subscriptions, published, connections] = await Promise.all([
      deps.topics.count(),
      deps.deliveries.store.depth(),
      deps.subscriptions.count(),
      counterValue(deps.metrics.published),
      deps.metrics.connections.get(),
    ]);
    const counts = channels.counts();
    const byTransport: Record<string, number> = {};
    for (const v of connections.values) {
      const transport = v.labels.transport;
      if (typeof transport === 'string' && v.value > 0) byTransport[transport] = v.value;
    }
    return {
      uptime: Math.round((Date.now() - deps.startedAt) / 1000),
      startedAt: new Date(deps.startedAt).toISOString(),
      store: deps.storeKind,
      connections: { total: deps.connections.size, byTransport },
      topics,
      messagesPublished: published,
      queueDepth,
      subscriptions,
      channels: counts.channels,
      users: counts.users,
      channelConnections: counts.connections,
      callbacksEnabled: counts.callbacksEnabled,
    };
  });

  // ---- topics ------------------------------------------------------------------------------

  // Paged by name (limit, cursor → next_cursor), like /api/topics.
  app.get('/admin/api/topics', async (req) => {
    const q = parse(pageQuery, req.query);
    const listed = await deps.topics.list({ limit: q.limit, ...(q.cursor !== undefined ? { after: q.cursor } : {}) });
    const rows = new Map(listed.map((t) => [t.topic, { ...t, consumers: deps.topics.fanout.count(t.topic) }]));
    // Topics with live consumers but nothing published yet, within the names this store page covers
    // (up to its last name when it is full: later ones belong to later pages).
    const upper = listed.length === q.limit ? listed[listed.length - 1]?.topic : undefined;
    for (const topic of deps.topics.fanout.topics()) {
      if (rows.has(topic) || (q.cursor !== undefined && topic <= q.cursor) || (upper !== undefined && topic > upper)) continue;
      rows.set(topic, { topic, last: 0, kept: 0, historySize: 0, consumers: deps.topics.fanout.count(topic) });
    }
    const page = pageOf(rows.values(), (t) => t.topic, q);
    return { topics: page.items, ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
  });

  app.get<{ Params: { topic: string } }>('/admin/api/topics/:topic', async (req) => {
    const topic = checkTopicName(req.params.topic);
    const { limit } = parse(topicQuery, req.query);
    const bounds = await deps.topics.bounds(topic);
    const read = (since: number, n: number) => deps.topics.history(topic, since, n);
    const [newest, subs] = await Promise.all([
      newestMessages({ last: bounds.last, first: bounds.first, limit, maxBytes: deps.historyMaxBytes, read }),
      deps.subscriptions.list(topic),
    ]);
    return {
      topic,
      first: bounds.first,
      last: bounds.last,
      consumers: { live: deps.topics.fanout.count(topic), websub: subs },
      channel: channels.has(topic),
      messages: newest.messages.map(toJson),
      // The byte bound (--history-max-bytes) left out older messages that `limit` would have shown.
      ...(newest.complete ? {} : { truncated: true }),
    };
  });

  app.post('/admin/api/publish', async (req, reply) => {
    const input = parse(publishBody, jsonBody(req, deps.maxJsonDepth) ?? {});
    const topic = checkTopicName(input.topic);
    if (input.encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(input.body)) throw new HookhubError('bad_request', 'body is not valid base64');
    // The request itself is bounded by --max-body; the decoded payload is never larger.
    const body = Buffer.from(input.body, input.encoding);
    const m = await deps.topics.publish(topic, { contentType: input.contentType, body });
    req.log.info({ topic, offset: m.offset, part: 'admin' }, 'admin published');
    return reply.code(202).send({ id: m.id, offset: m.offset, topic });
  });

  // ---- browser channels and users ----------------------------------------------------------

  const channelOf = async (name: string): Promise<AdminChannel> => {
    const ch = await channels.find(name);
    if (!ch) throw new HookhubError('not_found', `no channel ${name}`);
    return ch;
  };

  app.get('/admin/api/channels', async (req) => {
    const page = channels.channelPage(parse(pageQuery, req.query));
    return { channels: page.items, ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
  });

  app.get<{ Params: { name: string } }>('/admin/api/channels/:name', async (req) => (await channelOf(req.params.name)).details());

  app.post<{ Params: { name: string } }>('/admin/api/channels/:name/options', async (req) => {
    const ch = await channelOf(req.params.name);
    const input = parse(optionsBody, jsonBody(req, deps.maxJsonDepth));
    const options = await ch.setOptions(input);
    req.log.info({ channel: ch.name, part: 'admin' }, 'admin changed channel options');
    return { name: ch.name, options };
  });

  app.get('/admin/api/users', async (req) => {
    const page = channels.userPage(parse(pageQuery, req.query));
    return { users: page.items, ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
  });

  app.post<{ Params: { name: string } }>('/admin/api/users/:name/kick', async (req) => {
    if (!channels.kick(req.params.name, 'kicked by admin')) throw new HookhubError('not_found', `no connected user ${req.params.name}`);
    req.log.info({ user: req.params.name, part: 'admin' }, 'admin kicked user');
    return { kicked: req.params.name };
  });

  app.get('/admin/api/callbacks', async () => channels.callbacks());

  // ---- webhooks and WebSub ---------------------------------------------------------------------

  // The delivery log and resend: the same routes as /api/deliveries, mounted under /admin.
  deliveryLogRoutes(app, deps.deliveries, '/admin');
  // Endpoints: state, limits, disable/enable and replay, the same routes as /api/endpoints.
  endpointRoutes(app, deps.deliveries, '/admin');

  app.get('/admin/api/subscriptions', async (req) => {
    const page = pageOf(await deps.subscriptions.list(), (s) => s.id, parse(pageQuery, req.query));
    return { subscriptions: page.items, ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
  });
}
