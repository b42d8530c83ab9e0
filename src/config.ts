// One schema for every option: flags, HOOKHUB_* environment variables and a JSON/YAML file.
// Precedence: flag > env > file > default. A bad value is a ConfigError naming the option.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_JSON_DEPTH_LIMIT } from './core/json-input.js';
import { parseDuration, parseSize } from './core/units.js';

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'size' | 'list' | 'url' | 'enum' | 'apps';

interface OptionSpec {
  kind: Kind;
  help: string;
  default?: string;
  values?: readonly string[];
}

/** The catalogue: option name (kebab-case, as on the command line) → kind, help and default. */
export const OPTIONS = {
  port: { kind: 'int', default: '8080', help: 'TCP port to listen on (0 picks a free one)' },
  host: { kind: 'string', default: '127.0.0.1', help: 'address to bind; 0.0.0.0 exposes the server' },
  store: { kind: 'enum', values: ['memory', 'sqlite', 'redis'], default: 'sqlite', help: 'where state lives' },
  'data-dir': { kind: 'string', default: './data', help: 'directory of the sqlite store' },
  'redis-url': { kind: 'url', default: 'redis://127.0.0.1:6379', help: 'Redis for --store redis (DB number honoured)' },
  'redis-prefix': { kind: 'string', default: 'hookhub:', help: 'prefix of every Redis key and channel' },
  'redis-wait': { kind: 'bool', default: '0', help: 'wait for Redis at start instead of exiting' },
  'api-key': { kind: 'string', help: 'Bearer key guarding /dispatch, /api and WebSub publishes; the REST secret of /web, /rest (REST refused when unset)' },
  'admin-password': { kind: 'string', help: 'password of the /admin console (console off when unset)' },
  'signing-secret': { kind: 'string', help: 'whsec_… key signing outgoing webhooks (Standard Webhooks)' },
  'cb-url': { kind: 'url', help: 'base URL of the application callbacks (<cb-url>/<action>)' },
  'cb-single-url': { kind: 'url', help: 'one callback URL, the action in the body' },
  'cb-secret': { kind: 'string', help: 'secret sent to the application with every callback' },
  'cb-timeout': { kind: 'duration', default: '5s', help: 'application callback timeout' },
  'cb-connect': { kind: 'string', help: 'path of the connect callback, relative to --cb-url (default: connect)' },
  'cb-disconnect': { kind: 'string', help: 'path of the disconnect callback, relative to --cb-url (default: disconnect)' },
  'cb-create-channel': { kind: 'string', help: 'path of the create_channel callback, relative to --cb-url (default: create_channel)' },
  'cb-destroy-channel': { kind: 'string', help: 'path of the destroy_channel callback, relative to --cb-url (default: destroy_channel)' },
  'cb-subscribe': { kind: 'string', help: 'path of the subscribe callback, relative to --cb-url (default: subscribe)' },
  'cb-unsubscribe': { kind: 'string', help: 'path of the unsubscribe callback, relative to --cb-url (default: unsubscribe)' },
  'cb-publish': { kind: 'string', help: 'path of the publish callback, relative to --cb-url (default: publish)' },
  'cb-message': { kind: 'string', help: 'path of the message callback, relative to --cb-url (default: message)' },
  'trust-proxy': { kind: 'bool', default: '0', help: 'behind a proxy: the browser address sent to the app (X-Real-IP) is the last X-Forwarded-For entry' },
  'web-api-port': { kind: 'int', help: 'serve the REST API (/web, /rest) on this port only, not on --port (Hookbox -w)' },
  'web-api-host': { kind: 'string', help: 'interface of --web-api-port (default: --host; Hookbox -W)' },
  'ignore-publish-non-existing-channels': { kind: 'bool', default: '0', help: 'REST publish to a channel that does not exist answers [true, {}] and does nothing (Hookbox -x)' },
  'allow-private-targets': { kind: 'bool', default: '0', help: 'allow outgoing requests to loopback/private addresses' },
  'io-uring': { kind: 'bool', default: '1', help: 'send a fan-out\'s writes to many consumers in one system call through io_uring (Linux; process-wide)' },
  'retry-schedule': { kind: 'list', help: 'delays between attempts, e.g. 0s,5s,5m (default: Standard Webhooks schedule with jitter)' },
  'delivery-timeout': { kind: 'duration', default: '15s', help: 'timeout of one webhook attempt' },
  'delivery-concurrency': { kind: 'int', default: '64', help: 'webhook attempts in flight' },
  'delivery-per-host': { kind: 'int', default: '0', help: 'webhook attempts in flight to one host:port (0: half of --delivery-concurrency, at least 8)' },
  'delivery-threads': { kind: 'int', default: '0', help: 'worker threads that send webhook attempts (0: the event loop sends them)' },
  retention: { kind: 'duration', default: '7d', help: 'how long finished deliveries stay in the log' },
  'retention-count': { kind: 'int', default: '1000000', help: 'finished deliveries the log keeps at most, the last updated (0: no cap)' },
  'endpoint-concurrency': { kind: 'int', default: '0', help: 'webhook attempts in flight to one endpoint across every node (0: no limit but --delivery-per-host)' },
  'endpoint-rate': { kind: 'int', default: '0', help: 'webhook attempts started per second to one endpoint across every node (0: no limit)' },
  'endpoint-burst': { kind: 'int', default: '0', help: 'attempts --endpoint-rate lets through at once after a quiet spell (0: the rate, at least 1)' },
  'circuit-failures': { kind: 'int', default: '10', help: 'consecutive failed attempts that open an endpoint\'s circuit (0: not this rule)' },
  'circuit-failure-rate': { kind: 'int', default: '50', help: 'failed attempts in percent over --circuit-window that open the circuit (0: not this rule)' },
  'circuit-window': { kind: 'duration', default: '60s', help: 'window of --circuit-failure-rate, and of the success rate shown per endpoint' },
  'circuit-min-attempts': { kind: 'int', default: '20', help: 'attempts the window must hold before --circuit-failure-rate applies' },
  'circuit-cooldown': { kind: 'duration', default: '30s', help: 'how long a circuit stays open before one probe delivery is let through' },
  'endpoint-disable-after': { kind: 'duration', default: '5d', help: 'an endpoint failing this long without a success is disabled (0: never)' },
  'alert-url': { kind: 'url', help: 'webhook URL that gets every event of the hookhub.endpoints system topic' },
  'history-size': { kind: 'int', default: '100', help: 'messages kept per topic' },
  'public-url': { kind: 'url', help: 'how clients reach this server (WebSub Link headers)' },
  'max-body': { kind: 'size', default: '1mb', help: 'largest request body' },
  'max-frame': { kind: 'size', default: '64kb', help: 'largest WebSocket frame' },
  'max-json-depth': { kind: 'int', default: '64', help: 'deepest nesting of objects/arrays accepted in any JSON input (1–1000)' },
  'max-connections': { kind: 'int', default: '10000', help: 'open /stream, /sse and /ws connections' },
  'max-sockets': { kind: 'int', default: '20000', help: 'open TCP connections of every kind; more are closed at once (0: no cap)' },
  'header-timeout': { kind: 'duration', default: '10s', help: 'time to receive a request\'s headers, else 408 and close (0: none)' },
  'request-timeout': { kind: 'duration', default: '30s', help: 'time to receive a whole request, body included, else 408 and close (0: none); not a limit on streaming responses' },
  'idle-timeout': { kind: 'duration', default: '72s', help: 'how long an idle keep-alive connection stays open between requests' },
  'max-subscriptions': { kind: 'int', default: '100', help: 'channels one /ws connection may join; topics one /stream or /sse request may name' },
  'max-topics': { kind: 'int', default: '100000', help: 'topics the store keeps; publishing to a new one beyond it answers 503 (0: no cap)' },
  'history-max-bytes': { kind: 'size', default: '4mb', help: 'largest history answer; a longer one stops early with next_since' },
  'websub-pending-max': { kind: 'int', default: '1000', help: 'WebSub verifications of intent waiting at once; more subscribe requests answer 503' },
  'websub-pending-per-host': { kind: 'int', default: '50', help: 'waiting WebSub verifications to one callback host; more answer 429' },
  'max-queue-depth': { kind: 'int', default: '1000000', help: 'pending webhook deliveries before /dispatch answers 503' },
  'subscriber-buffer': { kind: 'size', default: '1mb', help: 'bytes queued for one slow consumer before it is dropped' },
  heartbeat: { kind: 'duration', default: '15s', help: 'keep-alive interval on /stream and /sse' },
  'stream-key': { kind: 'string', help: 'key required on /stream, /sse and WebSub subscriptions (?key= or Bearer)' },
  'websub-allow': { kind: 'list', help: 'topic patterns the hub accepts without a key (* wildcard); default: all, or none that a key guards' },
  'allowed-origins': { kind: 'list', default: '', help: 'browser origins allowed on /ws, /ws/sse, /ws/send (* any); the public URL\'s origin and the same host always are' },
  'channels-open': { kind: 'bool', default: '0', help: 'development only: /ws and its fallback without application callbacks while keys are set' },
  'metrics-key': { kind: 'string', help: 'Bearer key required on /metrics (open when unset)' },
  'websub-require-https': { kind: 'bool', default: '0', help: 'refuse hub.secret over http callbacks' },
  'lease-min': { kind: 'duration', default: '60s', help: 'shortest WebSub lease' },
  'lease-max': { kind: 'duration', default: '30d', help: 'longest WebSub lease' },
  'lease-default': { kind: 'duration', default: '10d', help: 'WebSub lease when none is asked' },
  'websub-fetch-retry': { kind: 'list', default: '0s,2s,10s', help: 'delays of the attempts to fetch a published WebSub topic URL' },
  'pusher-app-id': { kind: 'string', help: 'Pusher front door: the app id of the one app given by options (/apps/<app_id>/…)' },
  'pusher-key': { kind: 'string', help: 'Pusher front door: the app key (/app/<key> WebSocket)' },
  'pusher-secret': { kind: 'string', help: 'Pusher front door: the app secret (channel auth, HTTP API, webhook signatures)' },
  'pusher-client-events': { kind: 'bool', default: '0', help: 'Pusher front door: relay client-* events on private and presence channels' },
  'pusher-webhook-url': { kind: 'url', help: 'Pusher front door: where the app\'s webhooks go (channel_occupied, member_added, …)' },
  'pusher-subscription-count': { kind: 'bool', default: '0', help: 'Pusher front door: send pusher_internal:subscription_count to the subscribers of non-presence channels' },
  'pusher-apps': { kind: 'apps', help: 'Pusher front door: several apps, a list of {id, key, secret, clientEvents, webhookUrl, subscriptionCount} (config file; JSON text in env)' },
  'log-level': { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', help: 'log level' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

export class ConfigError extends Error {
  constructor(readonly option: string, reason: string) {
    super(`invalid configuration: ${option}: ${reason}`);
  }
}

const boolText = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  ctx.addIssue({ code: 'custom', message: `expected 1/0 or true/false, got "${v}"` });
  return z.NEVER;
});
const intText = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a whole number, got "${v}"` });
    return z.NEVER;
  }
  return n;
});
const durationText = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 15s, 5m, 2h, 10d; got "${v}"` });
    return z.NEVER;
  }
  return ms;
});
const sizeText = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined || bytes === 0) {
    ctx.addIssue({ code: 'custom', message: `expected a size like 65536, 64kb, 1mb; got "${v}"` });
    return z.NEVER;
  }
  return bytes;
});
const listText = z.union([z.array(z.union([z.string(), z.number()])), z.string()]).transform((v) =>
  (Array.isArray(v) ? v.map(String) : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0),
);
const urlText = z.string().refine((v) => URL.canParse(v), { message: 'expected an absolute URL' });
const text = z.union([z.string(), z.number()]).transform(String);

