// Content distribution: the websub.rocks hub tests (100–106), signatures, Link headers, every producer
// reaching WebSub subscribers, 410/4xx/5xx handling, restarts and lease expiry.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Hookhub } from '../../src/server.js';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { hubPost, listSubscriptions, Publisher, Subscriber, subscribeActive } from '../helpers/websub.js';

const fast: Partial<Config> = { retrySchedule: [0, 100, 100] };
const hmac = (secret: string, body: Buffer): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function ping(hub: Hookhub, topic: string): Promise<void> {
  const res = await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': topic });
  expect(res.status).toBe(202);
}

async function publishRaw(hub: Hookhub, topic: string, contentType: string, body: Buffer | string): Promise<void> {
  const res = await fetch(`${hub.url}/api/topics/${encodeURIComponent(topic)}/publish`, { method: 'POST', headers: { 'content-type': contentType }, body });
  expect(res.status).toBe(202);
}

describe('websub.rocks hub tests', () => {
  it('100: typical subscription — publish ping delivers the topic content with Link headers, unsigned', async () => {
    const hub = await startHub(fast);
    const publisher = await Publisher.start();
    publisher.contentType = 'application/atom+xml';
    publisher.body = Buffer.from('<feed><entry>1</entry></feed>');
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb`, publisher.topic());
    await ping(hub, publisher.topic());
    const [n] = await sub.waitNotifications(1);
    expect(n!.url).toBe('/cb');
    expect(n!.headers['content-type']).toBe('application/atom+xml');
    expect(n!.body.toString()).toBe('<feed><entry>1</entry></feed>');
    expect(n!.headers.link).toBe(`<${hub.url}/hub>; rel="hub", <${publisher.topic()}>; rel="self"`);
    expect(n!.headers['x-hub-signature']).toBeUndefined();
    expect(n!.headers['webhook-signature']).toBeUndefined();
    expect(n!.headers['webhook-id']).toBeUndefined(); // signed only with hub.secret, no Standard Webhooks headers
    expect(n!.headers['webhook-timestamp']).toBeUndefined();
  });

  it('a non-ASCII topic (news☃) is delivered, its Link headers percent-encoded', async () => {
    const hub = await startHub(fast);
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb`, 'news☃');
    await publishRaw(hub, 'news☃', 'text/plain', 'snow');
    const [n] = await sub.waitNotifications(1);
    expect(n!.body.toString()).toBe('snow');
    expect(n!.headers.link).toBe(`<${hub.url}/hub>; rel="hub", <news%E2%98%83>; rel="self"`);
  });

  it('101: subscriber with a secret — every delivery carries X-Hub-Signature sha256 of the body', async () => {
    const hub = await startHub({ ...fast, signingSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    const publisher = await Publisher.start();
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb`, publisher.topic(), { 'hub.secret': 's3cret-ünï' });
    for (const body of ['first', 'second']) {
      publisher.body = Buffer.from(body);
      await ping(hub, publisher.topic());
      const got = await sub.waitNotifications(body === 'first' ? 1 : 2);
      const n = got.at(-1)!;
      expect(n.body.toString()).toBe(body);
      expect(n.headers['x-hub-signature']).toBe(hmac('s3cret-ünï', n.body));
      // Signed only with hub.secret, never with the Standard Webhooks key.
      expect(n.headers['webhook-signature']).toBeUndefined();
    }
  });

  it('102: extra parameters are ignored and the subscription works', async () => {
    const hub = await startHub(fast);
    const sub = await Subscriber.start();
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news', 'hub.foo': 'x', foo: 'bar' })).status).toBe(202);
    await until(async () => (await listSubscriptions(hub))[0]?.state === 'active', 'active');
    await publishRaw(hub, 'news', 'text/plain', 'extra');
    const [n] = await sub.waitNotifications(1);
    expect(n!.body.toString()).toBe('extra');
  });

  it('103: a resubscription gets exactly one notification per message', async () => {
    const hub = await startHub(fast);
    const publisher = await Publisher.start();
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb`, publisher.topic());
    await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': publisher.topic() });
    await sub.waitGets(2);
    await until(async () => (await listSubscriptions(hub))[0]?.pendingRequest === null, 'resubscription verified');
    publisher.body = Buffer.from('one');
    await ping(hub, publisher.topic());
    await sub.waitNotifications(1);
    publisher.body = Buffer.from('two');
    await ping(hub, publisher.topic());
    await sub.waitNotifications(2);
    // A duplicate of "one" would have been queued with it, before "two".
    expect(sub.notifications.map((n) => n.body.toString()).sort()).toEqual(['one', 'two']);
  });

  it('104: after an unsubscription no notification arrives', async () => {
    const hub = await startHub(fast);
    const publisher = await Publisher.start();
    const gone = await Subscriber.start();
    await subscribeActive(hub, `${gone.url}/cb`, publisher.topic());
    expect((await hubPost(hub, { 'hub.mode': 'unsubscribe', 'hub.callback': `${gone.url}/cb`, 'hub.topic': publisher.topic() })).status).toBe(202);
    await until(async () => (await listSubscriptions(hub)).length === 0, 'unsubscribed');
    const sentinel = await Subscriber.start();
    await subscribeActive(hub, `${sentinel.url}/cb`, publisher.topic());
    await ping(hub, publisher.topic());
    await sentinel.waitNotifications(1);
    expect(gone.notifications).toHaveLength(0);
  });

  it.each([
    ['105: text/plain', 'text/plain; charset=UTF-8', Buffer.from('héllo\r\n  world  ')],
    ['106: JSON', 'application/json', Buffer.from('{"a": 1,   "b" :[1,2] }\n')],
    ['binary', 'application/octet-stream', Buffer.from([0, 255, 1, 254, 10, 13])],
  ])('%s content is delivered byte-identical with its Content-Type', async (_name, type, body) => {
    const hub = await startHub(fast);
    const publisher = await Publisher.start();
    publisher.contentType = type;
    publisher.body = body;
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb`, publisher.topic());
    await ping(hub, publisher.topic());
    const [n] = await sub.waitNotifications(1);
    expect(n!.headers['content-type']).toBe(type);
    expect(n!.body.equals(body)).toBe(true);
  });
});

describe('WebSub delivery from every producer', () => {
  it('/api/topics publish and /dispatch _topic reach subscribers of a bare topic, byte-identical', async () => {
    const hub = await startHub({ ...fast, publicUrl: 'https://hub.example.com/' });
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb?user=7`, 'news', { 'hub.secret': 'k' });
    await publishRaw(hub, 'news', 'application/xml; charset=latin1', '<a>x</a>');
    const dispatch = await fetch(`${hub.url}/dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '_topic=news&headline=big+news&n=1',
    });
    expect(dispatch.status).toBe(202);
    const got = await sub.waitNotifications(2);
    const byType = new Map(got.map((n) => [n.headers['content-type'], n]));
    const xml = byType.get('application/xml; charset=latin1')!;
    expect(xml.body.toString()).toBe('<a>x</a>');
    const form = byType.get('application/x-www-form-urlencoded')!;
    expect(form.body.toString()).toBe('headline=big+news&n=1');
    for (const n of got) {
      expect(n.url).toBe('/cb?user=7');
      expect(n.headers.link).toBe('<https://hub.example.com/hub>; rel="hub", <news>; rel="self"');
      expect(n.headers['x-hub-signature']).toBe(hmac('k', n.body));
    }
  });

  it('delivers each message once to each subscriber of the topic, not to other topics', async () => {
    const hub = await startHub(fast);
    const a = await Subscriber.start();
    const b = await Subscriber.start();
    const other = await Subscriber.start();
    await subscribeActive(hub, `${a.url}/cb`, 'news');
    await subscribeActive(hub, `${b.url}/cb`, 'news');
    await subscribeActive(hub, `${other.url}/cb`, 'sport');
    for (const i of [1, 2, 3]) await publishRaw(hub, 'news', 'text/plain', `m${i}`);
    await publishRaw(hub, 'sport', 'text/plain', 'goal');
    for (const s of [a, b]) {
      await s.waitNotifications(3);
      expect(s.notifications.map((n) => n.body.toString()).sort()).toEqual(['m1', 'm2', 'm3']);
    }
    await other.waitNotifications(1);
    expect(other.notifications.map((n) => n.body.toString())).toEqual(['goal']);
  });
});

describe('WebSub publish fetch failure', () => {
  it('delivers nothing when the topic fetch fails; the next good publish arrives alone', async () => {
    const hub = await startHub({ ...fast, websubFetchRetry: [0, 50, 50] });
    const publisher = await Publisher.start();
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb`, publisher.topic());
    publisher.status = 502;
    publisher.body = Buffer.from('error page');
    await ping(hub, publisher.topic());
    await until(() => publisher.fetches.length >= 3, 'three fetch attempts');
    publisher.status = 200;
    publisher.body = Buffer.from('good');
    await ping(hub, publisher.topic());
    await sub.waitNotifications(1);
    expect(publisher.fetches).toHaveLength(4);
    expect(sub.notifications.map((n) => n.body.toString())).toEqual(['good']);
  });
});

