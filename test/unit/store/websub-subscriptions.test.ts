// One contract for every Subscriptions implementation; sqlite runs on disk and is reopened.
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../../src/store/sqlite/index.js';
import { MemorySubscriptions } from '../../../src/store/memory/subscriptions.js';
import { SqliteSubscriptions } from '../../../src/store/sqlite/subscriptions.js';
import type { SubscriptionIntent, Subscriptions } from '../../../src/store/contracts/subscriptions.js';
import { tempDir } from '../../helpers/server.js';
import { RedisSubscriptions } from '../../../src/store/redis/subscriptions.js';
import { redisPrefix, testRedis } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

const intent = (mode: 'subscribe' | 'unsubscribe', token: string, extra: Partial<SubscriptionIntent> = {}): SubscriptionIntent => ({
  mode,
  token,
  leaseSeconds: 100,
  secret: null,
  requestedAt: 1_000,
  ...extra,
});

function contract(name: string, factory: () => Subscriptions): void {
  describe(`${name} subscriptions`, () => {
    it('creates a pending row on subscribe and activates it with the current intent only', async () => {
      const s = factory();
      const row = await s.request('http://cb/1', 't', intent('subscribe', 'a', { secret: 'k', leaseSeconds: 50 }));
      expect(row).toMatchObject({ state: 'pending', callback: 'http://cb/1', topic: 't', expiresAt: null });
      expect(row!.intent?.token).toBe('a');
      expect(await s.activate(row!.id, 'stale', 5_000, 0)).toBe(false);
      expect(await s.activate(row!.id, 'a', 5_000, 0)).toBe(true);
      const active = await s.get(row!.id);
      expect(active).toMatchObject({ state: 'active', secret: 'k', leaseSeconds: 50, expiresAt: 55_000, intent: null });
      expect((await s.activeFor('t', 54_999)).map((x) => x.id)).toEqual([row!.id]);
      expect(await s.activeFor('t', 55_000)).toEqual([]);
      expect(await s.activeFor('other', 0)).toEqual([]);
    });

    it('keeps one row per (callback, topic); a resubscription replaces the intent and renews the lease', async () => {
      const s = factory();
      const first = await s.request('http://cb/1', 't', intent('subscribe', 'a'));
      await s.activate(first!.id, 'a', 1_000, 0);
      const again = await s.request('http://cb/1', 't', intent('subscribe', 'b', { leaseSeconds: 500 }));
      expect(again!.id).toBe(first!.id);
      expect(again!.state).toBe('active');
      expect(await s.count()).toBe(1);
      await s.activate(first!.id, 'b', 2_000, 0);
      expect((await s.get(first!.id))!.expiresAt).toBe(502_000);
      await s.request('http://cb/2', 't', intent('subscribe', 'c'));
      expect((await s.list('t')).length).toBe(2);
      expect((await s.list()).length).toBe(2);
      expect((await s.list('nope')).length).toBe(0);
    });

    it('drops a failed intent: pending rows go, active rows stay as they were', async () => {
      const s = factory();
      const pending = await s.request('http://cb/p', 't', intent('subscribe', 'a'));
      await s.dropIntent(pending!.id, 'a');
      expect(await s.get(pending!.id)).toBeUndefined();

      const active = await s.request('http://cb/a', 't', intent('subscribe', 'a'));
      await s.activate(active!.id, 'a', 1_000, 0);
      await s.request('http://cb/a', 't', intent('subscribe', 'b', { secret: 'new' }));
      expect((await s.withIntent()).map((x) => x.id)).toEqual([active!.id]);
      await s.dropIntent(active!.id, 'b');
      expect(await s.get(active!.id)).toMatchObject({ state: 'active', secret: null, intent: null, expiresAt: 101_000 });
      expect(await s.withIntent()).toEqual([]);
    });

    it('unsubscribe attaches only to an existing row and removes it when verified', async () => {
      const s = factory();
      expect(await s.request('http://cb/x', 't', intent('unsubscribe', 'u'))).toBeNull();
      expect(await s.count()).toBe(0);
      const row = await s.request('http://cb/x', 't', intent('subscribe', 'a'));
      await s.activate(row!.id, 'a', 1_000, 0);
      await s.request('http://cb/x', 't', intent('unsubscribe', 'u'));
      expect(await s.removeIfIntent(row!.id, 'other')).toBe(false);
      expect(await s.activate(row!.id, 'u', 1_000, 0)).toBe(false);
      expect(await s.removeIfIntent(row!.id, 'u')).toBe(true);
      expect(await s.find('http://cb/x', 't')).toBeUndefined();
    });

    it('records the last delivery and prunes expired leases', async () => {
      const s = factory();
      const a = await s.request('http://cb/a', 't', intent('subscribe', 'a', { leaseSeconds: 10 }));
      const b = await s.request('http://cb/b', 't', intent('subscribe', 'b', { leaseSeconds: 100 }));
      await s.activate(a!.id, 'a', 0, 0);
      await s.activate(b!.id, 'b', 0, 0);
      await s.request('http://cb/c', 't', intent('subscribe', 'c'));
      await s.recordDelivery(a!.id, { at: 5, deliveryId: 'd1', ok: false, final: true, status: 400 });
      expect((await s.find('http://cb/a', 't'))!.lastDelivery).toEqual({ at: 5, deliveryId: 'd1', ok: false, final: true, status: 400 });
      expect(await s.prune(10_000)).toBe(1);
      expect((await s.list()).map((x) => x.callback).sort()).toEqual(['http://cb/b', 'http://cb/c']);
      expect(await s.remove(b!.id)).toBe(true);
      expect(await s.remove(b!.id)).toBe(false);
    });

    it('keeps a delivery cursor: set at activation, kept by a renewal, only moved forward', async () => {
      const s = factory();
      const row = await s.request('http://cb/1', 't', intent('subscribe', 'a'));
      expect(row!.cursor).toBeNull();
      await s.activate(row!.id, 'a', 1_000, 7);
      expect((await s.get(row!.id))!.cursor).toBe(7);
      await s.advance(row!.id, 12);
      await s.advance(row!.id, 9);
      expect((await s.get(row!.id))!.cursor).toBe(12);
      // A renewal while the lease runs keeps its place in the topic.
      await s.request('http://cb/1', 't', intent('subscribe', 'b'));
      await s.activate(row!.id, 'b', 2_000, 20);
      expect((await s.get(row!.id))!.cursor).toBe(12);
      // After the lease ended, the subscription starts again at the topic's head.
      await s.request('http://cb/1', 't', intent('subscribe', 'c'));
      await s.activate(row!.id, 'c', 500_000, 30);
      expect((await s.get(row!.id))!.cursor).toBe(30);
      await s.advance('no-such-row', 5);
      expect(await s.get('no-such-row')).toBeUndefined();
    });
  });
}