function fieldFor(spec: OptionSpec): z.ZodType {
  switch (spec.kind) {
    case 'bool': return boolText;
    case 'int': return intText;
    case 'duration': return durationText;
    case 'size': return sizeText;
    case 'list': return listText;
    case 'url': return urlText;
    case 'enum': return z.enum(spec.values as [string, ...string[]]);
    case 'string': return text;
    case 'apps': return pusherAppList;
  }
}

const retrySchedule = z.array(z.string()).transform((items, ctx) => {
  const delays = items.map((s) => parseDuration(s));
  if (delays.length === 0 || delays.some((d) => d === undefined)) {
    ctx.addIssue({ code: 'custom', message: `expected a comma list of durations like 0s,5s,5m` });
    return z.NEVER;
  }
  return delays as number[];
});

const pusherApp = z.object({
  id: text.pipe(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an app id is 1–64 of A-Z a-z 0-9 _ -')),
  key: text.pipe(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'an app key is 1–128 of A-Z a-z 0-9 _ . -')),
  secret: text.pipe(z.string().min(1, 'an app secret must not be empty')),
  clientEvents: boolText.default(false),
  webhookUrl: urlText.optional(),
  subscriptionCount: boolText.optional(),
}).strict();
/** A list of apps; a string (env, flag) is its JSON text. */
const pusherAppList = z.union([z.array(z.unknown()), z.string()]).transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON list of {id, key, secret, clientEvents, webhookUrl, subscriptionCount}' });
    return z.NEVER;
  }
}).pipe(z.array(pusherApp));
export type PusherAppConfig = z.output<typeof pusherApp>;

