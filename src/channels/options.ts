// Channel and user options, with Hookbox's names and defaults, and their validation.
// Options arrive as JSON values (JSON bodies, callback answers) or as JSON text (form fields).
import { isRecord } from '../core/is-record.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';
import { ChannelError } from './channel-error.js';
import { hookboxTime } from './hookbox-time.js';

/** `""`: off (Hookbox's default: a URL alone does not poll). */
export type PollingMode = '' | 'simple' | 'persistent' | 'once';

export interface PollingOptions {
  url: string;
  /** Seconds between polls (simple), or the pause after a failed request (persistent). */
  interval: number;
  mode: PollingMode;
  /** Form fields POSTed with each poll (simple: a GET when empty); persistent/once also POST --cb-secret as `secret`. */
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
  /** Ask the app before subscribe, publish and unsubscribe; ORed with each moderated_* (see moderates). */
  moderated: boolean;
  moderated_publish: boolean;
  moderated_subscribe: boolean;
  moderated_unsubscribe: boolean;
  anonymous: boolean;
  polling: PollingOptions;
  /** The channel's state holds, for each name in server_user_presence, whether that user is connected (Hookbox). */
  server_presenceful: boolean;
  server_user_presence: string[];
  /** The channel survives its last subscriber (and restarts, with the sqlite store). */
  persistent: boolean;
}

export interface UserOptions {
  reflective: boolean;
  moderated_message: boolean;
  per_connection_subscriptions: boolean;
  /** A connection that closes takes the user out of every channel it subscribed to, other connections included (Hookbox). */
  global_unsubscriptions: boolean;
}

export const defaultPolling = (): PollingOptions => ({ url: '', interval: 5, mode: '', form: {}, originator: '' });

/** Hookbox polls only with a mode set (and, here, a URL). */
export const pollingActive = (options: ChannelOptions): boolean => options.polling.mode !== '' && options.polling.url !== '';

export type ModeratedAction = 'publish' | 'subscribe' | 'unsubscribe';

/** Hookbox's rule: `moderated` ORed with the action's own option (each false by default). */
export const moderates = (options: ChannelOptions, action: ModeratedAction): boolean =>
  options.moderated || options[`moderated_${action}`];

export const defaultChannelOptions = (): ChannelOptions => ({
  reflective: true,
  history_size: 0,
  history_duration: 0,
  history_publish_only: false,
  presenceful: false,
  moderated: true,
  moderated_publish: false,
  moderated_subscribe: false,
  moderated_unsubscribe: false,
  anonymous: false,
  polling: defaultPolling(),
  server_presenceful: false,
  server_user_presence: [],
  persistent: false,
});

export const defaultUserOptions = (): UserOptions => ({
  reflective: true,
  moderated_message: true,
  per_connection_subscriptions: false,
  global_unsubscriptions: false,
});

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
        if (value !== 'simple' && value !== 'persistent' && value !== 'once' && value !== '' && value !== null) {
          throw new ChannelError('polling.mode must be simple, persistent, once or "" (off)');
        }
        p.mode = value ?? '';
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
 * answers may carry other keys, which are ignored. Each option is set alone: `moderated` and the
 * moderated_* options are ORed when used (moderates), as in Hookbox.
 */
export function applyChannelOptions(current: ChannelOptions, input: Record<string, unknown>, strict: boolean): OptionChanges {
  const options: ChannelOptions = { ...current, polling: { ...current.polling } };
  const changes: OptionChanges = { options };
  for (const [key, value] of Object.entries(input)) {
    if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      (options as unknown as Record<string, boolean>)[key] = toBoolean(key, value);
    } else if (key === 'history_size') options.history_size = toCount(key, value, MAX_HISTORY_SIZE);
    else if (key === 'history_duration') options.history_duration = toCount(key, value, 10 * 365 * 86_400);
    else if (key === 'polling') options.polling = toPolling(value, options.polling);
    else if (key === 'server_user_presence') options.server_user_presence = toNames(key, value);
    else if (key === 'history') changes.history = toHistory(value);
    else if (key === 'state') {
      if (!isRecord(value)) throw new ChannelError('option state must be an object');
      changes.state = { ...value };
    } else if (strict) throw new ChannelError(`unknown channel option ${key}`);
  }
  return changes;
}

function toNames(key: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((n) => typeof n === 'string')) throw new ChannelError(`option ${key} must be a list of user names`);
  if (v.length > MAX_HISTORY_SIZE) throw new ChannelError(`option ${key} may hold at most ${MAX_HISTORY_SIZE} names`);
  return [...new Set(v)];
}

const USER_BOOLEAN_KEYS = ['reflective', 'moderated_message', 'per_connection_subscriptions', 'global_unsubscriptions'] as const;

export function applyUserOptions(current: UserOptions, input: Record<string, unknown>, strict: boolean): UserOptions {
  const options = { ...current };
  for (const [key, value] of Object.entries(input)) {
    if ((USER_BOOLEAN_KEYS as readonly string[]).includes(key)) options[key as (typeof USER_BOOLEAN_KEYS)[number]] = toBoolean(key, value);
    else if (strict) throw new ChannelError(`unknown user option ${key}`);
  }
  return options;
}

export const CHANNEL_OPTION_KEYS = [...BOOLEAN_KEYS, 'history_size', 'history_duration', 'polling', 'history', 'state', 'server_user_presence'];
export const USER_OPTION_KEYS: string[] = [...USER_BOOLEAN_KEYS];
