// Parses and validates a hub request (form-encoded, multiplexed on hub.mode). Anything wrong is a
// HookhubError with a plain reason; unknown hub.* and other parameters are ignored.
import { HookhubError } from '../core/errors.js';
import { checkTargetUrl } from '../core/target-guard.js';
import { checkTopicName } from '../core/topic-name.js';

export const MAX_SECRET_BYTES = 200;

export type HubRequest =
  | {
      mode: 'subscribe' | 'unsubscribe';
      callback: string;
      topic: string;
      /** As asked; the hub grants it within its bounds. */
      leaseSeconds: number | undefined;
      secret: string | null;
    }
  | { mode: 'publish'; urls: string[] };

export interface RequestRules {
  allowPrivate: boolean;
  requireHttps: boolean;
}

const FORM = 'application/x-www-form-urlencoded';

/** Form fields of the body; a missing Content-Type is read as a form too (curl -d sends one anyway). */
export function formParams(contentType: string | undefined, body: Buffer | undefined): URLSearchParams {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== FORM) {
    throw new HookhubError('unsupported_media', `hub requests are ${FORM}, not ${type}`);
  }
  return new URLSearchParams((body ?? Buffer.alloc(0)).toString('utf8'));
}

const first = (params: URLSearchParams, name: string): string | undefined => {
  const value = params.get(name);
  return value === null || value === '' ? undefined : value;
};

const required = (params: URLSearchParams, name: string): string => {
  const value = first(params, name);
  if (value === undefined) throw new HookhubError('bad_request', `${name} is required`);
  return value;
};

export function parseHubRequest(params: URLSearchParams, rules: RequestRules): HubRequest {
  const mode = required(params, 'hub.mode');
  switch (mode) {
    case 'subscribe':
    case 'unsubscribe':
      return parseSubscription(mode, params, rules);
    case 'publish':
      return { mode, urls: parsePublish(params, rules) };
    default:
      throw new HookhubError('bad_request', `unknown hub.mode "${mode.slice(0, 50)}": expected subscribe, unsubscribe or publish`);
  }
}

function parseSubscription(mode: 'subscribe' | 'unsubscribe', params: URLSearchParams, rules: RequestRules): HubRequest {
  const callbackText = required(params, 'hub.callback');
  const topic = checkTopicName(required(params, 'hub.topic'));
  const callback = checkTargetUrl(callbackText, rules.allowPrivate, 'hub.callback');
  const secret = mode === 'subscribe' ? (params.get('hub.secret') ?? null) : null;
  if (secret !== null) {
    if (Buffer.byteLength(secret, 'utf8') >= MAX_SECRET_BYTES) {
      throw new HookhubError('bad_request', `hub.secret must be shorter than ${MAX_SECRET_BYTES} bytes`);
    }
    if (rules.requireHttps && callback.protocol !== 'https:') {
      throw new HookhubError('bad_request', 'hub.secret is only accepted with an https hub.callback (--websub-require-https)');
    }
  }
  const leaseText = first(params, 'hub.lease_seconds');
  if (leaseText !== undefined && !/^\d{1,12}$/.test(leaseText)) {
    throw new HookhubError('bad_request', 'hub.lease_seconds must be a whole number of seconds');
  }
  return {
    mode,
    // Kept as given (minus a fragment): the verification GET must keep its own query string byte for byte.
    callback: callbackText.split('#')[0]!,
    topic,
    leaseSeconds: leaseText === undefined ? undefined : Number(leaseText),
    secret: secret === '' ? null : secret,
  };
}

function parsePublish(params: URLSearchParams, rules: RequestRules): string[] {
  const urls = [...new Set(['hub.url', 'hub.url[]', 'hub.topic', 'hub.topic[]'].flatMap((n) => params.getAll(n)).filter((u) => u !== ''))];
  if (urls.length === 0) throw new HookhubError('bad_request', 'hub.url (or hub.topic) is required');
  for (const url of urls) {
    checkTopicName(url);
    checkTargetUrl(url, rules.allowPrivate, 'hub.url');
  }
  return urls;
}

/** Matches topics against --websub-allow patterns (`*` matches any run of characters); all allowed when unset. */
export function topicFilter(patterns: readonly string[] | undefined): (topic: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const regexes = patterns.map(
    (p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's'),
  );
  return (topic) => regexes.some((r) => r.test(topic));
}

/** The callback URL with its own query string kept byte for byte and the hub's parameters appended. */
export function withHubParams(callback: string, params: Record<string, string>): string {
  const extra = new URLSearchParams(params).toString();
  const base = callback.split('#')[0]!;
  if (!base.includes('?')) return `${base}?${extra}`;
  return base.endsWith('?') || base.endsWith('&') ? `${base}${extra}` : `${base}&${extra}`;
}
