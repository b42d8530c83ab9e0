// What only the redis store has: connecting (clear error, --redis-wait), key prefix and DB number,
// several nodes on one Redis (offset order, holes filled from history, catching up after a reconnect).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { createRedisStore, showRedisUrl } from '../../../src/store/redis/index.js';
import type { RedisTopicLog } from '../../../src/store/redis/topic-log.js';
import { REDIS_URL, RedisProxy, escapeRegExp, keysUnder, openRedisStore, redisPrefix, redisProxy, redisUrlAt, testRedis } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

const msg = (text: string) => ({ contentType: 'text/plain', body: Buffer.from(text) });

function record(store: Store): Message[] {
  const seen: Message[] = [];
  store.topics.onAppend((m) => seen.push(m));
  return seen;
}

describe('redis store: connecting', () => {
  it('fails fast with one clear line when Redis is unreachable', async () => {
    const started = Date.now();
    const err = await createRedisStore({ url: 'redis://127.0.0.1:1', prefix: redisPrefix(), historySize: 10 }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^cannot connect to Redis at redis:\/\/127\.0\.0\.1:1 \(--redis-url\): .*ECONNREFUSED/);
    expect(err?.message).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never shows the password of the URL', async () => {
    const err = await createRedisStore({ url: 'redis://user:hunter2@127.0.0.1:1/0', prefix: redisPrefix(), historySize: 10 }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain('redis://user:***@127.0.0.1:1/0');
    expect(err?.message).not.toContain('hunter2');
  });

  it('with wait, says it is waiting and starts once Redis answers', async () => {
    const port = await RedisProxy.freePort();
    const lines: string[] = [];
    let ready: Store | undefined;
    const opening = createRedisStore({ url: redisUrlAt(port), prefix: redisPrefix(), historySize: 10, wait: true, onWait: (l) => lines.push(l) })
      .then((s) => (ready = s));
    await until(() => lines.length > 0, 'a waiting line');
    expect(lines[0]).toMatch(new RegExp(`^hookhub: waiting for Redis at ${escapeRegExp(showRedisUrl(redisUrlAt(port)))} \\(--redis-wait\\)`));
    expect(ready).toBeUndefined();
    await redisProxy(port);
    const store = await opening;
    await store.ping();
    expect((await store.topics.append('t', msg('x'))).offset).toBe(1);
    await store.close();
  });

  it('ping fails while Redis is away and works again after it is back', async () => {
    const proxy = await redisProxy();
    const store = await createRedisStore({ url: proxy.url, prefix: redisPrefix(), historySize: 10 });
    await store.ping();
    await proxy.cut();
    await expect(store.ping()).rejects.toThrow(/Redis/);
    await proxy.restore();
    await until(() => store.ping().then(() => true, () => false), 'ping after restore');
    await store.close();
  });
});

describe('redis store: keys', () => {
  it('puts every key under the prefix, in the DB the URL names, and publishes on the prefix channel', async () => {
    // A DB other than the one the run was given (keysUnder looks there).
    const url = new URL(REDIS_URL);
    const other = Number(url.pathname.slice(1) || 0) === 5 ? 6 : 5;
    url.pathname = `/${other}`;
    const prefix = redisPrefix();
    const db5 = new Redis(url.toString());
    const listener = testRedis().duplicate();
    const published: string[] = [];
    listener.on('message', (channel: string) => published.push(channel));
    await listener.subscribe(`${prefix}messages`);
    try {
      const store = await createRedisStore({ url: url.toString(), prefix, historySize: 10 });
      await store.topics.append('news', msg('hello'));
      await store.subscriptions.request('http://cb.example/', 'news', { mode: 'subscribe', token: 't', leaseSeconds: 60, secret: null, requestedAt: 1 });
      await store.channels.put({ name: 'room', options: {}, state: {} });
      await store.deliveries.enqueue(
        { id: 'd1', url: 'http://a.example/', method: 'POST', headers: {}, body: Buffer.from('x'), maxAttempts: 1, nextAt: 0, idempotencyKey: 'k' },
        { maxDepth: 10, idempotencyWindowMs: 1000 },
      );
      await store.close();
      expect(await keysUnder(prefix)).toEqual([]); // nothing in the run's own DB
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await db5.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      for (const k of ['topic:news', 'history:news', 'topics', 'channels', 'dq:d:d1', 'dq:due', 'dq:idem:k', 'websub:all']) expect(keys).toContain(`${prefix}${k}`);
      await until(() => published.length === 1, 'the message on the prefix channel');
      expect(published).toEqual([`${prefix}messages`]);
      if (keys.length > 0) await db5.del(...keys);
    } finally {
      db5.disconnect();
      listener.disconnect();
    }
  });
});

describe('redis store: several nodes', () => {
  it('offsets are global per topic; every node sees every append once, in offset order', async () => {
    const prefix = redisPrefix();
    const [a, b] = await Promise.all([openRedisStore(100, prefix), openRedisStore(100, prefix)]);
    const seenA = record(a);
    const seenB = record(b);
    const appended = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).topics.append('t', msg(String(i)))));
    expect(appended.map((m) => m.offset).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const expected = Array.from({ length: 40 }, (_, i) => i + 1);
    await until(() => seenA.length >= 40 && seenB.length >= 40, 'both nodes to see 40 appends');
    expect(seenA.map((m) => m.offset)).toEqual(expected);
    expect(seenB.map((m) => m.offset)).toEqual(expected);
    expect(seenB.find((m) => m.offset === 7)!.body.toString()).toBe(appended.find((m) => m.offset === 7)!.body.toString());
    await Promise.all([a.close(), b.close()]);
  });

  it('a message missed on pub/sub is filled from history before the next one', async () => {
    const prefix = redisPrefix();
    const store = await openRedisStore(100, prefix);
    const seen = record(store);
    await store.topics.append('t', msg('1'));
    // Offset 2 committed by "another node" whose PUBLISH never arrived here.
    const redis = testRedis();
    const two = await redis.hincrby(`${prefix}topic:t`, 'last', 1);
    await redis.xadd(`${prefix}history:t`, `${two}-0`, 'm', Buffer.concat([Buffer.from(`${two}\n${JSON.stringify({ topic: 't', id: 'lost', time: 1, contentType: 'text/plain' })}\n`), Buffer.from('2')]));
    await store.topics.append('t', msg('3'));
    expect(seen.map((m) => [m.offset, m.body.toString()])).toEqual([[1, '1'], [2, '2'], [3, '3']]);
    expect(seen[1]!.id).toBe('lost');
    await store.close();
  });

  it('a hole history no longer holds is skipped after what it still has (no hang)', async () => {
    const prefix = redisPrefix();
    const store = await openRedisStore(2, prefix);
    const seen = record(store);
    await store.topics.append('t', msg('1'));
    const redis = testRedis();
    for (let i = 0; i < 3; i++) {
      const off = await redis.hincrby(`${prefix}topic:t`, 'last', 1);
      await redis.xadd(`${prefix}history:t`, 'MAXLEN', '2', `${off}-0`, 'm', `${off}\n${JSON.stringify({ topic: 't', id: `raw${off}`, time: 1, contentType: 'text/plain' })}\n${off}`);
    }
    await store.topics.append('t', msg('5'));
    expect(seen.map((m) => m.offset)).toEqual([1, 4, 5]);
    await store.close();
  });

  it('append still reaches local listeners (from history) when the pub/sub connection is down', async () => {
    const proxy = await redisProxy();
    const store = await createRedisStore({ url: proxy.url, prefix: redisPrefix(), historySize: 100 });
    const seen = record(store);
    await store.topics.append('t', msg('1'));
    proxy.drop(1); // the subscriber connection (opened second); commands still work
    await until(() => store.ping().then(() => false, (e: Error) => /subscriber/.test(e.message)), 'ping to report the subscriber down');
    const m = await store.topics.append('t', msg('2'));
    expect(m.offset).toBe(2);
    expect(seen.map((x) => x.offset)).toEqual([1, 2]);
    await proxy.restore();
    await until(() => store.ping().then(() => true, () => false), 'the subscriber reconnected');
    await store.topics.append('t', msg('3'));
    expect(seen.map((x) => x.offset)).toEqual([1, 2, 3]);
    await store.close();
  });

  it('ignores payloads on its channel that are not log entries', async () => {
    const prefix = redisPrefix();
    const store = await openRedisStore(100, prefix);
    const seen = record(store);
    await testRedis().publish(`${prefix}messages`, 'garbage');
    await testRedis().publish(`${prefix}messages`, 'x\n{}\nbody');
    await store.topics.append('t', msg('ok'));
    expect(seen.map((m) => m.body.toString())).toEqual(['ok']);
    expect((store.topics as RedisTopicLog).malformed).toBe(2);
    await store.close();
  });

  it('a node that lost Redis catches up, in order, once it is back', async () => {
    const prefix = redisPrefix();
    const proxy = await redisProxy();
    const far = await createRedisStore({ url: proxy.url, prefix, historySize: 100 });
    const near = await openRedisStore(100, prefix);
    const seen = record(far);
    await near.topics.append('t', msg('1'));
    await until(() => seen.length === 1, 'the first message');
    await proxy.cut();
    for (let i = 2; i <= 4; i++) await near.topics.append('t', msg(String(i)));
    await proxy.restore();
    // Nothing new is published: the missed messages come from history on reconnect.
    await until(() => seen.length === 4, 'the missed messages after the reconnect');
    await near.topics.append('t', msg('5'));
    await until(() => seen.length === 5, 'five messages on the node that was cut off');
    expect(seen.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5]);
    await Promise.all([far.close(), near.close()]);
  });
});
