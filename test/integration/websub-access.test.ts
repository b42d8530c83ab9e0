// The hub under the server's access model: a subscription reads a topic (guarded by --stream-key, the
// api key accepted too), a publish ping writes it (guarded by --api-key); --websub-allow lists the
// topics open without a key. Without keys the hub is open, as WebSub expects.
import { describe, expect, it } from 'vitest';
import { dispatchForm } from '../helpers/dispatch.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { hubPost, listSubscriptions, Publisher, Subscriber } from '../helpers/websub.js';

const API = { authorization: 'Bearer api-k3y' };
const STREAM = { authorization: 'Bearer stream-k3y' };
const keys = { apiKey: 'api-k3y', streamKey: 'stream-k3y' };

const subscribe = (callback: string, topic: string) => ({ 'hub.mode': 'subscribe', 'hub.callback': callback, 'hub.topic': topic });

describe('WebSub with keys set', () => {
  it('a subscription without a key is refused (401) and never receives what is published with the key', async () => {
    const hub = await startHub(keys);
    const sub = await Subscriber.start();
    const res = await hubPost(hub, subscribe(`${sub.url}/cb`, 'orders'));
    expect(res.status).toBe(401);
    expect(res.text).toMatch(/a key is required to subscribe to orders: Authorization: Bearer <stream key \(or the api key\)>/);
    expect((await hubPost(hub, subscribe(`${sub.url}/cb`, 'orders'), '/subscribe', { authorization: 'Bearer guess' })).status).toBe(401);
    // A subscriber with the stream key proves the publish reached the hub's subscribers.
    const witness = await Subscriber.start();
    expect((await hubPost(hub, subscribe(`${witness.url}/cb`, 'orders'), '/hub', STREAM)).status).toBe(202);
    await until(async () => (await listSubscriptions(hub, 'orders', API)).find((s) => s.state === 'active'), 'witness active');
    expect((await dispatchForm(hub.url, { _topic: 'orders', item: 'secret' }, API)).status).toBe(202);
    await witness.waitNotifications(1);
    expect(sub.receiver.received).toEqual([]);
    expect((await listSubscriptions(hub, 'orders', API)).map((s) => s.callback)).toEqual([`${witness.url}/cb`]);
  });

  it('the api key opens subscriptions too', async () => {
    const hub = await startHub(keys);
    const sub = await Subscriber.start();
    expect((await hubPost(hub, subscribe(`${sub.url}/cb`, 'orders'), '/hub', API)).status).toBe(202);
    await until(async () => (await listSubscriptions(hub, 'orders', API)).find((s) => s.state === 'active'), 'active');
    await dispatchForm(hub.url, { _topic: 'orders', n: '1' }, API);
    expect((await sub.waitNotifications(1))[0]!.body.toString()).toContain('n=1');
  });

  it('a publish ping needs the api key: 401 without a key, 403 with the stream key, nothing fetched', async () => {
    const hub = await startHub(keys);
    const publisher = await Publisher.start();
    const ping = { 'hub.mode': 'publish', 'hub.url': publisher.topic() };
    const none = await hubPost(hub, ping);
    expect(none.status).toBe(401);
    expect(none.text).toMatch(/Bearer <api key>/);
    const reader = await hubPost(hub, ping, '/publish', STREAM);
    expect(reader.status).toBe(403);
    expect(reader.text).toMatch(/publishing needs the api key/);
    expect(publisher.fetches).toEqual([]);
    expect((await hubPost(hub, ping, '/hub', API)).status).toBe(202);
    await until(async () => ((await hub.topics.bounds(publisher.topic())).last === 1 ? true : undefined), 'published');
  });

  it('--websub-allow opens the listed topics without a key; the others still need one', async () => {
    const hub = await startHub({ ...keys, websubAllow: ['public-*'] });
    const sub = await Subscriber.start();
    expect((await hubPost(hub, subscribe(`${sub.url}/a`, 'public-news'))).status).toBe(202);
    await until(async () => (await listSubscriptions(hub, 'public-news', API)).find((s) => s.state === 'active'), 'active');
    expect((await hubPost(hub, subscribe(`${sub.url}/b`, 'private-news'))).status).toBe(401);
    expect((await hubPost(hub, subscribe(`${sub.url}/c`, 'private-news'), '/hub', STREAM)).status).toBe(202);
    expect(sub.gets.map((g) => g.path)).not.toContain('/b');
  });

  it('only --api-key set: subscriptions stay open (readers are unguarded, like /stream), publish pings need the key', async () => {
    const hub = await startHub({ apiKey: 'api-k3y' });
    const sub = await Subscriber.start();
    expect((await hubPost(hub, subscribe(`${sub.url}/cb`, 'news'))).status).toBe(202);
    const publisher = await Publisher.start();
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': publisher.topic() })).status).toBe(401);
  });

  it('only --stream-key set: publish pings stay open (producers are unguarded, like /dispatch), subscriptions need a key', async () => {
    const hub = await startHub({ streamKey: 'stream-k3y' });
    const sub = await Subscriber.start();
    expect((await hubPost(hub, subscribe(`${sub.url}/cb`, 'news'))).status).toBe(401);
    expect((await hubPost(hub, subscribe(`${sub.url}/cb`, 'news'), '/hub', STREAM)).status).toBe(202);
    const publisher = await Publisher.start();
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': publisher.topic() })).status).toBe(202);
  });
});
