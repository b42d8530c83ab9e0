// The HTTP API's signature check against what the Pusher SDK itself signs (its createSignedQueryString),
// and each way a request can differ from what was signed.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { checkSignature, type SignedRequest } from '../../../src/pusher/request-signature.js';

const require = createRequire(import.meta.url);
// The SDK's own signing (lib/requests.js), as every request it sends is signed.
const { createSignedQueryString } = require('pusher/lib/requests') as {
  createSignedQueryString(token: { key: string; sign(s: string): string }, request: { method: string; path: string; params?: Record<string, string>; body?: string }): string;
};
const Token = require('pusher/lib/token') as new (key: string, secret: string) => { key: string; sign(s: string): string };

const app = { key: 'the-key', secret: 'the-secret' };

/** A request as the SDK would send it, decoded as the server parses it; `nowMs` is its own timestamp. */
function sdkRequest(method: 'GET' | 'POST', path: string, params?: Record<string, string>, body?: string): { req: SignedRequest; nowMs: number } {
  const qs = createSignedQueryString(new Token(app.key, app.secret), { method, path, ...(params ? { params } : {}), ...(body !== undefined ? { body } : {}) });
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) query[k] = v;
  return { req: { method, path, query, body: Buffer.from(body ?? '') }, nowMs: Number(query.auth_timestamp) * 1000 };
}

describe('checkSignature', () => {
  it('accepts what the SDK signs: POST with body_md5, GET with parameters', () => {
    const post = sdkRequest('POST', '/apps/1/events', undefined, '{"name":"e","data":"d","channel":"c"}');
    expect(checkSignature(app, post.req, post.nowMs)).toEqual({ ok: true });
    const get = sdkRequest('GET', '/apps/1/channels', { filter_by_prefix: 'presence-', info: 'user_count' });
    expect(checkSignature(app, get.req, get.nowMs)).toEqual({ ok: true });
  });

  it('refuses every change to what was signed', () => {
    const { req, nowMs } = sdkRequest('POST', '/apps/1/events', { extra: 'x' }, '{"a":1}');
    const refused = (r: SignedRequest, at = nowMs) => checkSignature(app, r, at);
    expect(refused({ ...req, method: 'PUT' })).toMatchObject({ ok: false, status: 401 });
    expect(refused({ ...req, path: '/apps/2/events' })).toMatchObject({ ok: false, status: 401 });
    expect(refused({ ...req, query: { ...req.query, extra: 'y' } })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/invalid signature/) });
    expect(refused({ ...req, query: { ...req.query, added: '1' } })).toMatchObject({ ok: false, status: 401 });
    expect(refused({ ...req, body: Buffer.from('{"a":2}') })).toMatchObject({ ok: false, status: 401, reason: 'body_md5 does not match the body' });
    expect(refused(req, nowMs + 601_000)).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/timestamp expired/) });
    expect(refused(req, nowMs - 601_000)).toMatchObject({ ok: false, status: 401 });
    expect(refused(req, nowMs + 600_000)).toEqual({ ok: true });
    expect(checkSignature({ ...app, secret: 'other' }, req, nowMs)).toMatchObject({ ok: false, status: 401 });
    expect(checkSignature({ ...app, key: 'other' }, req, nowMs)).toMatchObject({ ok: false, status: 401, reason: 'unknown auth_key for this app' });
  });

  it('refuses missing parameters, a body without body_md5, another auth_version and repeated parameters', () => {
    const { req, nowMs } = sdkRequest('POST', '/apps/1/events', undefined, '{}');
    for (const name of ['auth_key', 'auth_timestamp', 'auth_signature']) {
      const query = { ...req.query };
      delete query[name];
      expect(checkSignature(app, { ...req, query }, nowMs)).toEqual({ ok: false, status: 401, reason: `missing ${name}` });
    }
    const unsigned = sdkRequest('GET', '/apps/1/users/u/terminate_connections');
    expect(checkSignature(app, { ...unsigned.req, method: 'GET', body: Buffer.from('{}') }, unsigned.nowMs)).toMatchObject({ ok: false, reason: 'missing body_md5 for a request with a body' });
    expect(checkSignature(app, { ...req, query: { ...req.query, auth_version: '2.0' } }, nowMs)).toMatchObject({ ok: false, status: 401 });
    expect(checkSignature(app, { ...req, query: { ...req.query, auth_key: [app.key, app.key] } }, nowMs)).toMatchObject({ ok: false, status: 400 });
    expect(checkSignature(app, { ...req, query: { ...req.query, AUTH_KEY: app.key } }, nowMs)).toMatchObject({ ok: false, status: 400 });
    expect(checkSignature(app, { ...req, query: { ...req.query, auth_signature: 'zz' } }, nowMs)).toMatchObject({ ok: false, status: 401 });
    expect(checkSignature(app, { ...req, query: { ...req.query, auth_timestamp: '1e9' } }, nowMs)).toMatchObject({ ok: false, status: 401 });
  });
});
