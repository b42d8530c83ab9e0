// An attacker's inputs to the Pusher front door, generated (fast-check): the HTTP API with random,
// malformed, oversized and deeply nested bodies and queries, forged and replayed signatures and path tricks;
// the WebSocket /app/<key> with random frames. The properties: never a 5xx or a crash, always a clear
// error, nothing written outside the app's topic prefix (`<app_id>/`, so never `hookhub.endpoints` or
// another app's topics), and the server keeps serving (and can still stop).
import { request } from 'node:http';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, stopHub } from '../helpers/server.js';
import { APP_1, APP_2 } from '../helpers/pusher-sdk.js';
import { until } from '../helpers/wait.js';
import type { Hookhub } from '../../src/server.js';

const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});

const MAX_FRAME = 16 * 1024;
const hubWithApps = () => startHub({ pusherApps: [APP_1, { ...APP_2, clientEvents: true }], maxFrame: MAX_FRAME, maxJsonDepth: 32, maxBody: 64 * 1024 });

/** Each topic's last offset: what a test compares before and after. */
async function topicHeads(hub: Hookhub): Promise<Map<string, number>> {
  return new Map((await hub.topics.list()).map((t) => [t.topic, t.last]));
}

/** The topics written (new, or grown) since `before`: all must be under the prefix. */
async function written(hub: Hookhub, before: Map<string, number>): Promise<string[]> {
  const after = await topicHeads(hub);
  return [...after].filter(([t, last]) => before.get(t) !== last).map(([t]) => t);
}

interface Reply {
  status: number;
  body: string;
}

