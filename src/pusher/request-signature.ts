// Pusher's HTTP API authentication, auth_version 1.0: the caller signs
//   METHOD \n path \n sorted query (every parameter but auth_signature, `key=value` joined by &, not escaped)
// with hex HMAC-SHA256 under the app secret, and a POST body by its hex MD5 in body_md5. This is what the
// Pusher server SDKs send; the checks here answer a refusal as a value, never throwing.
import { createHash, createHmac } from 'node:crypto';
import { secretEquals } from '../http/auth.js';

/** How far auth_timestamp may lie from our clock, as Pusher allows. */
export const MAX_CLOCK_SKEW_S = 600;

export interface SignedRequest {
  method: string;
  /** The path as received (not decoded), e.g. /apps/1/events. */
  path: string;
  /** The query parameters, decoded; a repeated name is an array. */
  query: Record<string, string | string[] | undefined>;
  /** The raw body (empty when none). */
  body: Buffer;
}

export interface SigningApp {
  key: string;
  secret: string;
}

export type SignatureCheck = { ok: true } | { ok: false; status: 400 | 401; reason: string };

const hex = (s: string): boolean => /^[0-9a-f]+$/i.test(s);

/** The signed text of a request: method, path and its sorted query (auth_signature left out). */
export function stringToSign(method: string, path: string, query: Record<string, string>): string {
  const pairs = Object.keys(query)
    .filter((k) => k !== 'auth_signature')
    .sort()
    .map((k) => `${k}=${query[k]}`);
  return [method.toUpperCase(), path, pairs.join('&')].join('\n');
}

export const signRequest = (secret: string, method: string, path: string, query: Record<string, string>): string =>
  createHmac('sha256', secret).update(stringToSign(method, path, query)).digest('hex');

export const bodyMd5 = (body: Buffer): string => createHash('md5').update(body).digest('hex');

/**
 * The query with keys lower-cased, as Pusher signs it; a parameter given twice (in any case) cannot be
 * signed unambiguously and is refused.
 */
export function flatQuery(query: SignedRequest['query']): { ok: true; query: Record<string, string> } | { ok: false; reason: string } {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (Array.isArray(value) || key in out) return { ok: false, reason: `query parameter ${key} given more than once` };
    out[key] = value;
  }
  return { ok: true, query: out };
}

/** Checks auth_key, auth_timestamp, auth_version, auth_signature and (with a body) body_md5. */
export function checkSignature(app: SigningApp, req: SignedRequest, nowMs: number): SignatureCheck {
  const flat = flatQuery(req.query);
  if (!flat.ok) return { ok: false, status: 400, reason: flat.reason };
  const q = flat.query;
  for (const name of ['auth_key', 'auth_timestamp', 'auth_signature']) {
    if (q[name] === undefined || q[name] === '') return { ok: false, status: 401, reason: `missing ${name}` };
  }
  if (q.auth_version !== undefined && q.auth_version !== '1.0') {
    return { ok: false, status: 401, reason: `unsupported auth_version ${q.auth_version} (1.0 is supported)` };
  }
  if (!secretEquals(q.auth_key as string, app.key)) return { ok: false, status: 401, reason: 'unknown auth_key for this app' };
  const ts = q.auth_timestamp as string;
  if (!/^\d{1,15}$/.test(ts)) return { ok: false, status: 401, reason: 'auth_timestamp must be whole seconds since the epoch' };
  const now = Math.floor(nowMs / 1000);
  if (Math.abs(now - Number(ts)) > MAX_CLOCK_SKEW_S) {
    return { ok: false, status: 401, reason: `timestamp expired: ${ts} is not within ${MAX_CLOCK_SKEW_S}s of server time ${now}` };
  }
  const given = q.auth_signature as string;
  const expected = signRequest(app.secret, req.method, req.path, q);
  if (!hex(given) || !secretEquals(given.toLowerCase(), expected)) return { ok: false, status: 401, reason: 'invalid signature: check the app secret and the signed string (METHOD\\npath\\nsorted query)' };
  // body_md5 is covered by the signature, so comparing it is not secret-dependent; it must match the body.
  const md5 = q.body_md5;
  if (req.body.length > 0 && md5 === undefined) return { ok: false, status: 401, reason: 'missing body_md5 for a request with a body' };
  if (md5 !== undefined && md5.toLowerCase() !== bodyMd5(req.body)) return { ok: false, status: 401, reason: 'body_md5 does not match the body' };
  return { ok: true };
}
