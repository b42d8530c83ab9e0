// Hookbox's REST API for the web application: /web/<method> and /rest/<method>, GET or POST,
// form or JSON. Answers are always HTTP 200 [true, {...}] / [false, {"msg": ...}] (a bad token
// included); an unknown method is a 404. The token is `security_token` (Hookbox's `secret` too)
// or `Authorization: Bearer <api-key>`; without --api-key (the REST secret) every call is refused, as in Hookbox.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isHookhubError } from '../core/errors.js';
import { storeFailure } from '../core/store-down.js';
import { parseJsonInput } from '../core/json-input.js';
import { bearerToken, secretEquals } from '../http/auth.js';
import { described, open } from '../http/openapi.js';
import type { ClusterUsers } from './cluster-users.js';
import type { Channel } from './model.js';
import type { ChannelsNode } from './node.js';
import { ChannelError } from './channel-error.js';
import { CHANNEL_OPTION_KEYS, fromText, USER_OPTION_KEYS } from './options.js';
import { cameThroughRestPort } from './rest-apart.js';

export interface ChannelsRestDeps {
  node: ChannelsNode;
  /** Users wherever they are connected (other nodes of a shared store too). */
  users: ClusterUsers;
  apiKey: string | undefined;
  version: string;
  /** Throws store_unavailable when the store cannot take writes (see Store.assertWritable). */
  storeWritable?: () => void;
  /** --max-json-depth: JSON bodies and JSON fields nested deeper are refused. */
  maxJsonDepth: number;
  /** Hookbox's -x: publish to a channel that does not exist is ignored instead of refused. */
  ignoreMissingChannels?: boolean;
  /** --web-api-port: REST is served on that port only (rest-apart.ts); the main port answers 404. */
  apart?: boolean;
}

interface Fields {
  get(name: string): unknown;
  /** A JSON value: as is in JSON bodies, parsed from JSON text in forms and query strings. */
  json(name: string): unknown;
  has(name: string): boolean;
  keys(): string[];
  /** --max-json-depth, for JSON text in fields. */
  maxDepth: number;
}

type Method = (f: Fields, deps: ChannelsRestDeps) => Promise<Record<string, unknown>>;

/** Names from `channel_names`: a comma-separated string, or (JSON) a list of strings. */
function channelNames(f: Fields): string[] {
  const raw = f.get('channel_names');
  if (raw === undefined || raw === null) return [];
  let names: string[];
  if (typeof raw === 'string') names = raw.split(',');
  else if (Array.isArray(raw) && raw.every((n) => typeof n === 'string')) names = raw;
  else throw new ChannelError('channel_names must be a comma-separated string or a list of strings');
  return names.map((s) => s.trim()).filter(Boolean);
}