const schema = z.object({
  port: intText.refine((n) => n <= 65535, 'port must be 0–65535'),
  host: text,
  store: z.enum(['memory', 'sqlite', 'redis']),
  dataDir: text,
  redisUrl: urlText,
  redisPrefix: text,
  redisWait: boolText,
  apiKey: text.optional(),
  adminPassword: text.optional(),
  signingSecret: text.optional(),
  cbUrl: urlText.optional(),
  cbSingleUrl: urlText.optional(),
  cbSecret: text.optional(),
  cbTimeout: durationText,
  cbConnect: text.optional(),
  cbDisconnect: text.optional(),
  cbCreateChannel: text.optional(),
  cbDestroyChannel: text.optional(),
  cbSubscribe: text.optional(),
  cbUnsubscribe: text.optional(),
  cbPublish: text.optional(),
  cbMessage: text.optional(),
  trustProxy: boolText,
  ignorePublishNonExistingChannels: boolText,
  webApiPort: intText.refine((n) => n <= 65535, 'port must be 0–65535').optional(),
  webApiHost: text.optional(),
  allowPrivateTargets: boolText,
  ioUring: boolText,
  retrySchedule: listText.pipe(retrySchedule).optional(),
  deliveryTimeout: durationText,
  deliveryConcurrency: intText.refine((n) => n >= 1, 'must be at least 1'),
  deliveryPerHost: intText,
  deliveryThreads: intText.refine((n) => n <= 16, 'must be 0–16'),
  retention: durationText,
  retentionCount: intText,
  endpointConcurrency: intText,
  endpointRate: intText,
  endpointBurst: intText,
  circuitFailures: intText,
  circuitFailureRate: intText.refine((n) => n <= 100, 'must be 0–100'),
  circuitWindow: durationText.refine((ms) => ms >= 1000, 'must be at least 1s'),
  circuitMinAttempts: intText,
  circuitCooldown: durationText.refine((ms) => ms >= 100, 'must be at least 100ms'),
  endpointDisableAfter: durationText,
  alertUrl: urlText.optional(),
  historySize: intText,
  publicUrl: urlText.optional(),
  maxBody: sizeText,
  maxFrame: sizeText,
  maxJsonDepth: intText.refine((n) => n >= 1 && n <= MAX_JSON_DEPTH_LIMIT, `must be 1–${MAX_JSON_DEPTH_LIMIT}`),
  maxConnections: intText,
  maxSockets: intText,
  headerTimeout: durationText,
  requestTimeout: durationText,
  idleTimeout: durationText.refine((ms) => ms >= 1, 'must be more than 0'),
  maxSubscriptions: intText.refine((n) => n >= 1, 'must be at least 1'),
  maxTopics: intText,
  historyMaxBytes: sizeText,
  websubPendingMax: intText.refine((n) => n >= 1, 'must be at least 1'),
  websubPendingPerHost: intText.refine((n) => n >= 1, 'must be at least 1'),
  maxQueueDepth: intText,
  subscriberBuffer: sizeText,
  heartbeat: durationText.refine((ms) => ms >= 100, 'must be at least 100ms'),
  streamKey: text.optional(),
  websubAllow: listText.optional(),
  allowedOrigins: listText.refine((list) => list.every((o) => o === '*' || o === 'null' || URL.canParse(o)), 'expected a comma list of origins like https://app.example.com (or *)'),
  channelsOpen: boolText,
  metricsKey: text.optional(),
  websubRequireHttps: boolText,
  leaseMin: durationText,
  leaseMax: durationText,
  leaseDefault: durationText,
  websubFetchRetry: listText.pipe(retrySchedule),
  pusherAppId: text.optional(),
  pusherKey: text.optional(),
  pusherSecret: text.optional(),
  pusherClientEvents: boolText,
  pusherWebhookUrl: urlText.optional(),
  pusherSubscriptionCount: boolText,
  pusherApps: pusherAppList.optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

export type Config = z.output<typeof schema>;
type RawConfig = Partial<Record<OptionName, unknown>>;

export const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
export const envName = (name: string): string => `HOOKHUB_${name.replace(/-/g, '_').toUpperCase()}`;
const optionByKey = new Map<string, OptionName>(
  (Object.keys(OPTIONS) as OptionName[]).flatMap((name) => [[name, name], [camel(name), name]] as const),
);

/** Reads a JSON or YAML file of options (keys kebab-case or camelCase). Unknown keys are errors. */
export function readConfigFile(path: string): RawConfig {
  let parsed: unknown;
  try {
    const body = readFileSync(path, 'utf8');
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(body) : parseYaml(body);
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('--config', `${path} must hold an object of options`);
  const raw: RawConfig = {};
  for (const [key, value] of Object.entries(parsed)) {
    const name = optionByKey.get(key);
    if (!name) throw new ConfigError('--config', `unknown option "${key}" in ${path}`);
    raw[name] = value;
  }
  return raw;
}

export function readEnv(env: NodeJS.ProcessEnv): RawConfig {
  const raw: RawConfig = {};
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const value = env[envName(name)];
    if (value !== undefined) raw[name] = value;
  }
  return raw;
}

/** Merges the layers (later wins), applies defaults and validates. Throws ConfigError. */
export function resolveConfig(...layers: RawConfig[]): Config {
  const merged: Record<string, unknown> = {};
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const spec: OptionSpec = OPTIONS[name];
    let value: unknown = spec.default;
    for (const layer of layers) if (layer[name] !== undefined) value = layer[name];
    if (value !== undefined) merged[camel(name)] = value;
  }
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const name = [...optionByKey].find(([k]) => k === key)?.[1] ?? key;
    throw new ConfigError(`--${name}`, issue?.message ?? 'invalid value');
  }
  return checkCombinations(result.data);
}

