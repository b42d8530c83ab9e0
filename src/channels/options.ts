// Channel and user options, with Hookbox's names and defaults, and their validation.
// Options arrive as JSON values (JSON bodies, callback answers) or as JSON text (form fields).
import { isRecord } from '../core/is-record.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';
import { hookboxTime } from './hookbox-time.js';

export type PollingMode = 'simple' | 'persistent' | 'once';

export interface PollingOptions {
  url: string;
  /** Seconds between polls (simple), or the pause after a failed request (persistent). */
  interval: number;
  mode: PollingMode;
  /** Form fields POSTed with each poll; empty: GET. */
  form: Record<string, string>;
  /** PUBLISH `user` of polled messages (empty: null). */
  originator: string;
}

export interface ChannelOptions {
  reflective: boolean;
  history_size: number;
  /** Seconds a history entry is kept (0: no limit). */
  history_duration: number;
  /** Only PUBLISH entries go into history (no SUBSCRIBE/UNSUBSCRIBE). */
  history_publish_only: boolean;
  presenceful: boolean;
  moderated: boolean;
  moderated_publish: boolean;
  moderated_subscribe: boolean;
  moderated_unsubscribe: boolean;
  anonymous: boolean;
  polling: PollingOptions;
  /** The app is told of every join and leave (subscribe/unsubscribe callbacks) even when not moderated. */
  server_presenceful: boolean;
  /** The channel survives its last subscriber (and restarts, with the sqlite store). */
  persistent: boolean;
}

export interface UserOptions {
  reflective: boolean;
  moderated_message: boolean;
  per_connection_subscriptions: boolean;
}

export const defaultPolling = (): PollingOptions => ({ url: '', interval: 5, mode: 'simple', form: {}, originator: '' });

export const defaultChannelOptions = (): ChannelOptions => ({
  reflective: true,
  history_size: 0,
  history_duration: 0,
  history_publish_only: false,
  presenceful: false,
  moderated: true,
  moderated_publish: true,
  moderated_subscribe: true,
  moderated_unsubscribe: true,
  anonymous: false,
  polling: defaultPolling(),
  server_presenceful: false,
  persistent: false,
});

export const defaultUserOptions = (): UserOptions => ({
  reflective: true,
  moderated_message: true,
  per_connection_subscriptions: false,
});

/** An expected refusal: becomes an ERROR frame or a REST `[false, {msg}]`. */
export class ChannelError extends Error {}

export const MAX_HISTORY_SIZE = 10_000;

/** What set_channel_options / create_channel may also carry besides options. */
export interface OptionChanges {
  options: ChannelOptions;
  history?: HistoryEntry[];
  state?: Record<string, unknown>;
}

export type HistoryKind = 'PUBLISH' | 'SUBSCRIBE' | 'UNSUBSCRIBE';
export type HistoryEntry = [HistoryKind, { user: string | null; payload?: unknown; datetime: string }];

const BOOLEAN_KEYS = [
  'reflective', 'presenceful', 'moderated', 'moderated_publish', 'moderated_subscribe', 'moderated_unsubscribe',
  'anonymous', 'server_presenceful', 'persistent', 'history_publish_only',
] as const;

/** A form field's JSON text as a value; bare words that are not JSON stay text. Too deep or `__proto__`: refused. */
export function fromText(raw: unknown, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  if (typeof raw !== 'string') return raw;
  const json = parseJsonInput(raw, maxDepth);
  if (json.ok) return json.value;
  if (json.kind === 'malformed') return raw;
  throw new ChannelError(json.reason);
}

function toBoolean(key: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === '1' || v === 'true') return true;
  if (v === 0 || v === '0' || v === 'false') return false;
  throw new ChannelError(`option ${key} must be a boolean`);
}

function toCount(key: string, v: unknown, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > max) throw new ChannelError(`option ${key} must be a number from 0 to ${max}`);
  return n;
}

