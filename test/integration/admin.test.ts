// The /admin console over real HTTP: Basic auth, same-origin POSTs, and every endpoint reading data
// produced through the public APIs (REST publish, /stream, WebSocket users, /dispatch, WebSub).
import { describe, expect, it } from 'vitest';
import type { Hookhub } from '../../src/server.js';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { dispatchJson } from '../helpers/dispatch.js';
import { call, type JsonResponse } from '../helpers/http.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub, tempDir } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';
import { Subscriber, subscribeActive } from '../helpers/websub.js';
import { HookboxClient } from '../helpers/ws-client.js';

const PASSWORD = 'correct horse battery staple';
const API_KEY = 'producer-key';
const basic = (password: string, user = 'admin'): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTH = { authorization: basic(PASSWORD) };

type Json = Record<string, any>;

const get = (hub: Hookhub, path: string, headers: Record<string, string> = AUTH): Promise<JsonResponse<Json>> =>
  call<Json>(`${hub.url}${path}`, { headers });

const post = (hub: Hookhub, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<Json>> =>
  call<Json>(`${hub.url}${path}`, {
    method: 'POST',
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const publishRest = (hub: Hookhub, topic: string, body: string, type = 'application/json') =>
  call(`${hub.url}/api/topics/${encodeURIComponent(topic)}/publish`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${API_KEY}` },
    body,
  });

// channelsOpen: with the api key set, browsers without application callbacks need it (the console shows them).
const startAdmin = (extra: Record<string, unknown> = {}) => startHub({ adminPassword: PASSWORD, apiKey: API_KEY, channelsOpen: true, ...extra });

describe('admin console: access', () => {
  it('is off (404) when --admin-password is unset', async () => {
    const hub = await startHub();
    for (const path of ['/admin', '/admin/api/overview', '/admin/admin.js']) {
      expect((await get(hub, path, { authorization: basic('anything') })).status, path).toBe(404);
    }
    expect((await post(hub, '/admin/api/publish', { topic: 't', body: 'x' })).status).toBe(404);
  });

  it('throttles wrong passwords per address: 429 with Retry-After after 20, the right one included, until it refills', async () => {
    const hub = await startAdmin();
    // Requests without credentials (a browser's first request) do not count.
    for (let i = 0; i < 30; i++) expect((await get(hub, '/admin/api/overview', {})).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await get(hub, '/admin/api/overview', { authorization: basic(`guess-${i}`) })).status).toBe(401);
    for (const headers of [{ authorization: basic('guess-21') }, AUTH]) {
      const res = await get(hub, '/admin/api/overview', headers);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.body.error).toMatch(/too many wrong admin passwords/);
    }
    await new Promise((r) => setTimeout(r, 3100)); // one try back
    expect((await get(hub, '/admin/api/overview')).status).toBe(200);
  });

  it('answers 401 with a Basic challenge without or with a wrong password; any user name with the right one', async () => {
    const hub = await startAdmin();
    const paths = ['/admin', '/admin/', '/admin/admin.js', '/admin/api/overview', '/admin/api/topics', '/admin/api/users', '/admin/api/nope'];
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: basic('wrong') },
      { authorization: basic(`${PASSWORD}x`) },
      { authorization: `Bearer ${API_KEY}` },
      { authorization: `Bearer ${PASSWORD}` },
      { authorization: 'Basic !!!not-base64' },
      { authorization: `Basic ${Buffer.from(PASSWORD).toString('base64')}` }, // no "user:" part
    ];
    for (const path of paths) {
      for (const headers of wrong) {
        const res = await get(hub, path, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="hookhub admin"');
        expect(res.text).not.toContain(PASSWORD);
      }
    }
    const denied = await post(hub, '/admin/api/publish', { topic: 't', body: 'x' }, { authorization: basic('nope') });
    expect(denied.status).toBe(401);
    expect((await call(`${hub.url}/api/topics/t/history`)).status).toBe(401);
    expect((await call(`${hub.url}/api/topics/t/history`, { headers: { authorization: `Bearer ${PASSWORD}` } })).status).toBe(401);

    for (const user of ['admin', '', 'über']) {
      const res = await get(hub, '/admin/api/overview', { authorization: basic(PASSWORD, user) });
      expect(res.status, user).toBe(200);
    }
    // The producers' --api-key hook does not apply to the console (and the key does not open it).
    const page = await call(`${hub.url}/admin`, { headers: AUTH });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.text).toContain('<script src="/admin/admin.js"');
    expect(page.text).not.toContain(PASSWORD);
    const script = await call(`${hub.url}/admin/admin.js`, { headers: AUTH });
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.text).not.toMatch(/\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write/); // data is rendered as text only
    expect((await call(`${hub.url}/admin/admin.css`, { headers: AUTH })).headers.get('content-type')).toMatch(/^text\/css/);
    const unknown = await get(hub, '/admin/api/nope');
    expect(unknown.status).toBe(404);
  });

  it('refuses state-changing requests from a foreign origin (CSRF); same origin and no Origin pass', async () => {
    const hub = await startAdmin();
    const host = new URL(hub.url).host;
    const refused: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: `http://${host}.evil.example` },
      { origin: 'null' },
      { origin: 'not a url' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      const res = await post(hub, '/admin/api/publish', { topic: 'csrf', body: 'x' }, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body.error).toMatch(/cross-origin/);
    }
    expect((await post(hub, '/admin/api/users/bob/kick', undefined, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(hub, '/admin/api/deliveries/x/retry', undefined, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(hub, '/admin/api/channels/c/options', {}, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await get(hub, '/admin/api/topics/csrf')).body.last).toBe(0);

    const same = await post(hub, '/admin/api/publish', { topic: 'csrf', body: 'ok' }, { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' });
    expect(same.status).toBe(202);
    expect((await post(hub, '/admin/api/publish', { topic: 'csrf', body: 'ok' })).status).toBe(202);
    expect((await get(hub, '/admin/api/topics/csrf')).body.last).toBe(2);
  });

  it('accepts the --public-url origin (behind a proxy) and nothing else foreign', async () => {
    const hub = await startAdmin({ publicUrl: 'https://hooks.example.com/base' });
    const proxied = await post(hub, '/admin/api/publish', { topic: 'p', body: 'x' }, { origin: 'https://hooks.example.com' });
    expect(proxied.status).toBe(202);
    expect((await post(hub, '/admin/api/publish', { topic: 'p', body: 'x' }, { origin: 'http://hooks.example.com' })).status).toBe(403);
    expect((await post(hub, '/admin/api/publish', { topic: 'p', body: 'x' }, { origin: 'https://evil.example' })).status).toBe(403);
  });
});

describe('admin console: data', () => {
  it('overview, topics and topic history show what was published and who consumes it; publish goes through the one publish path', async () => {
    const hub = await startAdmin();
    const before = await get(hub, '/admin/api/overview');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ store: 'memory', topics: 0, messagesPublished: 0, queueDepth: 0, subscriptions: 0, channels: 0, users: 0 });
    expect(before.body.connections).toEqual({ total: 0, byTransport: {} });
    expect(before.body.uptime).toBeGreaterThanOrEqual(0);

    const consumer = await NdjsonClient.open(`${hub.url}/stream?topic=orders`);
    expect((await publishRest(hub, 'orders', '{"n":1}')).status).toBe(202);
    expect((await publishRest(hub, 'orders', 'plain text', 'text/plain')).status).toBe(202);
    expect((await publishRest(hub, 'audit', '{"n":3}')).status).toBe(202);
    await consumer.waitForLines(2);

    const overview = await until(async () => {
      const o = (await get(hub, '/admin/api/overview')).body;
      return o.connections.total === 1 ? o : undefined;
    }, 'the stream consumer in the overview');
    expect(overview).toMatchObject({ topics: 2, messagesPublished: 3, connections: { total: 1, byTransport: { stream: 1 } } });

    const topics = await get(hub, '/admin/api/topics');
    expect(topics.body.topics).toEqual([
      expect.objectContaining({ topic: 'audit', last: 1, consumers: 0 }),
      expect.objectContaining({ topic: 'orders', last: 2, kept: 2, consumers: 1 }),
    ]);
    const orders = await get(hub, '/admin/api/topics/orders');
    expect(orders.body).toMatchObject({ topic: 'orders', first: 1, last: 2, consumers: { live: 1, websub: [] }, channel: false });
    expect(orders.body.messages.map((m: Json) => [m.offset, m.data])).toEqual([[1, { n: 1 }], [2, 'plain text']]);
    const lastOne = await get(hub, '/admin/api/topics/orders?limit=1');
    expect(lastOne.body.messages.map((m: Json) => m.offset)).toEqual([2]);

    // Publish from the console: the stream consumer and the public history see it.
    const published = await post(hub, '/admin/api/publish', { topic: 'orders', contentType: 'application/json', body: '{"from":"admin"}' });
    expect(published.status).toBe(202);
    expect(published.body).toMatchObject({ topic: 'orders', offset: 3, id: expect.any(String) });
    const lines = (await consumer.waitForLines(3)) as Json[];
    expect(lines[2]).toMatchObject({ topic: 'orders', offset: 3, id: published.body.id, contentType: 'application/json', data: { from: 'admin' } });
    const history = await call<Json>(`${hub.url}/api/topics/orders/history`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(history.body.messages.at(-1)).toMatchObject({ offset: 3, data: { from: 'admin' } });
    const binary = await post(hub, '/admin/api/publish', { topic: 'bin', contentType: 'application/octet-stream', body: Buffer.from([0xff, 0, 1]).toString('base64'), encoding: 'base64' });
    expect(binary.status).toBe(202);
    expect((await get(hub, '/admin/api/topics/bin')).body.messages[0]).toMatchObject({ data: '/wAB', encoding: 'base64' });
    expect((await get(hub, '/admin/api/overview')).body.messagesPublished).toBe(5);
    consumer.close();
    await until(async () => (await get(hub, '/admin/api/overview')).body.connections.total === 0, 'the consumer gone from the overview');
  });

  it('works on the sqlite store too, and with URL-like topic names', async () => {
    const hub = await startAdmin({ store: 'sqlite', dataDir: tempDir() });
    const topic = 'https://example.com/feeds/a?x=1';
    expect((await post(hub, '/admin/api/publish', { topic, body: 'one' })).status).toBe(202);
    expect((await publishRest(hub, 'plain', '{"k":2}')).status).toBe(202);
    expect((await get(hub, '/admin/api/overview')).body).toMatchObject({ store: 'sqlite', topics: 2, messagesPublished: 2 });
    expect((await get(hub, '/admin/api/topics')).body.topics.map((t: Json) => t.topic)).toEqual([topic, 'plain']);
    const detail = await get(hub, `/admin/api/topics/${encodeURIComponent(topic)}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ topic, last: 1, messages: [{ topic, offset: 1, data: 'one' }] });
  });

  it('channels and users: lists WebSocket users and channels, edits channel options, kicks a user', async () => {
    const hub = await startAdmin();
    const alice = await HookboxClient.connect(hub.url, { payload: { name: 'alice' } });
    const alice2 = await HookboxClient.connect(hub.url, { payload: { name: 'alice' } });
    const bob = await HookboxClient.connect(hub.url, { payload: { name: 'bob' } });
    alice.send('SUBSCRIBE', { channel_name: 'room' });
    await alice.frame('SUBSCRIBE');
    bob.send('SUBSCRIBE', { channel_name: 'room' });
    await bob.frame('SUBSCRIBE');

    const users = await get(hub, '/admin/api/users');
    expect(users.body.users).toEqual([
      expect.objectContaining({ name: 'alice', channels: ['room'], connections: [expect.objectContaining({ transport: 'ws' }), expect.objectContaining({ transport: 'ws' })] }),
      expect.objectContaining({ name: 'bob', channels: ['room'], connections: [expect.objectContaining({ transport: 'ws' })] }),
    ]);
    const overview = (await get(hub, '/admin/api/overview')).body;
    expect(overview).toMatchObject({ users: 2, channels: 1, channelConnections: 3, connections: { total: 3, byTransport: { ws: 3 } } });
    expect((await get(hub, '/admin/api/channels')).body.channels).toEqual([
      expect.objectContaining({ name: 'room', users: 2, connections: 3, persistent: false, presenceful: false }),
    ]);
    const room = await get(hub, '/admin/api/channels/room');
    expect(room.body).toMatchObject({ name: 'room', presence: ['alice', 'bob'], state: {}, options: { history_size: 0, reflective: true } });
    expect(room.body.members.map((m: Json) => [m.name, m.connections.length])).toEqual([['alice', 2], ['bob', 1]]);
    expect((await get(hub, '/admin/api/channels/nope')).status).toBe(404);

    // Edit options: the whole options object round-trips (what the page's textarea sends back).
    const edited = { ...room.body.options, history_size: 5, presenceful: true };
    const saved = await post(hub, '/admin/api/channels/room/options', edited);
    expect(saved.status).toBe(200);
    expect(saved.body.options).toMatchObject({ history_size: 5, presenceful: true });
    bob.send('PUBLISH', { channel_name: 'room', payload: { hi: 1 } });
    await alice.frame('PUBLISH');
    const after = await get(hub, '/admin/api/channels/room');
    expect(after.body.options).toMatchObject({ history_size: 5, presenceful: true });
    expect(after.body.history).toEqual([['PUBLISH', expect.objectContaining({ user: 'bob', payload: { hi: 1 } })]]);
    // The channel is a topic: the console's topic view sees the browser's publish too.
    expect((await get(hub, '/admin/api/topics/room')).body).toMatchObject({ channel: true, consumers: { live: 1 } });

    for (const [body, message] of [
      [{ history_size: -1 }, /history_size/],
      [{ no_such_option: true }, /unknown channel option no_such_option/],
      [{ polling: { mode: 'sometimes' } }, /polling.mode/],
      [[1, 2], /JSON object/],
      ['"text"', /JSON object/],
    ] as const) {
      const res = await post(hub, '/admin/api/channels/room/options', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(message);
    }
    expect((await post(hub, '/admin/api/channels/room/options', '{not json')).body.error).toMatch(/not valid JSON/);
    expect((await post(hub, '/admin/api/channels/nope/options', { history_size: 1 })).status).toBe(404);
    expect((await get(hub, '/admin/api/channels/room')).body.options.history_size).toBe(5);

    // Kick: every connection of the user is closed; the user disappears.
    const kicked = await post(hub, '/admin/api/users/alice/kick');
    expect(kicked.status).toBe(200);
    expect(kicked.body).toEqual({ kicked: 'alice' });
    expect((await alice.closed()).code).toBe(1008);
    expect((await alice2.closed()).code).toBe(1008);
    await until(async () => (await get(hub, '/admin/api/users')).body.users.length === 1, 'alice gone');
    expect((await get(hub, '/admin/api/users')).body.users.map((u: Json) => u.name)).toEqual(['bob']);
    expect(bob.closeInfo).toBeUndefined();
    const missing = await post(hub, '/admin/api/users/alice/kick');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('no connected user alice');
  });

  it('callbacks: the last calls to the application, newest first, with refusals', async () => {
    const decide = (c: Call): unknown =>
      c.action === 'connect' ? [true, { name: nameFromPayload(c) }] : c.action === 'subscribe' ? [false, { msg: 'members only' }] : [true, {}];
    const app = await ChannelsApp.start(decide);
    const hub = await startAdmin({ cbUrl: `${app.url}/hb`, cbSecret: 'cb-secret', cbTimeout: 2000 });
    expect((await get(hub, '/admin/api/callbacks')).body).toEqual({ enabled: true, callbacks: [] });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'carol' } });
    const id = c.send('SUBSCRIBE', { channel_name: 'vip' });
    await c.error(id);
    // The refused subscribe leaves the new channel empty: the app is asked to destroy it.
    const listed = await until(async () => {
      const res = await get(hub, '/admin/api/callbacks');
      return res.body.callbacks.length === 4 ? res : undefined;
    }, 'four callbacks');
    expect(listed.body.callbacks.map((r: Json) => [r.action, r.ok, r.msg])).toEqual([
      ['destroy_channel', true, undefined],
      ['subscribe', false, 'members only'],
      ['create_channel', true, undefined],
      ['connect', true, undefined],
    ]);
    expect(listed.body.callbacks[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(listed.text).not.toContain('cb-secret');
  });

  it('endpoints: state, success rate and limits listed; settings saved, disable and enable through the console', async () => {
    const hub = await startAdmin({ retrySchedule: [0] });
    const target = await Receiver.start();
    const sent = await dispatchJson(hub.url, { _url: `${target.url}/hook` }, { authorization: `Bearer ${API_KEY}` });
    await until(async () => (await get(hub, `/admin/api/deliveries/${sent.json.id}`)).body.status === 'succeeded', 'delivery succeeded');
    const listed = await get(hub, '/admin/api/endpoints');
    expect(listed.body.endpoints).toEqual([expect.objectContaining({ id: target.url, state: 'closed', recent: expect.objectContaining({ attempts: 1, success_rate: 1 }) })]);
    const path = `/admin/api/endpoints/${encodeURIComponent(target.url)}`;
    const saved = await call<Json>(`${hub.url}${path}`, { method: 'PUT', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ rate: 3 }) });
    expect(saved.status).toBe(200);
    expect(saved.body.limits).toEqual({ concurrency: 0, rate: 3, burst: 3 });
    expect((await post(hub, `${path}/disable`)).body.state).toBe('disabled');
    expect((await post(hub, `${path}/enable`)).body.state).toBe('closed');
    expect((await get(hub, '/admin/api/endpoints', {})).status).toBe(401);
  });

  it('deliveries: the webhook log with status filter, and resend queues one more attempt of the same delivery', async () => {
    const hub = await startAdmin({ retrySchedule: [0] });
    let answer = 500;
    const target = await Receiver.start((_req, res) => {
      res.writeHead(answer);
      res.end(answer === 200 ? 'thanks' : 'down');
    });
    const sent = await dispatchJson(hub.url, { _url: `${target.url}/hook`, order: 7 }, { authorization: `Bearer ${API_KEY}` });
    expect(sent.status).toBe(202);
    const id = sent.json.id!;
    await until(async () => (await get(hub, `/admin/api/deliveries/${id}`)).body.status === 'failed', 'delivery failed');

    const failed = await get(hub, '/admin/api/deliveries?status=failed');
    expect(failed.body.deliveries).toEqual([expect.objectContaining({ id, url: `${target.url}/hook`, status: 'failed' })]);
    expect(failed.body.deliveries[0].attempts).toEqual([expect.objectContaining({ status: 500 })]);
    expect((await get(hub, '/admin/api/deliveries?status=succeeded')).body.deliveries).toEqual([]);
    expect((await get(hub, '/admin/api/deliveries')).body.deliveries.map((d: Json) => d.id)).toEqual([id]);
    expect((await get(hub, `/admin/api/deliveries/${id}`)).body).toMatchObject({ id, status: 'failed' });

    answer = 200;
    const resent = await post(hub, `/admin/api/deliveries/${id}/retry`);
    expect(resent.status).toBe(202);
    expect(resent.body).toEqual({ id });
    await target.waitFor(2);
    expect(target.received[1]!.headers['webhook-id']).toBe(id);
    const done = await until(async () => {
      const d = (await get(hub, `/admin/api/deliveries/${id}`)).body;
      return d.status === 'succeeded' ? d : undefined;
    }, 'resent delivery succeeded');
    expect(done.attempts.map((a: Json) => a.status)).toEqual([500, 200]);
    expect((await get(hub, '/admin/api/deliveries?status=succeeded')).body.deliveries.map((d: Json) => d.id)).toEqual([id]);

    for (const q of ['status=done', 'limit=0', 'limit=abc', 'limit=5000']) {
      const res = await get(hub, `/admin/api/deliveries?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error).toBeTruthy();
    }
    expect((await post(hub, '/admin/api/deliveries/no-such-id/retry')).status).toBe(404);
    expect((await get(hub, '/admin/api/deliveries/no-such-id')).status).toBe(404);
  });

  it('subscriptions: WebSub subscriptions, also under their topic', async () => {
    const hub = await startAdmin({ apiKey: undefined }); // the helper lists subscriptions without a key
    const sub = await Subscriber.start();
    const active = await subscribeActive(hub, `${sub.url}/cb`, 'news');
    const listed = await get(hub, '/admin/api/subscriptions');
    expect(listed.body.subscriptions).toEqual([expect.objectContaining({ id: active.id, callback: `${sub.url}/cb`, topic: 'news', state: 'active' })]);
    expect((await get(hub, '/admin/api/overview')).body.subscriptions).toBe(1);
    expect((await post(hub, '/admin/api/publish', { topic: 'news', body: 'extra!' })).status).toBe(202);
    await sub.waitNotifications(1);
    const topic = await get(hub, '/admin/api/topics/news');
    expect(topic.body.consumers.websub).toEqual([expect.objectContaining({ id: active.id, state: 'active' })]);
    expect(topic.body.messages[0]).toMatchObject({ data: 'extra!', contentType: 'text/plain; charset=utf-8' });
  });

  it('bad inputs get a clear 400 (or 413, 415) and change nothing', async () => {
    const hub = await startAdmin({ maxBody: 4096 });
    const cases: Array<[unknown, number, RegExp]> = [
      [{ body: 'x' }, 400, /topic is required/],
      [{ topic: '', body: 'x' }, 400, /topic is required/],
      [{ topic: 'x'.repeat(300), body: 'x' }, 400, /topic longer than 256/],
      [{ topic: 'a\nb', body: 'x' }, 400, /control characters/],
      [{ topic: 't' }, 400, /body must be a string/],
      [{ topic: 't', body: { a: 1 } }, 400, /body must be a string/],
      [{ topic: 't', body: 'x', encoding: 'hex' }, 400, /encoding must be utf8 or base64/],
      [{ topic: 't', body: '***', encoding: 'base64' }, 400, /not valid base64/],
      [{ topic: 't', body: 'x', contentType: '' }, 400, /contentType/],
      [{ topic: 't', body: 'x', extra: 1 }, 400, /extra/],
      [[], 400, /./],
      ['{broken', 400, /not valid JSON/],
    ];
    for (const [body, status, message] of cases) {
      const res = await post(hub, '/admin/api/publish', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error, JSON.stringify(body)).toMatch(message);
    }
    const form = await post(hub, '/admin/api/publish', 'topic=t&body=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.body.error).toMatch(/application\/json/);
    const big = await post(hub, '/admin/api/publish', { topic: 't', body: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/larger than 4096 bytes/);
    const empty = await post(hub, '/admin/api/publish');
    expect(empty.status).toBe(400);
    expect((await get(hub, '/admin/api/topics/t?limit=0')).status).toBe(400);
    expect((await get(hub, '/admin/api/topics/t?limit=x')).body.error).toMatch(/limit/);
    expect((await get(hub, '/admin/api/overview')).body).toMatchObject({ topics: 0, messagesPublished: 0 });
  });
});
