// /dispatch with `_url`: the control fields of a parsed body, checked, become one OutgoingWebhook.
// Every refusal is a 400 naming the field; nothing is queued for a refused request.
import { HookhubError } from '../core/errors.js';
import { parseJsonInput } from '../core/json-input.js';
import { parseDuration } from '../core/units.js';
import type { OutgoingWebhook } from '../core/webhooks.js';
import { controlText, type ControlValue, type DispatchBody } from './body.js';
import { signingKey } from './signing.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Headers the dispatcher owns or that would break the request framing. */
const RESERVED_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect',
  'proxy-connection', 'proxy-authorization', 'webhook-id', 'webhook-timestamp', 'webhook-signature',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const MAX_TIMEOUT_MS = 300_000;
const MAX_KEY_LENGTH = 255;

/** What Node's HTTP client sends as a header value: tab, visible ASCII, space and Latin-1 (no line breaks, no NUL). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function parseHeaders(body: DispatchBody): Record<string, string> | undefined {
  let value = body.control.get('_headers');
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    // An object of names to text: two levels are enough to name a nested value in the refusal below.
    const parsed = parseJsonInput(value, 2);
    if (!parsed.ok) {
      const why = parsed.kind === 'malformed' ? 'not valid JSON' : parsed.kind === 'too_deep' ? 'values must be text' : '__proto__ is not a header name';
      throw new HookhubError('bad_request', `_headers must be a JSON object of header names to values (${why})`);
    }
    value = parsed.value as ControlValue;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HookhubError('bad_request', '_headers must be a JSON object of header names to values');
  }
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!TOKEN.test(name)) throw new HookhubError('bad_request', `_headers: invalid header name ${JSON.stringify(name)}`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new HookhubError('bad_request', `_headers may not set ${name}`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new HookhubError('bad_request', `_headers: the value of ${name} must be text`);
    }
    const text = String(v);
    if (/[\r\n\0]/.test(text)) throw new HookhubError('bad_request', `_headers: the value of ${name} contains a line break`);
    // Refused now rather than failing on every attempt.
    if (!HEADER_VALUE.test(text)) throw new HookhubError('bad_request', `_headers: the value of ${name} has characters outside Latin-1 or control characters`);
    headers[name.toLowerCase()] = text;
  }
  return headers;
}

function parseTimeout(body: DispatchBody): number | undefined {
  const raw = body.control.get('_timeout');
  if (raw === undefined || raw === null || raw === '') return undefined;
  const ms = typeof raw === 'number' || typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (ms === undefined || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new HookhubError('bad_request', `_timeout must be a duration between 1ms and 5m (a bare number is seconds), got ${JSON.stringify(raw)}`);
  }
  return ms;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

/**
 * `_ordering_key=<key>` orders the deliveries sharing that key; `_ordered=1` orders those to the same `_url`
 * (the URL as given, before a GET's form fields join its query string).
 */
function parseOrderKey(body: DispatchBody, url: string): string | undefined {
  const key = controlText(body, '_ordering_key');
  if (key !== undefined && key !== '') {
    if (key.length > MAX_KEY_LENGTH) throw new HookhubError('bad_request', `_ordering_key is longer than ${MAX_KEY_LENGTH} characters`);
    return key;
  }
  const ordered = controlText(body, '_ordered')?.toLowerCase();
  if (ordered === undefined || FALSE.has(ordered)) return undefined;
  if (!TRUE.has(ordered)) throw new HookhubError('bad_request', `_ordered must be true or false (1/0), got ${JSON.stringify(ordered)}`);
  return `url:${url}`;
}

/** The webhook a /dispatch `_url` body asks for (URL checks happen in the dispatcher's enqueue). */
export function webhookFromDispatch(body: DispatchBody, headers: Record<string, string | string[] | undefined>): OutgoingWebhook {
  const url = controlText(body, '_url') as string;
  const method = (controlText(body, '_method') ?? (body.payload.empty ? 'GET' : 'POST')).toUpperCase();
  if (!METHODS.has(method)) throw new HookhubError('bad_request', `_method must be one of ${[...METHODS].join(', ')}`);

  let target = url;
  let payload = body.payload;
  if ((method === 'GET' || method === 'HEAD') && !payload.empty) {
    // A GET carries no body: form fields go into the query string; other payloads cannot be sent.
    if (payload.contentType !== 'application/x-www-form-urlencoded') {
      throw new HookhubError('bad_request', `_method ${method} cannot carry a ${payload.contentType.split(';')[0]} payload`);
    }
    if (URL.canParse(url)) {
      const u = new URL(url);
      u.search = u.search ? `${u.search}&${payload.body.toString('latin1')}` : `?${payload.body.toString('latin1')}`;
      target = u.toString();
    }
    payload = { ...payload, body: Buffer.alloc(0), empty: true };
  }

  const w: OutgoingWebhook = { url: target, method, body: payload.body };
  if (!payload.empty) w.contentType = payload.contentType;
  const extra = parseHeaders(body);
  if (extra) w.headers = extra;
  const timeoutMs = parseTimeout(body);
  if (timeoutMs !== undefined) w.timeoutMs = timeoutMs;
  const secret = controlText(body, '_secret');
  if (secret !== undefined) {
    if (secret === '') throw new HookhubError('bad_request', '_secret is empty');
    signingKey(secret);
    w.secret = secret;
  }
  const errback = controlText(body, '_errback');
  if (errback !== undefined && errback !== '') w.errback = errback;
  const callback = controlText(body, '_callback');
  if (callback !== undefined && callback !== '') w.callback = callback;
  const headerKey = headers['idempotency-key'];
  const key = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? controlText(body, '_idempotency_key');
  if (key !== undefined && key !== '') {
    if (key.length > MAX_KEY_LENGTH) throw new HookhubError('bad_request', `the idempotency key is longer than ${MAX_KEY_LENGTH} characters`);
    w.idempotencyKey = key;
  }
  const orderKey = parseOrderKey(body, url);
  if (orderKey !== undefined) w.orderKey = orderKey;
  return w;
}