function checkCombinations(config: Config): Config {
  if (config.leaseMin > config.leaseMax) throw new ConfigError('--lease-min', 'must not exceed --lease-max');
  if (config.leaseDefault < config.leaseMin || config.leaseDefault > config.leaseMax) {
    throw new ConfigError('--lease-default', 'must lie within --lease-min and --lease-max');
  }
  if (config.requestTimeout > 0 && config.headerTimeout > config.requestTimeout) {
    throw new ConfigError('--header-timeout', 'must not exceed --request-timeout');
  }
  if (config.signingSecret?.startsWith('whsec_') && Buffer.from(config.signingSecret.slice(6), 'base64').length === 0) {
    throw new ConfigError('--signing-secret', 'whsec_ must be followed by a base64 key');
  }
  const apps = pusherAppsOf(config);
  const seen = new Set<string>();
  for (const app of apps) {
    for (const k of [`id ${app.id}`, `key ${app.key}`]) {
      if (seen.has(k)) throw new ConfigError('--pusher-apps', `two apps have the ${k}`);
      seen.add(k);
    }
  }
  return config;
}

/**
 * The Pusher apps: the one given by --pusher-app-id/--pusher-key/--pusher-secret (all three, or none),
 * then each of --pusher-apps. Throws ConfigError when the three options are given in part.
 */
export function pusherAppsOf(config: Config): PusherAppConfig[] {
  const apps: PusherAppConfig[] = [];
  const given = [config.pusherAppId, config.pusherKey, config.pusherSecret];
  if (given.some((v) => v !== undefined)) {
    if (given.some((v) => v === undefined || v === '')) {
      throw new ConfigError('--pusher-app-id', '--pusher-app-id, --pusher-key and --pusher-secret go together');
    }
    const one = pusherApp.safeParse({ id: config.pusherAppId, key: config.pusherKey, secret: config.pusherSecret, clientEvents: config.pusherClientEvents, webhookUrl: config.pusherWebhookUrl, subscriptionCount: config.pusherSubscriptionCount });
    if (!one.success) throw new ConfigError('--pusher-app-id', one.error.issues[0]?.message ?? 'invalid app');
    apps.push(one.data);
  }
  apps.push(...(config.pusherApps ?? []));
  return apps;
}