/** A raw HTTP request: the path goes out byte for byte (no `..` folding, no re-encoding). */
function raw(hub: Hookhub, method: string, path: string, body?: Buffer | string): Promise<Reply> {
  const { port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request signed as the SDKs sign it (decoded values in the signed text, encoded ones on the wire). */
function signed(app: { key: string; secret: string }, method: string, path: string, params: Record<string, string>, body?: string, tweak?: (q: Record<string, string>) => void): string {
  const q: Record<string, string> = { auth_key: app.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0', ...params };
  if (body !== undefined) q.body_md5 = createHash('md5').update(body).digest('hex');
  const text = Object.keys(q).sort().map((k) => `${k}=${q[k]}`).join('&');
  q.auth_signature = createHmac('sha256', app.secret).update(`${method}\n${path.split('?')[0]}\n${text}`).digest('hex');
  tweak?.(q);
  return `${path}?${Object.entries(q).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

/** A refusal is a 4xx with a JSON `error` saying why; a success a 200 with a JSON body. */
function expectClear(r: Reply): void {
  expect(r.status, r.body).toBeLessThan(500);
  if (r.status === 404 && !r.body.startsWith('{')) return; // the router's own 404 for a path that is no route
  const parsed = JSON.parse(r.body) as { error?: unknown };
  if (r.status >= 400) expect(typeof parsed.error, r.body).toBe('string');
}

/** JSON nested `depth` deep, arrays or objects. */
const nested = (depth: number, inObject: boolean): string => (inObject ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth));

const channelLike = fc.oneof(
  fc.constantFrom('news', 'private-x', 'presence-room', '..', '../2/news', '2/news', '/hookhub.endpoints', 'hookhub.endpoints', '%2F2%2Fnews', '#', 'a\u0000b', 'a\nb', '', ' ', 'x'.repeat(165)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const jsonish = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ name: fc.string({ maxLength: 30 }), data: fc.oneof(fc.string({ maxLength: 50 }), fc.jsonValue({ maxDepth: 2 })), channel: channelLike }, { requiredKeys: [] }),
  fc.record({ name: fc.constantFrom('ev', 'pusher:x', 'pusher_internal:y', 'x'.repeat(201)), data: fc.string({ maxLength: 20 }), channels: fc.array(channelLike, { maxLength: 4 }), socket_id: fc.string({ maxLength: 12 }), info: fc.string({ maxLength: 30 }) }, { requiredKeys: [] }),
  fc.record({ batch: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.record({ name: fc.string({ maxLength: 10 }), data: fc.string({ maxLength: 10 }), channel: channelLike }, { requiredKeys: [] }), { maxLength: 12 })) }),
);

const bodies = fc.oneof(
  jsonish.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.integer({ min: 30, max: 3000 }).chain((d) => fc.boolean().map((o) => nested(d, o))),
  fc.integer({ min: 10_000, max: 40_000 }).map((n) => JSON.stringify({ name: 'big', channel: 'news', data: 'x'.repeat(n) })),
  fc.constantFrom(JSON.stringify({ name: 'ok', channel: 'news', data: 'd' }), JSON.stringify({ batch: [{ name: 'ok', channel: 'news', data: 'd' }] })),
  fc.constantFrom('', '{', '{"name":"a","data":"b","channel":"c"', '\u0000', '{"__proto__":{"polluted":1},"name":"e","data":"d","channel":"news"}', '{"constructor":{"prototype":{"x":1}}}'),
);

describe('Pusher HTTP API: an attacker\'s inputs', () => {
  it('random bodies to events and batch_events: a clear answer, only the app\'s topics written', async () => {
    const hub = await hubWithApps();
    const before = await topicHeads(hub);
    const seen = new Set<number>();
    await fc.assert(fc.asyncProperty(fc.constantFrom('events', 'batch_events'), bodies, async (route, body) => {
      const r = await raw(hub, 'POST', signed(APP_1, 'POST', `/apps/1/${route}`, {}, body), body);
      expectClear(r);
      expect([200, 400, 413], r.body).toContain(r.status);
      seen.add(r.status);
    }), { numRuns: 200 });
    // The generator reaches every answer: accepted, refused, too large.
    expect([...seen].sort()).toEqual([200, 400, 413]);
    // Past --max-body (here 64 KB), before the signature is even read: 413, and a clear error.
    const huge = JSON.stringify({ name: 'big', channel: 'news', data: 'x'.repeat(100_000) });
    const tooBig = await raw(hub, 'POST', signed(APP_1, 'POST', '/apps/1/events', {}, huge), huge);
    expect(tooBig.status).toBe(413);
    expectClear(tooBig);
    for (const t of await written(hub, before)) expect(t.startsWith('1/'), t).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await raw(hub, 'GET', '/healthz')).status).toBe(200);
  });

  it('random query strings on the GET routes: a clear answer', async () => {
    const hub = await hubWithApps();
    const params = fc.dictionary(fc.oneof(fc.constantFrom('info', 'filter_by_prefix', 'INFO', 'auth_key', 'body_md5'), fc.string({ maxLength: 10 })), fc.string({ maxLength: 40 }), { maxKeys: 4 });
    const routes = fc.oneof(fc.constant('/apps/1/channels'), channelLike.map((c) => `/apps/1/channels/${encodeURIComponent(c)}`), channelLike.map((c) => `/apps/1/channels/${encodeURIComponent(c)}/users`));
    await fc.assert(fc.asyncProperty(routes, params, async (path, p) => {
      const r = await raw(hub, 'GET', signed(APP_1, 'GET', path, p));
      expectClear(r);
    }), { numRuns: 150 });
  });

  it('forged signatures, keys, timestamps and replays: 401 (or 400), and no effect', async () => {
    const hub = await hubWithApps();
    const before = await topicHeads(hub);
    const body = JSON.stringify({ name: 'ev', channel: 'news', data: 'd' });
    const hexa = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
    const forge = fc.oneof(
      fc.record({ auth_signature: fc.oneof(hexa(64), fc.string({ maxLength: 70 })) }),
      fc.record({ auth_key: fc.oneof(fc.constant(APP_2.key), fc.string({ maxLength: 20 })).filter((k) => k !== APP_1.key) }),
      fc.record({ auth_timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }).map(String), fc.string({ maxLength: 16 })) }), // another time is another signed text
      fc.record({ body_md5: hexa(32) }),
      fc.record({ auth_version: fc.constantFrom('2.0', '', '1.0 ') }),
    );
    await fc.assert(fc.asyncProperty(forge, async (changes) => {
      const url = signed(APP_1, 'POST', '/apps/1/events', {}, body, (q) => Object.assign(q, changes));
      const r = await raw(hub, 'POST', url, body);
      expectClear(r);
      expect([400, 401], r.body).toContain(r.status);
    }), { numRuns: 120 });
    // Replays: app 1's signed request sent to app 2's path, a stale timestamp, another body under the same signature.
    const good = signed(APP_1, 'POST', '/apps/1/events', {}, body);
    expect((await raw(hub, 'POST', good.replace('/apps/1/', '/apps/2/'), body)).status).toBe(401);
    expect((await raw(hub, 'POST', good, JSON.stringify({ name: 'ev', channel: 'other', data: 'd' }))).status).toBe(401);
    const stale = signed(APP_1, 'POST', '/apps/1/events', { auth_timestamp: String(Math.floor(Date.now() / 1000) - 3600) }, body);
    expect((await raw(hub, 'POST', stale, body)).status).toBe(401);
    expect(await written(hub, before)).toEqual([]);
  });

  it('path tricks (.., encoded slashes, another app\'s id) never reach outside the app\'s prefix', async () => {
    const hub = await hubWithApps();
    const before = await topicHeads(hub);
    const body = JSON.stringify({ name: 'ev', channel: 'news', data: 'd' });
    const tricks = [
      '/apps/1/../2/events', '/apps/1/%2E%2E/2/events', '/apps/1%2F..%2F2/events', '/apps/2/../1/events', '/apps/1/events/..',
      '/apps/..%2F2/events', '/apps/1//events', '/apps/%31/events', '/apps/1/./events', '/apps/1/events%00',
    ];
    for (const path of tricks) {
      // Signed as app 1 for exactly that path: routing, not the signature, must keep it in app 1.
      const r = await raw(hub, 'POST', signed(APP_1, 'POST', path, {}, body), body);
      expectClear(r);
    }
    // Channel names that try to leave the prefix are refused before any publish.
    for (const channel of ['../2/news', '2/news', '/hookhub.endpoints', 'hookhub.endpoints#', 'news\u0000', 'a/b', '%2F2']) {
      const b = JSON.stringify({ name: 'ev', channel, data: 'd' });
      const r = await raw(hub, 'POST', signed(APP_1, 'POST', '/apps/1/events', {}, b), b);
      expect(r.status, channel).toBe(400);
      const bb = JSON.stringify({ batch: [{ name: 'ev', channel: 'ok', data: 'd' }, { name: 'ev', channel, data: 'd' }] });
      expect((await raw(hub, 'POST', signed(APP_1, 'POST', '/apps/1/batch_events', {}, bb), bb)).status, channel).toBe(400);
    }
    for (const t of await written(hub, before)) expect(t.startsWith('1/'), t).toBe(true);
    const users = ['..%2F..%2Fx', '%00', 'a%2Fb'];
    for (const u of users) expectClear(await raw(hub, 'POST', signed(APP_1, 'POST', `/apps/1/users/${u}/terminate_connections`, {}, '{}'), '{}'));
  });
});

interface Conn {
  ws: WebSocket;
  frames: Array<{ event: string; channel?: string; data?: unknown }>;
  closed?: number;
}

async function connect(hub: Hookhub, key: string): Promise<Conn> {
  const ws = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/app/${key}?protocol=7&client=js&version=8.4.0`);
  sockets.push(ws);
  const c: Conn = { ws, frames: [] };
  ws.on('message', (d) => c.frames.push(JSON.parse(d.toString()) as Conn['frames'][number]));
  ws.on('close', (code) => (c.closed = code));
  ws.on('error', () => {});
  await until(() => c.frames.length > 0 || c.closed !== undefined, 'connection_established');
  return c;
}

/** Codes a connection may be closed with after bad input: 1009 (frame over --max-frame), 4009 (bad signin), 4301 rate. */
const CLEAR_CLOSE = [1009, 4009];

const frames = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({
    event: fc.oneof(fc.constantFrom('pusher:subscribe', 'pusher:unsubscribe', 'pusher:signin', 'pusher:ping', 'pusher:pong', 'client-x', 'pusher:nope', 'pusher_internal:member_added', ''), fc.string({ maxLength: 20 })),
    channel: fc.oneof(channelLike, fc.jsonValue({ maxDepth: 1 })),
    data: fc.oneof(
      fc.record({ channel: fc.oneof(channelLike, fc.jsonValue({ maxDepth: 1 })), auth: fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 1 })), channel_data: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 })), since: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 5 })), epoch: fc.jsonValue({ maxDepth: 1 }), offsets: fc.jsonValue({ maxDepth: 1 }), user_data: fc.string({ maxLength: 30 }) }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 3 }),
    ),
  }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 50, max: 5000 }).chain((d) => fc.boolean().map((o) => `{"event":"pusher:subscribe","data":${nested(d, o)}}`)),
  fc.integer({ min: MAX_FRAME - 100, max: MAX_FRAME * 2 }).map((n) => JSON.stringify({ event: 'client-big', channel: 'private-x', data: 'x'.repeat(n) })),
);

