// POST /dispatch is answered by a fast lane beside Fastify (http/fast-lane.ts) when Fastify would add nothing
// to the request. Its answers must be the route's, byte for byte; whatever it cannot answer the same goes to
// the route. Each request here is sent twice on raw sockets: to `/dispatch` (the lane) and to `/dispatch?`
// (the same route, which the lane leaves to Fastify), and the two answers compared.
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { fastLanesOf } from '../../src/http/app.js';
import { startServer, type Hookhub } from '../../src/server.js';
import { testConfig } from '../helpers/config.js';
import { captureLog } from '../helpers/log-capture.js';
import { startHub } from '../helpers/server.js';
import { rawPost } from '../helpers/raw-post.js';

const started: Hookhub[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.close()));
});

/** One request on its own connection (test/helpers/raw-post.ts). */
function exchange(hub: Hookhub, path: string, body: string, headers: Record<string, string>): Promise<string> {
  return rawPost(hub.url, path, body, headers);
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };
const target = 'http://127.0.0.1:9/hook';

/** The lane's answer and the route's to the same request, and how many requests the lane took meanwhile. */
async function both(hub: Hookhub, body: string, headers: Record<string, string>): Promise<{ lane: string; route: string; taken: number }> {
  const lanes = fastLanesOf(hub.app);
  const before = lanes.taken();
  const lane = await exchange(hub, '/dispatch', body, headers);
  const route = await exchange(hub, '/dispatch?', body, headers);
  return { lane, route, taken: lanes.taken() - before };
}

describe('POST /dispatch through the fast lane', () => {
  it('answers a queued delivery as the route does (status, headers, body)', async () => {
    const hub = await startHub();
    const { lane, route, taken } = await both(hub, `_url=${encodeURIComponent(target)}&a=1`, FORM);
    expect(taken).toBe(1);
    expect(lane).toMatch(/^HTTP\/1\.1 202 Accepted\r\n/);
    const anyId = (s: string): string => s.replace(/"id":"[0-9a-f-]{36}"/, '"id":"…"');
    expect(anyId(lane)).toBe(anyId(route));
    // Both queued: the lane's delivery is in the log like the route's.
    const ids = [lane, route].map((s) => /"id":"([^"]+)"/.exec(s)?.[1]);
    for (const id of ids) expect((await fetch(`${hub.url}/api/deliveries/${id}`)).status).toBe(200);
  });

  it('answers refusals, batches and topic publishes as the route does', async () => {
    const hub = await startHub();
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['a=1', FORM, /^HTTP\/1\.1 400 /],
      [`_url=${encodeURIComponent(target)}&_topic=t`, FORM, /^HTTP\/1\.1 400 /],
      ['_url=ftp%3A%2F%2Fx&a=1', FORM, /^HTTP\/1\.1 400 /],
      [`_url=${encodeURIComponent(target)}&_method=NOPE`, FORM, /^HTTP\/1\.1 400 /],
      ['{"a":', JSON_TYPE, /^HTTP\/1\.1 400 /],
      ['[]', JSON_TYPE, /^HTTP\/1\.1 400 /],
      ['"text"', JSON_TYPE, /^HTTP\/1\.1 400 /],
      [JSON.stringify([{ _url: target, n: 1 }, { n: 2 }]), JSON_TYPE, /^HTTP\/1\.1 400 /],
      ['', FORM, /^HTTP\/1\.1 400 /],
    ];
    for (const [body, headers, status] of cases) {
      const { lane, route, taken } = await both(hub, body, headers);
      expect(taken, body).toBe(1);
      expect(lane, body).toMatch(status);
      expect(lane, body).toBe(route);
    }
    // Answers that differ only by what each request made: a batch's ids, a publish's id and offset.
    const batch = await both(hub, JSON.stringify([{ _url: target, n: 1 }, { _url: target, n: 2 }]), JSON_TYPE);
    const ids = (s: string): string => s.replace(/"[0-9a-f]{8}-[0-9a-f-]{27}"/g, '"…"');
    expect(batch.taken).toBe(1);
    expect(ids(batch.lane)).toMatch(/^HTTP\/1\.1 202 .*\{"ids":\["…","…"\]\}$/s);
    expect(ids(batch.lane)).toBe(ids(batch.route));
    const publish = await both(hub, '_topic=lane-test&x=1', FORM);
    const published = (s: string): string => s.replace(/"id":"[^"]+","offset":\d+/, '"id":"…","offset":…');
    expect(publish.taken).toBe(1);
    expect(published(publish.lane)).toMatch(/^HTTP\/1\.1 202 /);
    expect(published(publish.lane)).toBe(published(publish.route));
  });

  it('leaves to the route what Fastify answers: a wrong or missing key, a body over --max-body, other types and parameters', async () => {
    const hub = await startHub({ apiKey: 'k3y', maxBody: 64 });
    const lanes = fastLanesOf(hub.app);
    const key = { authorization: 'Bearer k3y' };
    const body = `_url=${encodeURIComponent(target)}`;
    let taken = lanes.taken();
    expect(await exchange(hub, '/dispatch', body, { ...FORM, ...key })).toMatch(/^HTTP\/1\.1 202 /);
    expect(lanes.taken()).toBe(++taken);
    expect(await exchange(hub, '/dispatch', body, { ...FORM, authorization: 'Bearer nope' })).toMatch(/^HTTP\/1\.1 401 .*"code":"unauthorized"/s);
    expect(await exchange(hub, '/dispatch', body, FORM)).toMatch(/^HTTP\/1\.1 401 /);
    expect(await exchange(hub, '/dispatch', `${body}&pad=${'x'.repeat(64)}`, { ...FORM, ...key })).toMatch(/^HTTP\/1\.1 413 .*body larger than 64 bytes/s);
    expect(await exchange(hub, '/dispatch', body, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...key })).toMatch(/^HTTP\/1\.1 202 /);
    expect(await exchange(hub, '/dispatch', body, { 'content-type': 'text/plain', ...key })).toMatch(/^HTTP\/1\.1 415 /);
    expect(lanes.taken()).toBe(taken);
  });

  it('writes the request line the route writes, with its request id, while request lines are logged', async () => {
    const log = captureLog('info');
    const hub = await startServer(testConfig({ allowPrivateTargets: true, logLevel: 'info' }), { logger: log.logger as unknown as FastifyBaseLogger });
    started.push(hub);
    const { taken } = await both(hub, `_url=${encodeURIComponent(target)}`, FORM);
    expect(taken).toBe(1);
    const lines = log.lines.filter((l) => l.msg === 'request');
    expect(lines.map((l) => [l.method, l.url, l.status])).toEqual([['POST', '/dispatch', 202], ['POST', '/dispatch?', 202]]);
    expect(lines.map((l) => Object.keys(l).sort())).toEqual([Object.keys(lines[1] ?? {}).sort(), Object.keys(lines[1] ?? {}).sort()]);
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(2);
    expect(lines.every((l) => typeof l.ms === 'number')).toBe(true);
  });
});
