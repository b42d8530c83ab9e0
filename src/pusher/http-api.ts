// The Pusher HTTP API under /apps/<app_id>/ (auth_version 1.0), as the Pusher server SDKs call it:
// trigger events, batches, and ask about channels, presence users and users' connections.
// Every request is signed by the app (request-signature.ts); an unknown app is a 404 and a bad signature a
// 401 before anything happens. Events are published to core topics (`<app_id>/<channel>`, envelope()),
// so /stream, /sse, WebSub and Hookbox consumers of the topic see them; an app reaches only its own prefix.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { HookhubError, atItem } from '../core/errors.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';
import type { Topics } from '../core/topics.js';
import { parseInput } from '../http/validate.js';
import { envelope, topicOf, type ChannelCounts, type ChannelDirectory, type PusherApp } from './contracts.js';
import {
  batchBody, channelParams, channelQuery, channelsQuery, checkDataSize, isPresence, jsonSchema,
  PRESENCE_PREFIX, querySchema, responses, triggerBody, userParams,
} from './http-api-input.js';
import { checkSignature } from './request-signature.js';

export interface PusherHttpApiOptions {
  apps: readonly PusherApp[];
  topics: Pick<Topics, 'publish'>;
  directory: ChannelDirectory;
  /** --max-json-depth for request bodies. */
  maxJsonDepth?: number;
  /** The clock auth_timestamp is judged by (tests). */
  now?: () => number;
}

type Info = Array<'subscription_count' | 'user_count'>;

/** The attributes `info` asked for, as Pusher names them (user_count on presence channels only). */
function countsJson(c: ChannelCounts, info: Info): { subscription_count?: number; user_count?: number } {
  const out: { subscription_count?: number; user_count?: number } = {};
  if (info.includes('subscription_count')) out.subscription_count = c.subscriptionCount;
  if (info.includes('user_count') && isPresence(c.name)) out.user_count = c.userCount ?? 0;
  return out;
}

const errors = { 400: jsonSchema(responses.error), 401: jsonSchema(responses.error), 404: jsonSchema(responses.error), 413: jsonSchema(responses.error) };
const appIdParam = { type: 'object', properties: { appId: { type: 'string' } }, required: ['appId'] };

function routeSchema(summary: string, parts: { query?: z.ZodObject; body?: z.ZodType; params?: Record<string, unknown>; ok: z.ZodType }): Record<string, unknown> {
  return {
    tags: ['pusher'],
    summary,
    params: parts.params ?? appIdParam,
    querystring: querySchema(parts.query),
    ...(parts.body !== undefined ? { body: jsonSchema(parts.body) } : {}),
    response: { 200: jsonSchema(parts.ok), ...errors },
  };
}

