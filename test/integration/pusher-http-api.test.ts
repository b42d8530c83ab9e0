// The Pusher HTTP API (/apps/<app_id>/…) called by the real `pusher` Node SDK: events reach the topic's
// consumers over /stream and /sse; every refusal (signature, clock, body_md5, app, size, shape) has no effect.
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { SseClient } from '../helpers/sse-client.js';
import { until } from '../helpers/wait.js';
import { APP_1, APP_2, handSigned, postJsonBody, refusal, sdkFor } from '../helpers/pusher-sdk.js';
import type { Hookhub } from '../../src/server.js';
import { Subscriber, subscribeActive } from '../helpers/websub.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { APP, client, collect, connected, disconnectAll, pusherOptions, serverSdk, subscribed } from '../helpers/pusher.js';

const hubWithApps = () => startHub({ pusherApps: [APP_1, APP_2] });

/** Every topic the hub holds (a refused request must leave none behind). */
const topicNames = async (hub: Hookhub): Promise<string[]> => (await hub.topics.list()).map((t) => t.topic);

describe('Pusher HTTP API: events', () => {
  it('trigger publishes to the topic <app_id>/<channel> of each channel, seen over /stream', async () => {
    const hub = await hubWithApps();
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=1/news&topic=1/sport`);
    await until(() => hub.topics.fanout.count('1/news') === 1 && hub.topics.fanout.count('1/sport') === 1, 'subscribed');
    const pusher = sdkFor(hub.url, APP_1);
    const res = await pusher.trigger(['news', 'sport'], 'headline', { title: 'hello' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    await pusher.trigger('news', 'update', 'plain text', { socket_id: '123.456' });
    const lines = (await stream.waitForLines(3)) as Array<{ topic: string; contentType: string; data: unknown }>;
    const byTopic = (t: string) => lines.filter((l) => l.topic === t).map((l) => l.data);
    expect(byTopic('1/news')).toEqual([
      { event: 'headline', data: '{"title":"hello"}' },
      { event: 'update', data: 'plain text', socket_id: '123.456' },
    ]);
    expect(byTopic('1/sport')).toEqual([{ event: 'headline', data: '{"title":"hello"}' }]);
    expect(lines[0]?.contentType).toBe('application/json');
    stream.close();
  });

  it('triggerBatch publishes each event, seen over /sse; a channel named twice gets the event once', async () => {
    const hub = await hubWithApps();
    const sse = new SseClient(`${hub.url}/sse?topic=1/a&topic=1/b`);
    await sse.waitOpen();
    await until(() => hub.topics.fanout.count('1/a') === 1 && hub.topics.fanout.count('1/b') === 1, 'subscribed');
    const pusher = sdkFor(hub.url, APP_1);
    await pusher.triggerBatch([
      { channel: 'a', name: 'one', data: { n: 1 } },
      { channel: 'b', name: 'two', data: 'x', socket_id: '1.2' },
    ]);
    await pusher.trigger(['a', 'a'], 'three', 3);
    await sse.waitFor(3);
    const got = sse.messages().map((m) => m.json as { topic: string; data: unknown });
    expect(got.map((m) => [m.topic, m.data])).toEqual(expect.arrayContaining([
      ['1/a', { event: 'one', data: '{"n":1}' }],
      ['1/b', { event: 'two', data: 'x', socket_id: '1.2' }],
      ['1/a', { event: 'three', data: '3' }],
    ]));
    expect((await hub.topics.bounds('1/a')).last).toBe(2);
    sse.close();
  });

  it('info on trigger and batch reports the channels\' counts', async () => {
    const hub = await hubWithApps();
    const pusher = sdkFor(hub.url, APP_1);
    const res = await pusher.trigger(['presence-room', 'news'], 'e', 'd', { info: 'subscription_count,user_count' });
    expect(await res.json()).toEqual({
      channels: { 'presence-room': { subscription_count: 0, user_count: 0 }, news: { subscription_count: 0 } },
    });
    const batch = await pusher.triggerBatch([
      { channel: 'news', name: 'e', data: 'd', info: 'subscription_count' },
      { channel: 'news', name: 'e', data: 'd' },
    ]);
    expect(await batch.json()).toEqual({ batch: [{ subscription_count: 0 }, {}] });
  });
});

describe('Pusher HTTP API: channels', () => {
  it('lists channels and answers one channel, with Pusher\'s rules for user_count', async () => {
    const hub = await hubWithApps();
    const pusher = sdkFor(hub.url, APP_1);
    expect(await (await pusher.get({ path: '/channels' })).json()).toEqual({ channels: {} });
    expect(await (await pusher.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json()).toEqual({ channels: {} });
    expect(await (await pusher.get({ path: '/channels/news', params: { info: 'subscription_count' } })).json()).toEqual({ occupied: false, subscription_count: 0 });
    expect(await (await pusher.get({ path: '/channels/presence-room', params: { info: 'user_count' } })).json()).toEqual({ occupied: false, user_count: 0 });
    expect(await (await pusher.get({ path: '/channels/presence-room/users' })).json()).toEqual({ users: [] });
    expect((await pusher.terminateUserConnections('alice')).status).toBe(200);

    const noPrefix = await refusal(pusher.get({ path: '/channels', params: { info: 'user_count' } }));
    expect(noPrefix.status).toBe(400);
    expect(JSON.parse(noPrefix.body).error).toMatch(/filter_by_prefix=presence-/);
    const notPresence = await refusal(pusher.get({ path: '/channels/news', params: { info: 'user_count' } }));
    expect(notPresence.status).toBe(400);
    expect(JSON.parse(notPresence.body).error).toMatch(/presence channels/);
    const usersOfPublic = await refusal(pusher.get({ path: '/channels/news/users' }));
    expect(usersOfPublic.status).toBe(400);
    const unknownInfo = await refusal(pusher.get({ path: '/channels/news', params: { info: 'members' } }));
    expect(unknownInfo.status).toBe(400);
    expect(JSON.parse(unknownInfo.body).error).toMatch(/unknown attribute members/);
    const badName = await refusal(pusher.get({ path: '/channels/a%20b' }));
    expect(badName.status).toBe(400);
  });
});

describe('Pusher HTTP API: refusals have no effect', () => {
  it('a wrong secret, a wrong key and another app\'s credentials get 401', async () => {
    const hub = await hubWithApps();
    const wrongSecret = await refusal(sdkFor(hub.url, { ...APP_1, secret: 'guess' }).trigger('news', 'e', 'd'));
    expect(wrongSecret.status).toBe(401);
    expect(JSON.parse(wrongSecret.body).error).toMatch(/invalid signature/);
    const wrongKey = await refusal(sdkFor(hub.url, { ...APP_1, key: 'other' }).trigger('news', 'e', 'd'));
    expect(wrongKey.status).toBe(401);
    // App 2's own key and secret, aimed at app 1's path.
    const crossApp = await refusal(sdkFor(hub.url, { ...APP_2, id: APP_1.id }).trigger('news', 'e', 'd'));
    expect(crossApp.status).toBe(401);
    // A bad signature is judged before the body: a malformed body signed wrongly is still a 401.
    const badBoth = await refusal(postJsonBody(sdkFor(hub.url, { ...APP_1, secret: 'guess' }), '/events', { nonsense: true }));
    expect(badBoth.status).toBe(401);
    const readWrong = await refusal(sdkFor(hub.url, { ...APP_1, secret: 'guess' }).get({ path: '/channels' }));
    expect(readWrong.status).toBe(401);
    expect(await topicNames(hub)).toEqual([]);
  });

  it('with --api-key set, the SDK still signs its way in and the API key alone opens nothing', async () => {
    const hub = await startHub({ pusherApps: [APP_1], apiKey: 'the-api-key' });
    expect((await sdkFor(hub.url, APP_1).trigger('news', 'e', 'd')).status).toBe(200);
    const res = await fetch(`${hub.url}/apps/1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer the-api-key', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e', data: 'd', channel: 'news' }),
    });
    expect(res.status).toBe(401);
    expect((await hub.topics.bounds('1/news')).last).toBe(1);
  });

  it('an unknown app is a 404', async () => {
    const hub = await hubWithApps();
    const res = await refusal(sdkFor(hub.url, { id: '99', key: APP_1.key, secret: APP_1.secret }).trigger('news', 'e', 'd'));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error).toBe('unknown app 99');
    expect(await topicNames(hub)).toEqual([]);
  });

  it('a stale or future timestamp, a body_md5 of another body, a changed body or query get 401', async () => {
    const hub = await hubWithApps();
    const body = JSON.stringify({ name: 'e', data: 'd', channel: 'news' });
    const now = Math.floor(Date.now() / 1000);
    // The same request signed correctly goes through: the refusals below are each for their one reason.
    expect((await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body })).status).toBe(200);
    const stale = await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body, timestamp: now - 700 });
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body).error).toMatch(/timestamp expired/);
    expect((await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body, timestamp: now + 700 })).status).toBe(401);
    const md5 = await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body, md5Of: '{"other":1}' });
    expect(md5.status).toBe(401);
    expect(JSON.parse(md5.body).error).toMatch(/body_md5/);
    // An unsigned parameter appended: the signature no longer covers the query.
    expect((await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body, rawQuerySuffix: '&extra=1' })).status).toBe(401);
    // A parameter given twice cannot be signed unambiguously.
    const twice = await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body, rawQuerySuffix: '&auth_key=key-one' });
    expect(twice.status).toBe(400);
    expect((await hub.topics.bounds('1/news')).last).toBe(1);
  });

  it('oversized and malformed events get 413 / 400 and publish nothing, not even part of a batch', async () => {
    const hub = await hubWithApps();
    const pusher = sdkFor(hub.url, APP_1);
    const big = await refusal(pusher.trigger('news', 'e', 'x'.repeat(10_241)));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error).toMatch(/at most 10240 bytes/);
    // Exactly 10 KB is allowed: checked on a separate app so the topic list below stays empty for app 1.
    expect((await sdkFor(hub.url, APP_2).trigger('news', 'e', 'x'.repeat(10_240))).status).toBe(200);
    const bigInBatch = await refusal(pusher.triggerBatch([
      { channel: 'news', name: 'e', data: 'small' },
      { channel: 'news', name: 'e', data: 'x'.repeat(20_000) },
    ]));
    expect(bigInBatch.status).toBe(413);
    expect(JSON.parse(bigInBatch.body).error).toMatch(/^item 1: /);

    const cases: Array<[unknown, RegExp, string]> = [
      [{ name: 'e', channel: 'news' }, /data must be a string/, '/events'],
      [{ name: 'e', data: { a: 1 }, channel: 'news' }, /data must be a string/, '/events'],
      [{ data: 'd', channel: 'news' }, /name must be a string/, '/events'],
      [{ name: 'e', data: 'd' }, /either channels or channel/, '/events'],
      [{ name: 'e', data: 'd', channel: 'news', channels: ['a'] }, /either channels or channel/, '/events'],
      [{ name: 'e', data: 'd', channels: [] }, /at least one channel/, '/events'],
      [{ name: 'e', data: 'd', channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }, /at most 100 channels/, '/events'],
      [{ name: 'e', data: 'd', channel: '../2/news' }, /channel name is made of/, '/events'],
      [{ name: 'e', data: 'd', channel: 'x'.repeat(165) }, /at most 164 characters/, '/events'],
      [{ name: 'x'.repeat(201), data: 'd', channel: 'news' }, /name is at most 200/, '/events'],
      [{ name: 'pusher:subscribe', data: 'd', channel: 'news' }, /reserved/, '/events'],
      [{ name: 'e', data: 'd', channel: 'news', socket_id: 'abc' }, /socket_id must look like/, '/events'],
      [{ name: 'e', data: 'd', channel: 'news', info: 'everything' }, /unknown attribute/, '/events'],
      ['just a string', /must be a JSON object/, '/events'],
      [{ batch: Array.from({ length: 11 }, () => ({ channel: 'news', name: 'e', data: 'd' })) }, /at most 10 events/, '/batch_events'],
      [{ batch: [{ channel: 'news', name: 'e' }] }, /data must be a string/, '/batch_events'],
      [{ batch: 'nope' }, /batch must be a list/, '/batch_events'],
    ];
    for (const [body, message, path] of cases) {
      const r = await refusal(postJsonBody(pusher, path, body));
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(JSON.parse(r.body).error, JSON.stringify(body).slice(0, 80)).toMatch(message);
    }
    // Bodies the SDK never sends: not JSON, nested too deep, empty.
    for (const body of ['{"name":', '[' .repeat(100) + ']'.repeat(100), '']) {
      const r = await handSigned(hub.url, APP_1, { method: 'POST', path: '/events', body });
      expect(r.status, body.slice(0, 20)).toBe(400);
    }
    expect((await topicNames(hub)).filter((t) => t.startsWith('1/'))).toEqual([]);
  });

  it('a trigger reaches WebSub subscribers and Hookbox channels of the topic too', async () => {
    const hub = await hubWithApps();
    const subscriber = await Subscriber.start();
    await subscribeActive(hub, `${subscriber.url}/cb`, '1/news');
    const hookbox = await HookboxClient.connect(hub.url, { payload: { name: 'reader' } });
    hookbox.send('SUBSCRIBE', { channel_name: '1/news' });
    await hookbox.frame('SUBSCRIBE', (a) => a.channel_name === '1/news');
    await sdkFor(hub.url, APP_1).trigger('news', 'greeting', { text: 'hi' });
    const [note] = await subscriber.waitNotifications(1);
    expect(note!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(note!.body.toString('utf8'))).toEqual({ event: 'greeting', data: '{"text":"hi"}' });
    const published = await hookbox.frame('PUBLISH', (a) => a.channel_name === '1/news');
    expect(published[2]).toMatchObject({ channel_name: '1/news', payload: { event: 'greeting', data: '{"text":"hi"}' } });
    hookbox.close();
  });

  it('an app reaches only topics under its own prefix', async () => {
    const hub = await hubWithApps();
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=1/news&topic=2/news`);
    await until(() => hub.topics.fanout.count('1/news') === 1, 'subscribed');
    await sdkFor(hub.url, APP_2).trigger('news', 'from-two', 'd');
    await sdkFor(hub.url, APP_1).trigger('news', 'from-one', 'd');
    const lines = (await stream.waitForLines(2)) as Array<{ topic: string; data: { event: string } }>;
    expect(lines.map((l) => [l.topic, l.data.event])).toEqual([['2/news', 'from-two'], ['1/news', 'from-one']]);
    stream.close();
  });
});

describe('Pusher HTTP API with pusher-js connections', () => {
  afterEach(() => disconnectAll());

  it('trigger with socket_id reaches every subscriber but that connection', async () => {
    const hub = await startHub(pusherOptions());
    const a = client(hub);
    const b = client(hub);
    await subscribed(a, 'room');
    await subscribed(b, 'private-room');
    await subscribed(b, 'room');
    const gotA = collect(a, 'room');
    const gotB = collect(b, 'room');
    const gotBPrivate = collect(b, 'private-room');
    const sdk = serverSdk(hub);
    await sdk.trigger(['room', 'private-room'], 'from-a', { n: 1 }, { socket_id: a.connection.socket_id });
    await sdk.trigger('room', 'for-all', 'x');
    await until(() => gotB.length === 2 && gotBPrivate.length === 1 && gotA.length === 1, 'deliveries');
    expect(gotA).toEqual([{ event: 'for-all', data: 'x' }]);
    expect(gotB).toEqual([{ event: 'from-a', data: { n: 1 } }, { event: 'for-all', data: 'x' }]);
    const batch = serverSdk(hub).triggerBatch([{ channel: 'room', name: 'batched', data: 'y', socket_id: b.connection.socket_id }]);
    await batch;
    await until(() => gotA.length === 2, 'the batched event at a');
    await sdk.trigger('room', 'last', 'z');
    await until(() => gotB.length === 3, 'the last event at b');
    expect(gotB.map((e) => e.event)).toEqual(['from-a', 'for-all', 'last']);
  });

  it('channels, one channel, users and info count the subscriptions and presence members', async () => {
    const hub = await startHub(pusherOptions());
    const alice1 = client(hub, { user: { id: 'alice' } });
    const alice2 = client(hub, { user: { id: 'alice' } });
    const bob = client(hub, { user: { id: 'bob', info: { name: 'Bob' } } });
    for (const p of [alice1, alice2, bob]) await subscribed(p, 'presence-room');
    await subscribed(alice1, 'news');
    await subscribed(bob, 'private-news');
    const sdk = serverSdk(hub);
    const json = async (path: string, params?: Record<string, string>) => (await sdk.get({ path, ...(params ? { params } : {}) })).json();

    expect(await json('/channels')).toEqual({ channels: { 'presence-room': {}, news: {}, 'private-news': {} } });
    expect(await json('/channels', { filter_by_prefix: 'presence-', info: 'user_count' })).toEqual({ channels: { 'presence-room': { user_count: 2 } } });
    expect(await json('/channels', { filter_by_prefix: 'n', info: 'subscription_count' })).toEqual({ channels: { news: { subscription_count: 1 } } });
    expect(await json('/channels/presence-room', { info: 'subscription_count,user_count' })).toEqual({ occupied: true, subscription_count: 3, user_count: 2 });
    expect(await json('/channels/news')).toEqual({ occupied: true });
    expect(await json('/channels/empty')).toEqual({ occupied: false });
    const users = (await json('/channels/presence-room/users')) as { users: Array<{ id: string }> };
    expect(users.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    const info = await sdk.trigger(['presence-room', 'news'], 'e', 'd', { info: 'user_count,subscription_count' });
    expect(await info.json()).toEqual({ channels: { 'presence-room': { user_count: 2, subscription_count: 3 }, news: { subscription_count: 1 } } });

    alice1.unsubscribe('presence-room');
    await until(async () => ((await json('/channels/presence-room', { info: 'subscription_count' })) as { subscription_count: number }).subscription_count === 2, 'one subscription fewer');
    expect(await json('/channels/presence-room', { info: 'user_count' })).toEqual({ occupied: true, user_count: 2 });
    alice2.unsubscribe('presence-room');
    await until(async () => ((await json('/channels/presence-room', { info: 'user_count' })) as { user_count: number }).user_count === 1, 'alice gone');
    expect(await json('/channels/presence-room/users')).toEqual({ users: [{ id: 'bob' }] });
  });

  it('an app sees only its own channels', async () => {
    const other = { id: '1002', key: 'other-key', secret: 'other-secret' };
    const hub = await startHub({ pusherApps: [{ ...APP, clientEvents: false }, { ...other, clientEvents: false }] });
    await subscribed(client(hub), 'news');
    await subscribed(client(hub, { app: other }), 'sport');
    expect(await (await serverSdk(hub).get({ path: '/channels' })).json()).toEqual({ channels: { news: {} } });
    expect(await (await serverSdk(hub, other).get({ path: '/channels' })).json()).toEqual({ channels: { sport: {} } });
    expect(await (await serverSdk(hub, other).get({ path: '/channels/news' })).json()).toEqual({ occupied: false });
  });

  it('terminate_connections closes every connection signed in as the user, and only those', async () => {
    const hub = await startHub(pusherOptions());
    const alice1 = client(hub, { user: { id: 'alice' } });
    const alice2 = client(hub, { user: { id: 'alice' } });
    const bob = client(hub, { user: { id: 'bob' } });
    for (const p of [alice1, alice2, bob]) {
      await connected(p);
      p.signin();
      await p.user.signinDonePromise;
      await subscribed(p, 'room');
    }
    expect((await serverSdk(hub).terminateUserConnections('alice')).status).toBe(200);
    await until(() => alice1.connection.state !== 'connected' && alice2.connection.state !== 'connected', 'alice disconnected');
    await until(async () => ((await (await serverSdk(hub).get({ path: '/channels/room', params: { info: 'subscription_count' } })).json()) as { subscription_count: number }).subscription_count === 1, 'one subscription left');
    expect(bob.connection.state).toBe('connected');
    const got = collect(bob, 'room');
    await serverSdk(hub).trigger('room', 'still-here', 'x');
    await until(() => got.length === 1, 'bob still gets events');
  });
});