contract('memory', () => new MemorySubscriptions());
contract('sqlite', () => new SqliteSubscriptions(openSqlite(tempDir())));
contract('redis', () => new RedisSubscriptions(testRedis(), redisPrefix()));

describe('redis subscriptions: turns', () => {
  it('one node at a time has a topic\'s turn; it passes on when given back or lapsed', async () => {
    const prefix = redisPrefix();
    const a = new RedisSubscriptions(testRedis(), prefix);
    const b = new RedisSubscriptions(testRedis(), prefix);
    expect(await a.takeTurn('t', 10_000)).toBe(true);
    expect(await a.takeTurn('t', 10_000)).toBe(true);
    expect(await b.takeTurn('t', 10_000)).toBe(false);
    expect(await b.takeTurn('u', 50)).toBe(true);
    await a.endTurns();
    expect(await b.takeTurn('t', 10_000)).toBe(true);
    expect(await a.takeTurn('t', 10_000)).toBe(false);
    await until(async () => a.takeTurn('u', 10_000), 'the lapsed turn of u');
    expect(await b.takeTurn('u', 10_000)).toBe(false);
  });
});

describe('sqlite subscriptions on disk', () => {
  it('survive reopening the database, intents included', async () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    const s = new SqliteSubscriptions(db);
    const row = await s.request('http://cb/1?x=1', 'https://example.com/feed', intent('subscribe', 'a', { secret: 's3' }));
    await s.activate(row!.id, 'a', 1_000, 0);
    await s.request('http://cb/2', 'news', intent('subscribe', 'b'));
    db.close();

    const reopened = new SqliteSubscriptions(openSqlite(dir));
    expect(await reopened.get(row!.id)).toMatchObject({ state: 'active', secret: 's3', callback: 'http://cb/1?x=1', expiresAt: 101_000 });
    expect((await reopened.withIntent()).map((x) => x.callback)).toEqual(['http://cb/2']);
  });
});