function toPolling(v: unknown, current: PollingOptions): PollingOptions {
  if (!isRecord(v)) throw new ChannelError('option polling must be an object {url, interval, mode}');
  const p = { ...current, form: { ...current.form } };
  for (const [key, value] of Object.entries(v)) {
    switch (key) {
      case 'url':
        if (typeof value !== 'string') throw new ChannelError('polling.url must be a string');
        p.url = value;
        break;
      case 'interval': {
        const n = typeof value === 'string' ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isFinite(n) || n < 0.05 || n > 86_400) throw new ChannelError('polling.interval must be seconds from 0.05 to 86400');
        p.interval = n;
        break;
      }
      case 'mode':
        if (value !== 'simple' && value !== 'persistent' && value !== 'once' && value !== '') {
          throw new ChannelError('polling.mode must be simple, persistent or once');
        }
        p.mode = value === '' ? 'simple' : value;
        break;
      case 'form':
        if (!isRecord(value)) throw new ChannelError('polling.form must be an object');
        p.form = Object.fromEntries(Object.entries(value).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]));
        break;
      case 'originator':
        if (typeof value !== 'string' && value !== null) throw new ChannelError('polling.originator must be a string');
        p.originator = value ?? '';
        break;
      default:
        throw new ChannelError(`unknown polling option ${key}`);
    }
  }
  return p;
}

export function toHistory(v: unknown): HistoryEntry[] {
  if (!Array.isArray(v)) throw new ChannelError('option history must be a list of [kind, {user, payload?, datetime}]');
  return v.map((entry): HistoryEntry => {
    if (!Array.isArray(entry) || entry.length !== 2 || !['PUBLISH', 'SUBSCRIBE', 'UNSUBSCRIBE'].includes(entry[0] as string) || !isRecord(entry[1])) {
      throw new ChannelError('history entries must be [PUBLISH|SUBSCRIBE|UNSUBSCRIBE, {user, payload?, datetime}]');
    }
    const args = entry[1];
    const out: HistoryEntry[1] = {
      user: typeof args.user === 'string' ? args.user : null,
      datetime: typeof args.datetime === 'string' ? args.datetime : hookboxTime(Date.now()),
    };
    if ('payload' in args) out.payload = args.payload;
    return [entry[0] as HistoryKind, out];
  });
}

/**
 * Applies option changes to a copy of `current`. `strict` refuses unknown keys (REST); callback
 * answers may carry other keys, which are ignored. Setting `moderated` alone also sets the
 * per-action moderated_* options it covers (they can still be set apart in the same call).
 */
export function applyChannelOptions(current: ChannelOptions, input: Record<string, unknown>, strict: boolean): OptionChanges {
  const options: ChannelOptions = { ...current, polling: { ...current.polling } };
  const changes: OptionChanges = { options };
  const values = Object.entries(input);
  const moderated = input.moderated;
  if (moderated !== undefined) {
    const m = toBoolean('moderated', moderated);
    options.moderated = m;
    options.moderated_publish = m;
    options.moderated_subscribe = m;
    options.moderated_unsubscribe = m;
  }
  for (const [key, value] of values) {
    if (key === 'moderated') continue;
    if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      (options as unknown as Record<string, boolean>)[key] = toBoolean(key, value);
    } else if (key === 'history_size') options.history_size = toCount(key, value, MAX_HISTORY_SIZE);
    else if (key === 'history_duration') options.history_duration = toCount(key, value, 10 * 365 * 86_400);
    else if (key === 'polling') options.polling = toPolling(value, options.polling);
    else if (key === 'history') changes.history = toHistory(value);
    else if (key === 'state') {
      if (!isRecord(value)) throw new ChannelError('option state must be an object');
      changes.state = { ...value };
    } else if (strict) throw new ChannelError(`unknown channel option ${key}`);
  }
  return changes;
}

export function applyUserOptions(current: UserOptions, input: Record<string, unknown>, strict: boolean): UserOptions {
  const options = { ...current };
  for (const [key, value] of Object.entries(input)) {
    if (key === 'reflective' || key === 'moderated_message' || key === 'per_connection_subscriptions') options[key] = toBoolean(key, value);
    else if (strict) throw new ChannelError(`unknown user option ${key}`);
  }
  return options;
}

export const CHANNEL_OPTION_KEYS = [...BOOLEAN_KEYS, 'history_size', 'history_duration', 'polling', 'history', 'state'];
export const USER_OPTION_KEYS = ['reflective', 'moderated_message', 'per_connection_subscriptions'];