describe('WebSub delivery outcomes', () => {
  it('a 410 from the callback ends the subscription', async () => {
    const hub = await startHub(fast);
    const sub = await Subscriber.start();
    sub.postStatus = 410;
    const row = await subscribeActive(hub, `${sub.url}/cb`, 'news');
    await publishRaw(hub, 'news', 'text/plain', 'bye');
    await sub.waitNotifications(1);
    await until(async () => (await listSubscriptions(hub)).length === 0, 'subscription ended');
    expect((await fetch(`${hub.url}/api/subscriptions/${row.id}`)).status).toBe(404);
    expect(sub.notifications).toHaveLength(1);
  });

  it('another 4xx is final for that message only; the subscription stays', async () => {
    const hub = await startHub(fast);
    const sub = await Subscriber.start();
    sub.postStatus = 400;
    await subscribeActive(hub, `${sub.url}/cb`, 'news');
    await publishRaw(hub, 'news', 'text/plain', 'refused');
    const row = await until(async () => (await listSubscriptions(hub))[0]?.lastDelivery ? (await listSubscriptions(hub))[0] : undefined, 'delivery recorded');
    expect(row.state).toBe('active');
    expect(row.lastDelivery).toMatchObject({ ok: false, final: true, status: 400 });
    sub.postStatus = 200;
    await publishRaw(hub, 'news', 'text/plain', 'accepted');
    await sub.waitNotifications(2);
    expect(sub.notifications.map((n) => n.body.toString())).toEqual(['refused', 'accepted']);
    await until(async () => (await listSubscriptions(hub))[0]?.lastDelivery?.ok === true, 'success recorded');
  });

  it('a 5xx is retried until the callback accepts it', async () => {
    const hub = await startHub(fast);
    const sub = await Subscriber.start();
    sub.postStatus = 503;
    await subscribeActive(hub, `${sub.url}/cb`, 'news');
    await publishRaw(hub, 'news', 'text/plain', 'again');
    await sub.waitNotifications(1);
    sub.postStatus = 200;
    await sub.waitNotifications(2);
    expect(sub.notifications.map((n) => n.body.toString())).toEqual(['again', 'again']);
    const row = await until(async () => ((await listSubscriptions(hub))[0]?.lastDelivery?.ok ? (await listSubscriptions(hub))[0] : undefined), 'ok recorded');
    expect(row.lastDelivery).toMatchObject({ ok: true, final: true, status: 200 });
  });
});

