// W3C WebSub hub requirements that need no delivery: verification of intent, leases, aliases,
// unknown parameters, resubscription, unsubscription, listing, publish pings feeding the topic.
import { describe, expect, it } from 'vitest';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';
import { hubPost, listSubscriptions, Publisher, Subscriber, subscribeActive } from '../helpers/websub.js';

describe('WebSub hub: verification of intent', () => {
  it('GETs the callback keeping its own query string, with mode, topic, a fresh challenge and the granted lease', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    const callback = `${sub.url}/cb?a=1&b=x%20y&c`;
    const res = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': callback, 'hub.topic': 'https://example.com/feed', 'hub.lease_seconds': '3600' });
    expect(res.status).toBe(202);
    const [get] = await sub.waitGets(1);
    expect(get!.raw.startsWith('/cb?a=1&b=x%20y&c&hub.mode=subscribe&')).toBe(true);
    expect(get!.query.get('hub.topic')).toBe('https://example.com/feed');
    expect(get!.query.get('hub.lease_seconds')).toBe('3600');
    const challenge = get!.query.get('hub.challenge')!;
    expect(challenge).toMatch(/^[0-9a-f]{48}$/);

    const row = await until(async () => (await listSubscriptions(hub)).find((s) => s.state === 'active'), 'active');
    expect(row).toMatchObject({ callback, topic: 'https://example.com/feed', leaseSeconds: 3600, signed: false, pendingRequest: null, lastDelivery: null });
    const expires = Date.parse(row.leaseExpiresAt!);
    expect(expires).toBeGreaterThan(Date.now() + 3590_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);

    // A second subscriber gets another challenge.
    const other = await Subscriber.start();
    await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${other.url}/cb`, 'hub.topic': 'https://example.com/feed' });
    const [otherGet] = await other.waitGets(1);
    expect(otherGet!.query.get('hub.challenge')).not.toBe(challenge);
  });

  it('shows a subscription as pending until the callback echoes the challenge', async () => {
    const hub = await startHub();
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    const sub = await Subscriber.start();
    sub.receiver.respond = async (req, res) => {
      await gate;
      res.end(new URL(req.url, 'http://x').searchParams.get('hub.challenge'));
    };
    await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news' });
    await sub.receiver.waitFor(1);
    const [pending] = await listSubscriptions(hub, 'news');
    expect(pending).toMatchObject({ state: 'pending', pendingRequest: 'subscribe', leaseExpiresAt: null });
    release!();
    await until(async () => (await listSubscriptions(hub, 'news'))[0]?.state === 'active', 'active after the echo');
  });

  it('grants leases within --lease-min and --lease-max, --lease-default when none is asked', async () => {
    const hub = await startHub({ leaseMin: 60_000, leaseMax: 7200_000, leaseDefault: 600_000 });
    const sub = await Subscriber.start();
    const asked: Array<[string | undefined, string]> = [['5', '60'], ['100000', '7200'], [undefined, '600'], ['120', '120']];
    for (const [i, [ask, granted]] of asked.entries()) {
      const form: Record<string, string> = { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb${i}`, 'hub.topic': 'leases' };
      if (ask !== undefined) form['hub.lease_seconds'] = ask;
      expect((await hubPost(hub, form)).status).toBe(202);
      const gets = await sub.waitGets(i + 1);
      expect(gets[i]!.query.get('hub.lease_seconds'), `asked ${ask}`).toBe(granted);
    }
    const rows = await until(async () => {
      const list = await listSubscriptions(hub, 'leases');
      return list.length === 4 && list.every((s) => s.state === 'active') ? list : undefined;
    }, 'four active');
    expect(rows.map((s) => s.leaseSeconds).sort((a, b) => a - b)).toEqual([60, 120, 600, 7200]);
  });

  it('ignores unknown hub.* and other parameters (websub.rocks 102)', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    const res = await hubPost(hub, [
      ['hub.mode', 'subscribe'],
      ['hub.callback', `${sub.url}/cb`],
      ['hub.topic', 'news'],
      ['hub.foo', 'bar'],
      ['hub.verify', 'sync'],
      ['foo', 'bar'],
    ]);
    expect(res.status).toBe(202);
    const [get] = await sub.waitGets(1);
    expect(get!.query.get('hub.foo')).toBeNull();
    expect(get!.query.get('foo')).toBeNull();
    await until(async () => (await listSubscriptions(hub))[0]?.state === 'active', 'active');
  });

  it('takes hub.mode on the /subscribe and /publish aliases too', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/a`, 'hub.topic': 'news' }, '/subscribe')).status).toBe(202);
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/b`, 'hub.topic': 'news' }, '/publish')).status).toBe(202);
    await until(async () => (await listSubscriptions(hub, 'news')).filter((s) => s.state === 'active').length === 2, 'both active');
    const noMode = await hubPost(hub, { 'hub.callback': `${sub.url}/c`, 'hub.topic': 'news' }, '/subscribe');
    expect(noMode.status).toBe(400);
  });

  it('verifies a resubscription again, renews the lease, keeps one subscription (websub.rocks 103)', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    const first = await subscribeActive(hub, `${sub.url}/cb`, 'news', { 'hub.lease_seconds': '600' });
    await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news', 'hub.lease_seconds': '1200', 'hub.secret': 'now-signed' });
    const gets = await sub.waitGets(2);
    expect(gets[1]!.query.get('hub.lease_seconds')).toBe('1200');
    expect(gets[1]!.query.get('hub.challenge')).not.toBe(gets[0]!.query.get('hub.challenge'));
    const renewed = await until(async () => (await listSubscriptions(hub)).find((s) => s.leaseSeconds === 1200 && s.pendingRequest === null), 'renewed');
    expect(renewed.id).toBe(first.id);
    expect(renewed.signed).toBe(true);
    expect(Date.parse(renewed.leaseExpiresAt!)).toBeGreaterThan(Date.parse(first.leaseExpiresAt!));
    expect(await listSubscriptions(hub)).toHaveLength(1);
  });

  it('verifies an unsubscription (no lease) and removes the subscription only when echoed', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.url}/cb?x=1`, 'news');

    sub.verifier = () => ({ status: 200, body: 'no thanks' });
    expect((await hubPost(hub, { 'hub.mode': 'unsubscribe', 'hub.callback': `${sub.url}/cb?x=1`, 'hub.topic': 'news' })).status).toBe(202);
    await sub.waitGets(2);
    await until(async () => (await listSubscriptions(hub))[0]?.pendingRequest === null, 'refused unsubscribe dropped');
    expect((await listSubscriptions(hub))[0]?.state).toBe('active');

    sub.verifier = (q) => ({ status: 200, body: q.get('hub.challenge') ?? '' });
    expect((await hubPost(hub, { 'hub.mode': 'unsubscribe', 'hub.callback': `${sub.url}/cb?x=1`, 'hub.topic': 'news' })).status).toBe(202);
    const gets = await sub.waitGets(3);
    expect(gets[2]!.raw.startsWith('/cb?x=1&hub.mode=unsubscribe&')).toBe(true);
    expect(gets[2]!.query.get('hub.topic')).toBe('news');
    expect(gets[2]!.query.get('hub.lease_seconds')).toBeNull();
    await until(async () => (await listSubscriptions(hub)).length === 0, 'removed');
  });

  it('answers 202 to an unsubscription of nothing and sends no GET', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    const other = await Subscriber.start();
    expect((await hubPost(hub, { 'hub.mode': 'unsubscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news' })).status).toBe(202);
    await subscribeActive(hub, `${other.url}/cb`, 'news'); // the hub is working: this one was verified
    expect(sub.gets).toHaveLength(0);
  });
});

describe('WebSub hub: /api/subscriptions', () => {
  it('lists subscriptions by topic behind --api-key', async () => {
    const hub = await startHub({ apiKey: 'k3y' });
    const sub = await Subscriber.start();
    // /hub stays open.
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/a`, 'hub.topic': 'one' })).status).toBe(202);
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/b`, 'hub.topic': 'two' })).status).toBe(202);
    const auth = { authorization: 'Bearer k3y' };
    expect((await fetch(`${hub.url}/api/subscriptions`)).status).toBe(401);
    const all = await until(async () => {
      const rows = await listSubscriptions(hub, undefined, auth);
      return rows.length === 2 && rows.every((s) => s.state === 'active') ? rows : undefined;
    }, 'two active');
    expect(all.map((s) => s.topic).sort()).toEqual(['one', 'two']);
    const one = await listSubscriptions(hub, 'one', auth);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ callback: `${sub.url}/a`, topic: 'one', state: 'active' });
    expect(Object.keys(one[0]!)).not.toContain('secret');

    const single = await fetch(`${hub.url}/api/subscriptions/${one[0]!.id}`, { headers: auth });
    expect(await single.json()).toEqual(one[0]);
    const missing = await fetch(`${hub.url}/api/subscriptions/nope`, { headers: auth });
    expect(missing.status).toBe(404);
  });
});

describe('WebSub hub: publish ping', () => {
  it('fetches every hub.url / hub.url[] / hub.topic and publishes the bodies to their topics (/stream sees them)', async () => {
    const hub = await startHub();
    const publisher = await Publisher.start();
    publisher.contentType = 'application/atom+xml; charset=utf-8';
    publisher.body = Buffer.from('<feed>é</feed>');
    const topics = ['/a', '/b', '/c', '/d'].map((p) => publisher.topic(p));
    const stream = await NdjsonClient.open(`${hub.url}/stream?${topics.map((t) => `topic=${encodeURIComponent(t)}`).join('&')}`);
    const res = await hubPost(hub, [
      ['hub.mode', 'publish'],
      ['hub.url', topics[0]!],
      ['hub.url[]', topics[1]!],
      ['hub.url[]', topics[2]!],
      ['hub.topic', topics[3]!],
    ], '/publish');
    expect(res.status).toBe(202);
    const lines = (await stream.waitForLines(4)) as Array<{ topic: string; contentType: string; data: unknown }>;
    expect(lines.map((l) => l.topic).sort()).toEqual(topics);
    for (const l of lines) {
      expect(l.contentType).toBe('application/atom+xml; charset=utf-8');
      expect(l.data).toBe('<feed>é</feed>');
    }
    expect(publisher.fetches.map((f) => f.url).sort()).toEqual(['/a', '/b', '/c', '/d']);
    stream.close();
  });
});

describe('WebSub hub: restart', () => {
  it('resumes a verification left pending by a stopped server (sqlite)', async () => {
    const dataDir = tempDir();
    const first = await startHub({ store: 'sqlite', dataDir });
    const sub = await Subscriber.start();
    let answering = false;
    sub.receiver.respond = (req, res) => {
      if (!answering) return; // hangs: the hub stops while waiting
      res.end(new URL(req.url, 'http://x').searchParams.get('hub.challenge'));
    };
    expect((await hubPost(first, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news' })).status).toBe(202);
    await sub.receiver.waitFor(1);
    await stopHub(first);

    answering = true;
    const second = await startHub({ store: 'sqlite', dataDir });
    await sub.receiver.waitFor(2);
    const row = await until(async () => (await listSubscriptions(second, 'news')).find((s) => s.state === 'active'), 'active after restart');
    expect(row.callback).toBe(`${sub.url}/cb`);
  });
});