const text = (f: Fields, name: string, required = true): string | undefined => {
  const v = f.get(name);
  if (v === undefined || v === null || v === '') {
    if (required) throw new ChannelError(`${name} required`);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new ChannelError(`${name} must be text`);
  return String(v);
};

const flag = (f: Fields, name: string): boolean => {
  const v = f.get(name);
  return v === true || v === 1 || v === '1' || v === 'true';
};

/** The channel, on whichever node it was made (shared stores). */
async function channelOf(deps: ChannelsRestDeps, f: Fields): Promise<Channel> {
  const name = text(f, 'channel_name') as string;
  const ch = await deps.node.findChannel(name);
  if (!ch) throw new ChannelError(`no such channel: ${name}`);
  return ch;
}

function payloadOf(f: Fields): unknown {
  if (!f.has('payload')) return null;
  return f.json('payload');
}

function optionsOf(f: Fields, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const nested = f.get('options');
  if (nested !== undefined) {
    const value = typeof nested === 'string' ? fromTextStrict(nested, 'options', f.maxDepth) : nested;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ChannelError('options must be an object');
    Object.assign(out, value);
  }
  for (const key of f.keys()) if (keys.includes(key)) out[key] = f.json(key);
  return out;
}

function fromTextStrict(raw: string, name: string, maxDepth: number): unknown {
  const json = parseJsonInput(raw, maxDepth);
  if (json.ok) return json.value;
  throw new ChannelError(json.kind === 'malformed' ? `${name} must be JSON text` : `${name}: ${json.reason}`);
}

const IGNORED = new Set(['security_token', 'secret', 'channel_name', 'user_name', 'options', 'send_hook']);

const methods: Record<string, Method> = {
  async publish(f, { node, ignoreMissingChannels }) {
    const name = text(f, 'channel_name') as string;
    await node.publishFromApp(name, payloadOf(f), text(f, 'originator', false) ?? null, flag(f, 'send_hook'), ignoreMissingChannels ? 'ignore' : 'error');
    return {};
  },
  async publish_multi(f, { node }) {
    const names = channelNames(f);
    if (names.length === 0) throw new ChannelError('channel_names required');
    const payload = payloadOf(f);
    const originator = text(f, 'originator', false) ?? null;
    // Hookbox skips the channels that do not exist.
    for (const name of names) await node.publishFromApp(name, payload, originator, flag(f, 'send_hook'), 'ignore');
    return {};
  },
  async subscribe(f, deps) {
    await deps.users.subscribe(text(f, 'channel_name') as string, text(f, 'name') as string, flag(f, 'send_hook'));
    return {};
  },
  async unsubscribe(f, deps) {
    await deps.users.unsubscribe(text(f, 'channel_name') as string, text(f, 'name') as string, flag(f, 'send_hook'));
    return {};
  },
  async message(f, { node }) {
    await node.message(text(f, 'sender_name') as string, text(f, 'recipient_name') as string, payloadOf(f), undefined, flag(f, 'send_hook'));
    return {};
  },
  async create_channel(f, { node }) {
    const options = optionsOf(f, CHANNEL_OPTION_KEYS);
    await node.createChannel(text(f, 'channel_name') as string, options);
    return {};
  },
  async destroy_channel(f, deps) {
    await deps.node.destroyFromApp(await channelOf(deps, f), flag(f, 'send_hook'));
    return {};
  },
  async get_channel_info(f, deps) {
    // Hookbox's shape (options with history and state among them, subscribers: every member) and Hookhub's fields.
    const ch = await channelOf(deps, f);
    const info = ch.info();
    return { ...info, options: { ...ch.options, history: info.history, state: info.state }, subscribers: ch.presence() };
  },
  async set_channel_options(f, deps) {
    const ch = await channelOf(deps, f);
    const unknown = f.keys().filter((k) => !IGNORED.has(k) && !CHANNEL_OPTION_KEYS.includes(k));
    if (unknown.length > 0) throw new ChannelError(`unknown channel option ${unknown[0]}`);
    await deps.node.setChannelOptions(ch, optionsOf(f, CHANNEL_OPTION_KEYS));
    return {};
  },
  async state_set_key(f, deps) {
    const ch = await channelOf(deps, f);
    const key = text(f, 'key') as string;
    if (!f.has('val')) throw new ChannelError('val required');
    await deps.node.updateState(ch, { [key]: f.json('val') }, []);
    return {};
  },
  async state_delete_key(f, deps) {
    const ch = await channelOf(deps, f);
    await deps.node.updateState(ch, {}, [text(f, 'key') as string]);
    return {};
  },
  async get_user_info(f, deps) {
    return deps.users.info(text(f, 'user_name') as string);
  },
  async set_user_options(f, deps) {
    const name = text(f, 'user_name') as string;
    if (!deps.users.exists(name)) throw new ChannelError(`no such user: ${name}`);
    const unknown = f.keys().filter((k) => !IGNORED.has(k) && !USER_OPTION_KEYS.includes(k));
    if (unknown.length > 0) throw new ChannelError(`unknown user option ${unknown[0]}`);
    await deps.users.setOptions(name, optionsOf(f, USER_OPTION_KEYS));
    return {};
  },
  async get_server_info(_f, { node, version }) {
    // Hookbox's shape: channel names and connection ids; `version` and `users` are Hookhub's additions.
    return {
      channels: [...node.channels.keys()],
      connections: node.connectionIds(),
      version,
      users: [...node.users.keys()],
    };
  },
};

function readFields(req: FastifyRequest, maxDepth: number): Fields {
  const values = new Map<string, unknown>();
  const jsonKeys = new Set<string>();
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) values.set(k, Array.isArray(v) ? v[v.length - 1] : v);
  const body = req.body;
  if (Buffer.isBuffer(body) && body.length > 0) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json' || type.endsWith('+json')) {
      const json = parseJsonInput(body, maxDepth);
      if (!json.ok) throw new ChannelError(json.kind === 'malformed' ? 'malformed JSON body' : json.reason);
      const parsed = json.value;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ChannelError('JSON body must be an object');
      for (const [k, v] of Object.entries(parsed)) {
        values.set(k, v);
        jsonKeys.add(k);
      }
    } else {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) values.set(k, v);
    }
  }
  return {
    get: (name) => values.get(name),
    has: (name) => values.has(name),
    keys: () => [...values.keys()],
    maxDepth,
    json: (name) => {
      const v = values.get(name);
      if (jsonKeys.has(name)) return v;
      if (typeof v !== 'string') return v;
      if (name === 'payload' || name === 'val') return fromTextStrict(v, name, maxDepth);
      return fromText(v, maxDepth);
    },
  };
}