describe('WebSub persistence and leases', () => {
  it('subscriptions survive a restart (sqlite): publish after restart is delivered', async () => {
    const dataDir = tempDir();
    const first = await startHub({ ...fast, store: 'sqlite', dataDir });
    const publisher = await Publisher.start();
    const sub = await Subscriber.start();
    const before = await subscribeActive(first, `${sub.url}/cb`, publisher.topic(), { 'hub.secret': 'persisted' });
    await stopHub(first);

    const second = await startHub({ ...fast, store: 'sqlite', dataDir });
    const [after] = await listSubscriptions(second);
    expect(after).toMatchObject({ id: before.id, state: 'active', signed: true, leaseExpiresAt: before.leaseExpiresAt });
    publisher.body = Buffer.from('after restart');
    await ping(second, publisher.topic());
    const [n] = await sub.waitNotifications(1);
    expect(n!.body.toString()).toBe('after restart');
    expect(n!.headers['x-hub-signature']).toBe(hmac('persisted', n!.body));
    expect(n!.headers.link).toBe(`<${second.url}/hub>; rel="hub", <${publisher.topic()}>; rel="self"`);
    expect(sub.gets).toHaveLength(1); // not verified again
  });

  it('a delivery pending retry survives a restart (sqlite)', async () => {
    const dataDir = tempDir();
    const first = await startHub({ store: 'sqlite', dataDir, retrySchedule: [0, 1000, 1000] });
    const sub = await Subscriber.start();
    sub.postStatus = 503;
    await subscribeActive(first, `${sub.url}/cb`, 'news');
    await publishRaw(first, 'news', 'text/plain', 'keep me');
    await sub.waitNotifications(1);
    await until(async () => (await listSubscriptions(first))[0]?.lastDelivery?.status === 503, 'first attempt recorded');
    await stopHub(first);
    expect(sub.notifications).toHaveLength(1); // the retry is due 1 s later: it belongs to the next process

    sub.postStatus = 200;
    const second = await startHub({ store: 'sqlite', dataDir, retrySchedule: [0, 1000, 1000] });
    const got = await sub.waitNotifications(2);
    expect(got.map((n) => n.body.toString())).toEqual(['keep me', 'keep me']);
    await until(async () => (await listSubscriptions(second))[0]?.lastDelivery?.ok === true, 'success recorded after restart');
  });

  it('an expired lease stops deliveries, shows as expired, then is pruned', async () => {
    const hub = await startHub({ ...fast, leaseMin: 1000 });
    const short = await Subscriber.start();
    const sentinel = await Subscriber.start();
    const row = await subscribeActive(hub, `${short.url}/cb`, 'news', { 'hub.lease_seconds': '1' });
    expect(row.leaseSeconds).toBe(1);
    expect(short.gets[0]!.query.get('hub.lease_seconds')).toBe('1');
    await subscribeActive(hub, `${sentinel.url}/cb`, 'news', { 'hub.lease_seconds': '3600' });

    await until(async () => (await listSubscriptions(hub)).find((s) => s.id === row.id)?.state === 'expired', 'expired', 5000, 50);
    await publishRaw(hub, 'news', 'text/plain', 'too late');
    await sentinel.waitNotifications(1);
    expect(short.notifications).toHaveLength(0);
    await until(async () => !(await listSubscriptions(hub)).some((s) => s.id === row.id), 'pruned', 5000, 50);
    expect((await listSubscriptions(hub)).map((s) => s.callback)).toEqual([`${sentinel.url}/cb`]);
  });
});