describe('Pusher WebSocket: an attacker\'s paths', () => {
  it('a path that names no app key: 4001 and the close, or a plain 4xx; the node keeps serving', async () => {
    const hub = await hubWithApps();
    const base = hub.url.replace(/^http/, 'ws');
    const paths = ['/app/', '/app/%2e%2e', '/app/..%2Fkey-one', '/app/key-one%00', '/app/key-one%2F..%2Fkey-two', `/app/${'k'.repeat(2000)}`, '/app/key-one/extra', '/app/KEY-ONE', '/app/%ZZ', '/apps/1', '/ws%ZZ'];
    for (const path of paths) {
      const outcome = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${base}${path}`);
        sockets.push(ws);
        ws.on('close', (code) => resolve(code));
        ws.on('unexpected-response', (req, res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        ws.on('error', () => {});
      });
      if (outcome >= 4000) expect(outcome, path).toBe(4001);
      else expect(outcome >= 400 && outcome < 500, `${path}: ${outcome}`).toBe(true);
    }
    const ok = await connect(hub, APP_1.key);
    expect(ok.frames[0]?.event).toBe('pusher:connection_established');
    // No refused upgrade is left holding its socket: the node still stops.
    ok.ws.terminate();
    const stopped = await Promise.race([stopHub(hub).then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000))]);
    expect(stopped).toBe('stopped');
  });
});

describe('Pusher WebSocket: random frames', () => {
  it('every frame gets a clear answer or a clear close; the node keeps serving; nothing outside the prefix is written', async () => {
    const hub = await hubWithApps();
    const before = await topicHeads(hub);
    await fc.assert(fc.asyncProperty(fc.constantFrom(APP_1.key, APP_2.key), fc.array(frames, { minLength: 1, maxLength: 8 }), async (key, texts) => {
      const c = await connect(hub, key);
      expect(c.frames[0]?.event).toBe('pusher:connection_established');
      for (const t of texts) c.ws.send(t);
      c.ws.send('{"event":"pusher:ping","data":{}}');
      await until(() => c.frames.some((f) => f.event === 'pusher:pong') || c.closed !== undefined, 'pong or close');
      if (c.closed !== undefined) expect(CLEAR_CLOSE, `closed with ${c.closed}`).toContain(c.closed);
      for (const f of c.frames) {
        if (f.event === 'pusher:error') expect(typeof (f.data as { message?: unknown }).message).toBe('string');
        if (f.event === 'pusher:subscription_error') expect(typeof (f.data as { error?: unknown }).error).toBe('string');
      }
      c.ws.terminate();
    }), { numRuns: 100 });
    for (const t of await written(hub, before)) expect(t.startsWith('1/') || t.startsWith('2/'), t).toBe(true);
    const after = await connect(hub, APP_1.key);
    after.ws.send('{"event":"pusher:subscribe","data":{"channel":"still-serving"}}');
    await until(() => after.frames.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'still serving');
  }, 60_000);
});

/** `<key>:<hex HMAC>` as the app's backend signs a subscription (a user of the app may get one). */
const authOf = (app: { key: string; secret: string }, text: string): string => `${app.key}:${createHmac('sha256', app.secret).update(text).digest('hex')}`;
const socketIdOf = (c: Conn): string => JSON.parse(String(c.frames[0]?.data)).socket_id as string;

describe('Pusher WebSocket: an authorized client\'s hostile frames', () => {
  it('client events and presence data of any shape: a clear answer, the node keeps serving', async () => {
    const hub = await hubWithApps();
    const before = await topicHeads(hub);
    // JSON texts (built as text: a deep value cannot go through JSON.stringify, which is the point).
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.integer({ min: 20, max: 5000 }).map((d) => nested(d, d % 2 === 0)),
      fc.string({ maxLength: 50 }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(fc.asyncProperty(payload, fc.string({ maxLength: 30 }), async (data, event) => {
      const c = await connect(hub, APP_1.key);
      const id = socketIdOf(c);
      const channelData = `{"user_id":"u","user_info":${data}}`;
      c.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: authOf(APP_1, `${id}:private-x`) } }));
      c.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'presence-x', auth: authOf(APP_1, `${id}:presence-x:${channelData}`), channel_data: channelData } }));
      await until(() => c.frames.filter((f) => f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error' || f.event === 'pusher:error').length >= 2 || c.closed !== undefined, 'subscribed');
      for (const channel of ['private-x', 'presence-x']) c.ws.send(`{"event":${JSON.stringify(`client-${event}`)},"channel":"${channel}","data":${data}}`);
      const userData = `{"id":"u","info":${data}}`;
      c.ws.send(JSON.stringify({ event: 'pusher:signin', data: { user_data: userData, auth: authOf(APP_1, `${id}::user::${userData}`) } }));
      c.ws.send('{"event":"pusher:ping","data":{}}');
      await until(() => c.frames.some((f) => f.event === 'pusher:pong') || c.closed !== undefined, 'pong or close');
      if (c.closed !== undefined) expect(CLEAR_CLOSE, `closed with ${c.closed}`).toContain(c.closed);
      c.ws.terminate();
    }), { numRuns: 50 });
    for (const t of await written(hub, before)) expect(t.startsWith('1/'), t).toBe(true);
    const after = await connect(hub, APP_1.key);
    after.ws.send('{"event":"pusher:subscribe","data":{"channel":"still-serving"}}');
    await until(() => after.frames.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'still serving');
  }, 60_000);
});