const restReply = { description: '[true, result] or [false, { msg }] (Hookbox answers 200 either way)', type: 'array', prefixItems: [{ type: 'boolean' }, { type: 'object' }] };
const restDoc = (prefix: string) => described({
  tags: ['rest'],
  security: open, // the REST secret travels as security_token (or Bearer), checked by the handler
  summary: `Hookbox REST API${prefix === '/rest' ? ' (alias of /web)' : ''}: the method in the path, its fields in the query or a form/JSON body`,
  params: { type: 'object', properties: { method: { type: 'string', enum: Object.keys(methods) } }, required: ['method'] },
  querystring: { type: 'object', properties: { security_token: { type: 'string', description: 'the REST secret (--api-key), or Authorization: Bearer' } }, additionalProperties: true },
  response: { 200: restReply, 404: { ...restReply, description: 'Unknown method: [false, { msg }]' } },
});

export const REST_DISABLED = 'the REST API is disabled: no REST secret is set (start with --api-key)';

export function channelsRest(app: FastifyInstance, deps: ChannelsRestDeps): void {
  const handler = async (req: FastifyRequest<{ Params: { method: string } }>, reply: FastifyReply) => {
    const method = methods[req.params.method];
    if (!method || !Object.hasOwn(methods, req.params.method) || (deps.apart === true && !cameThroughRestPort(req.raw))) {
      return reply.code(404).send([false, { msg: `unknown method ${req.params.method.slice(0, 64)}` }]);
    }
    try {
      if (deps.apiKey === undefined) return reply.send([false, { msg: REST_DISABLED }]);
      const fields = readFields(req, deps.maxJsonDepth);
      const given = bearerToken(req) ?? asString(fields.get('security_token')) ?? asString(fields.get('secret'));
      if (!secretEquals(given, deps.apiKey)) return reply.send([false, { msg: 'invalid security token' }]);
      return reply.send([true, await method(fields, deps)]);
    } catch (err) {
      if (err instanceof ChannelError || isHookhubError(err)) return reply.send([false, { msg: (err as Error).message }]);
      const down = storeFailure(err, deps.storeWritable ?? (() => {}));
      if (down) {
        req.log.warn({ err }, 'channel REST call refused: store unavailable');
        return reply.send([false, { msg: down.message }]);
      }
      req.log.error({ err }, 'channel REST call failed');
      return reply.code(500).send([false, { msg: 'internal error' }]);
    }
  };
  for (const prefix of ['/web', '/rest']) {
    app.route<{ Params: { method: string } }>({ method: ['GET', 'POST'], url: `${prefix}/:method`, ...restDoc(prefix), handler });
  }
}

const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