export async function pusherHttpApi(api: FastifyInstance, options: PusherHttpApiOptions): Promise<void> {
  const apps = new Map(options.apps.map((a) => [a.id, a]));
  const now = options.now ?? Date.now;
  const maxDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const signedBy = new WeakMap<FastifyRequest, PusherApp>();
  const { topics, directory } = options;

  // The schemas document the routes (OpenAPI); the zod schemas they come from check the input, in the
  // handlers, after the signature: Fastify's own validator would coerce types and answer before the 401.
  api.setValidatorCompiler(() => (value: unknown) => ({ value }));

  // After the body is read (body_md5 needs it), before any handler: the app and its signature.
  api.addHook('preValidation', async (req) => {
    const { appId } = req.params as { appId: string };
    const app = apps.get(appId);
    if (app === undefined) throw new HookhubError('not_found', `unknown app ${appId}`);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = checkSignature(app, { method: req.method, path: req.url.split('?')[0] as string, query: req.query as Record<string, string | string[]>, body }, now());
    if (!check.ok) throw new HookhubError(check.status === 400 ? 'bad_request' : 'unauthorized', check.reason);
    signedBy.set(req, app);
  });

  const appOf = (req: FastifyRequest): PusherApp => {
    const app = signedBy.get(req);
    if (app === undefined) throw new HookhubError('unauthorized', 'request not signed');
    return app;
  };

  const jsonBody = (req: FastifyRequest): unknown => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (raw.length === 0) throw new HookhubError('bad_request', 'the body must be a JSON object');
    const parsed = parseJsonInput(raw, maxDepth);
    if (!parsed.ok) throw new HookhubError('bad_request', `the body must be a JSON object: ${parsed.reason}`);
    if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
      throw new HookhubError('bad_request', 'the body must be a JSON object');
    }
    return parsed.value;
  };

  const publish = (app: PusherApp, channel: string, event: string, data: string, socketId: string | undefined) =>
    topics.publish(topicOf(app, channel), envelope({ event, data, ...(socketId !== undefined ? { socketId } : {}) }));

  api.post('/apps/:appId/events', { schema: routeSchema('Trigger an event on one or more channels', { body: triggerBody, ok: responses.trigger }) }, async (req) => {
    const app = appOf(req);
    const b = parseInput(triggerBody, jsonBody(req));
    checkDataSize(b.data);
    // A channel named twice gets the event once.
    const channels = [...new Set(b.channels ?? [b.channel as string])];
    await Promise.all(channels.map((ch) => publish(app, ch, b.name, b.data, b.socket_id)));
    if (b.info === undefined || b.info.length === 0) return {};
    const info = b.info;
    const counts = await Promise.all(channels.map((ch) => directory.channel(app, ch)));
    return { channels: Object.fromEntries(counts.map((c, i) => [channels[i], countsJson(c, info)])) };
  });

  api.post('/apps/:appId/batch_events', { schema: routeSchema('Trigger up to 10 events in one request', { body: batchBody, ok: responses.batch }) }, async (req) => {
    const app = appOf(req);
    const { batch } = parseInput(batchBody, jsonBody(req));
    // Every event is checked before any is published: a refused batch has no effect.
    batch.forEach((e, i) => atItem(i, () => checkDataSize(e.data)));
    await Promise.all(batch.map((e) => publish(app, e.channel, e.name, e.data, e.socket_id)));
    if (!batch.some((e) => e.info !== undefined && e.info.length > 0)) return {};
    const out = await Promise.all(batch.map(async (e) => (e.info && e.info.length > 0 ? countsJson(await directory.channel(app, e.channel), e.info) : {})));
    return { batch: out };
  });

  api.get('/apps/:appId/channels', { schema: routeSchema('Occupied channels', { query: channelsQuery, ok: responses.channels }) }, async (req) => {
    const app = appOf(req);
    const q = parseInput(channelsQuery, req.query);
    const info = q.info ?? [];
    if (info.includes('user_count') && !(q.filter_by_prefix ?? '').startsWith(PRESENCE_PREFIX)) {
      throw new HookhubError('bad_request', `info=user_count needs filter_by_prefix=${PRESENCE_PREFIX}`);
    }
    const list = await directory.channels(app, q.filter_by_prefix);
    return { channels: Object.fromEntries(list.filter((c) => c.subscriptionCount > 0).map((c) => [c.name, countsJson(c, info)])) };
  });

  const channelSchema = { type: 'object', properties: { appId: { type: 'string' }, channelName: { type: 'string' } }, required: ['appId', 'channelName'] };

  api.get('/apps/:appId/channels/:channelName', { schema: routeSchema('One channel', { params: channelSchema, query: channelQuery, ok: responses.channel }) }, async (req) => {
    const app = appOf(req);
    const { channelName } = parseInput(channelParams, req.params);
    const info = parseInput(channelQuery, req.query).info ?? [];
    if (info.includes('user_count') && !isPresence(channelName)) {
      throw new HookhubError('bad_request', 'info=user_count is only for presence channels');
    }
    const c = await directory.channel(app, channelName);
    return { occupied: c.subscriptionCount > 0, ...countsJson(c, info) };
  });

  api.get('/apps/:appId/channels/:channelName/users', { schema: routeSchema('The users of a presence channel', { params: channelSchema, ok: responses.users }) }, async (req) => {
    const app = appOf(req);
    const { channelName } = parseInput(channelParams, req.params);
    if (!isPresence(channelName)) throw new HookhubError('bad_request', 'users are only listed for presence channels');
    const ids = await directory.users(app, channelName);
    return { users: ids.map((id) => ({ id })) };
  });

  const userSchema = { type: 'object', properties: { appId: { type: 'string' }, userId: { type: 'string' } }, required: ['appId', 'userId'] };

  api.post('/apps/:appId/users/:userId/terminate_connections', { schema: routeSchema('Close every connection of a signed-in user', { params: userSchema, ok: responses.empty }) }, async (req) => {
    const app = appOf(req);
    const { userId } = parseInput(userParams, req.params);
    // The SDKs send {}; an empty body is taken as that too.
    if (Buffer.isBuffer(req.body) && req.body.length > 0) jsonBody(req);
    await directory.terminateUser(app, userId);
    return {};
  });
}
