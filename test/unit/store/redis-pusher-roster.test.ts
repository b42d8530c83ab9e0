// The Redis roster when writes are lost: a node cut off from Redis brings its entries in line once Redis
// is back (only the differences are told), and a node reaped while alive tells its state again.
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/contracts/store.js';
import type { RosterChange } from '../../../src/store/contracts/pusher-roster.js';
import { createRedisStore } from '../../../src/store/redis/index.js';
import { REDIS_URL, openRedisStore, redisPrefix, redisProxy, testRedis } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

const open: Store[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function listen(store: Store): RosterChange[] {
  const heard: RosterChange[] = [];
  store.pusher.onChange((change) => heard.push(change));
  return heard;
}

describe('redis pusher roster: lost writes', () => {
  it('a leave and an unsubscribe made while Redis was away reach the others once it is back', async () => {
    const prefix = redisPrefix();
    const proxy = await redisProxy();
    const cut = await createRedisStore({ url: proxy.url, prefix, historySize: 10 });
    const other = await openRedisStore(10, prefix);
    open.push(cut, other);
    const heard = listen(other);
    await cut.pusher.count('1/presence-r', 1);
    await cut.pusher.join('1/presence-r', 'ann', 'null');
    await cut.pusher.count('1/news', 1);
    await until(() => heard.length === 3, 'the joins heard');

    await proxy.cut();
    await expect(cut.pusher.count('1/presence-r', -1)).rejects.toThrow();
    await expect(cut.pusher.leave('1/presence-r', 'ann')).rejects.toThrow();
    await proxy.restore();
    await until(() => heard.length === 5, 'the lost writes told once Redis is back', 15_000);
    expect(heard.slice(3).map((c) => c.kind).sort()).toEqual(['member_removed', 'vacated']);
    expect(await other.pusher.occupied('1/')).toEqual(['1/news']);
    expect((await other.pusher.members('1/presence-r')).users.size).toBe(0);
  }, 30_000);

  it('a node reaped while it was alive tells its state again, and only that', async () => {
    const prefix = redisPrefix();
    const a = await openRedisStore(10, prefix);
    const b = await openRedisStore(10, prefix);
    open.push(a, b);
    const heard = listen(b);
    await a.pusher.count('1/news', 1);
    await a.pusher.join('1/presence-r', 'ann', '{"x":1}');
    await until(() => heard.length === 2, 'heard');
    // Node a's lease looks expired to b (as after a long pause): b reaps it, then a registers again.
    // (Kept expired until b's refresh comes: a's own refresh would otherwise renew it first.)
    const nodeA = (a.pusher as unknown as { node: string }).node;
    await until(async () => {
      if (heard.length >= 4) return true;
      await testRedis().zadd(`${prefix}nodes`, '1', nodeA);
      return false;
    }, 'reaped', 20_000);
    expect(heard.slice(2, 4).map((c) => c.kind).sort()).toEqual(['member_removed', 'vacated']);
    await until(async () => (await b.pusher.occupied('1/')).length === 1 && (await b.pusher.members('1/presence-r')).users.get('ann') === '{"x":1}', 'told again', 10_000);
    expect(await b.pusher.subscriptions('1/news')).toBe(1);
    await until(() => heard.length >= 6, 'told again, heard');
    expect(heard.slice(4).map((c) => c.kind).sort()).toEqual(['member_added', 'occupied']);
  }, 30_000);
});
