// One contract for endpoint records and flow-control permits on every engine; on Redis, permits are
// shared by two nodes (two connections).
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { EndpointBook, EndpointLimiter, EndpointRecord } from '../../../src/store/contracts/endpoints.js';
import { LocalEndpointLimiter } from '../../../src/store/local/endpoint-limiter.js';
import { MemoryEndpointBook } from '../../../src/store/memory/endpoints.js';
import { RedisEndpointBook, RedisEndpointLimiter } from '../../../src/store/redis/endpoints.js';
import { SqliteEndpointBook } from '../../../src/store/sqlite/endpoints.js';
import { openSqlite } from '../../../src/store/sqlite/index.js';
import { REDIS_URL, redisPrefix, testRedis } from '../../helpers/redis.js';
import { tempDir } from '../../helpers/server.js';

const second = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
afterAll(async () => {
  await second.quit();
});

/** Two views of the same store (two nodes on Redis; the same process otherwise). */
type Made = { book: EndpointBook; limiters: [EndpointLimiter, EndpointLimiter]; reopen?: () => EndpointBook };
const factories: Array<[string, () => Made]> = [
  ['memory', () => {
    const limiter = new LocalEndpointLimiter();
    return { book: new MemoryEndpointBook(), limiters: [limiter, limiter] };
  }],
  ['sqlite', () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    const limiter = new LocalEndpointLimiter();
    return { book: new SqliteEndpointBook(db), limiters: [limiter, limiter], reopen: () => { db.close(); return new SqliteEndpointBook(openSqlite(dir)); } };
  }],
  ['redis', () => {
    const prefix = redisPrefix();
    return {
      book: new RedisEndpointBook(testRedis(), prefix),
      limiters: [new RedisEndpointLimiter(testRedis(), prefix), new RedisEndpointLimiter(second, prefix)],
      reopen: () => new RedisEndpointBook(second, prefix),
    };
  }],
];

const record = (over: Partial<EndpointRecord> = {}): EndpointRecord => ({ id: 'https://a.example', settings: {}, circuit: 'closed', version: 0, ...over });

describe.each(factories)('endpoint store contract: %s', (_name, make) => {
  it('writes by compare-and-set on the version; a stale writer is refused; records survive a reopen', async () => {
    const { book, reopen } = make();
    expect(await book.put(record({ settings: { rate: 5 } }))).toBe(true);
    expect(await book.put(record())).toBe(false); // version 0: it exists already
    const stored = await book.get('https://a.example');
    expect(stored).toMatchObject({ settings: { rate: 5 }, circuit: 'closed', version: 1 });
    expect(await book.put({ ...stored!, circuit: 'open', openedAt: 7 })).toBe(true);
    expect(await book.put({ ...stored!, circuit: 'closed' })).toBe(false); // stale: version 1 again
    await book.put(record({ id: 'https://b.example/path/' }));
    const again = reopen?.() ?? book;
    expect((await again.list()).map((r) => [r.id, r.circuit, r.version])).toEqual([['https://a.example', 'open', 2], ['https://b.example/path/', 'closed', 1]]);
    await again.remove('https://a.example');
    expect(await again.get('https://a.example')).toBeUndefined();
  });

  it('concurrency slots are shared and come back on release or when their hold lapses', async () => {
    const { limiters: [one, two] } = make();
    const limits = { concurrency: 2, rate: 0, burst: 0 };
    const now = Date.now();
    expect(await one.acquire('e', 'd1', limits, now, 60_000)).toEqual({ granted: true });
    expect(await two.acquire('e', 'd2', limits, now, 60_000)).toEqual({ granted: true });
    const refused = await one.acquire('e', 'd3', limits, now, 60_000);
    expect(refused.granted).toBe(false);
    expect(await two.acquire('other', 'd3', limits, now, 60_000)).toEqual({ granted: true });
    await two.release('e', 'd1');
    expect(await one.acquire('e', 'd3', limits, now, 60_000)).toEqual({ granted: true });
  });

  it('the token bucket allows the burst at once, then refuses with the wait until the next token', async () => {
    const { limiters: [one, two] } = make();
    const limits = { concurrency: 0, rate: 2, burst: 3 };
    const now = Date.now();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await (i % 2 ? two : one).acquire('bucket', `d${i}`, limits, now, 1000));
    expect(answers.slice(0, 3)).toEqual([{ granted: true }, { granted: true }, { granted: true }]);
    const last = answers[3]!;
    expect(last.granted).toBe(false);
    // One token per 500 ms: the wait is at most that (some time may have passed on Redis's clock).
    expect(last.granted === false && last.retryInMs > 0 && last.retryInMs <= 500).toBe(true);
  });
});
