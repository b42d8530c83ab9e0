// One contract for every TopicLog implementation.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { createMemoryStore } from '../../../src/store/memory/index.js';
import { createSqliteStore } from '../../../src/store/sqlite/index.js';
import { tempDir } from '../../helpers/server.js';
import { deleteKeysUnder, openRedisStore, redisPrefix } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

const msg = (text: string) => ({ contentType: 'text/plain', body: Buffer.from(text) });

/**
 * `lost` gives a store of the same engine whose topic logs are gone, as after a Redis restarted without
 * persistence or a memory store's process restarted; `reopened` one that kept them (undefined: none does).
 */
interface Engine {
  open(historySize: number): Promise<Store>;
  lost(store: Store): Promise<Store>;
  reopened?(store: Store): Promise<Store>;
}

function topicLogContract(name: string, engine: Engine) {
  const open = (historySize: number) => engine.open(historySize);
  describe(`${name} topic log`, () => {
    it('gives each topic log an epoch, carried by its messages and bounds; none before the log exists', async () => {
      const store = await open(100);
      expect((await store.topics.bounds('t')).epoch).toBe('');
      const m1 = await store.topics.append('t', msg('1'));
      const m2 = await store.topics.append('t', msg('2'));
      const other = await store.topics.append('u', msg('x'));
      expect(m1.epoch).toMatch(/^[0-9a-f]{8}$/);
      expect(m2.epoch).toBe(m1.epoch);
      expect(other.epoch).toMatch(/^[0-9a-f]{8}$/);
      expect((await store.topics.bounds('t')).epoch).toBe(m1.epoch);
      expect((await store.topics.read('t', 0, 10)).map((m) => m.epoch)).toEqual([m1.epoch, m1.epoch]);
      await store.topics.setHistorySize('sized', 5);
      const sized = (await store.topics.bounds('sized')).epoch;
      expect((await store.topics.append('sized', msg('s'))).epoch).toBe(sized);
      await store.close();
    });

    it('a log the store lost begins again at offset 1 under a new epoch', async () => {
      const store = await open(100);
      for (let i = 1; i <= 3; i++) await store.topics.append('t', msg(String(i)));
      const before = (await store.topics.bounds('t')).epoch;
      const after = await engine.lost(store);
      // Listeners that saw offset 3 of the old log still hear 1 and 2 of the new one.
      const heard: Array<[number, string | undefined]> = [];
      after.topics.onAppend((m) => heard.push([m.offset, m.epoch]));
      const again = await after.topics.append('t', msg('new 1'));
      await after.topics.append('t', msg('new 2'));
      expect(again.offset).toBe(1);
      expect(again.epoch).not.toBe(before);
      expect(await after.topics.bounds('t')).toEqual({ first: 1, last: 2, epoch: again.epoch });
      await until(() => (heard.length >= 2 ? true : undefined), 'the new log heard');
      expect(heard).toEqual([[1, again.epoch], [2, again.epoch]]);
      await after.close();
    });

    if (engine.reopened) it('a log the store kept keeps its epoch', async () => {
      const store = await open(100);
      const m = await store.topics.append('t', msg('1'));
      const again = await engine.reopened!(store);
      expect((await again.topics.bounds('t')).epoch).toBe(m.epoch);
      expect((await again.topics.append('t', msg('2'))).epoch).toBe(m.epoch);
      await again.close();
    });

    it('assigns increasing offsets per topic, from 1', async () => {
      const store = await open(100);
      const a1 = await store.topics.append('a', msg('1'));
      const a2 = await store.topics.append('a', msg('2'));
      const b1 = await store.topics.append('b', msg('x'));
      expect([a1.offset, a2.offset, b1.offset]).toEqual([1, 2, 1]);
      expect(a1.id).not.toBe(a2.id);
      await store.close();
    });

    it('reads after an offset, oldest first, limited', async () => {
      const store = await open(100);
      for (let i = 1; i <= 5; i++) await store.topics.append('t', msg(String(i)));
      const read = await store.topics.read('t', 2, 2);
      expect(read.map((m) => [m.offset, m.body.toString()])).toEqual([[3, '3'], [4, '4']]);
      expect(await store.topics.read('t', 5, 10)).toEqual([]);
      expect(await store.topics.read('nope', 0, 10)).toEqual([]);
      await store.close();
    });

    it('keeps only the last N messages and reports bounds', async () => {
      const store = await open(3);
      expect(await store.topics.bounds('t')).toEqual({ first: 1, last: 0, epoch: '' });
      for (let i = 1; i <= 5; i++) await store.topics.append('t', msg(String(i)));
      expect(await store.topics.bounds('t')).toMatchObject({ first: 3, last: 5 });
      expect((await store.topics.read('t', 0, 10)).map((m) => m.offset)).toEqual([3, 4, 5]);
      await store.close();
    });

    it('honours a per-topic history size, including 0', async () => {
      const store = await open(100);
      await store.topics.setHistorySize('none', 0);
      await store.topics.append('none', msg('gone'));
      expect(await store.topics.read('none', 0, 10)).toEqual([]);
      expect(await store.topics.bounds('none')).toMatchObject({ first: 2, last: 1 });
      for (let i = 0; i < 4; i++) await store.topics.append('two', msg(String(i)));
      await store.topics.setHistorySize('two', 2);
      expect((await store.topics.read('two', 0, 10)).map((m) => m.offset)).toEqual([3, 4]);
      await store.close();
    });

    it('keeps the author of a message (a channel user) for readers and listeners; none when not given', async () => {
      const store = await open(100);
      const heard: Array<string | undefined> = [];
      store.topics.onAppend((m) => heard.push(m.author));
      const a = await store.topics.append('room', { ...msg('hi'), author: 'alice ü' });
      await store.topics.append('room', msg('anon'));
      expect(a.author).toBe('alice ü');
      expect((await store.topics.read('room', 0, 10)).map((m) => m.author)).toEqual(['alice ü', undefined]);
      await until(() => (heard.length >= 2 ? true : undefined), 'both appends heard');
      expect(heard).toEqual(['alice ü', undefined]);
      await store.close();
    });

    it('tells listeners of every append, in order, with the bytes', async () => {
      const store = await open(100);
      const seen: Message[] = [];
      store.topics.onAppend((m) => seen.push(m));
      await store.topics.append('t', { contentType: 'application/octet-stream', body: Buffer.from([0, 255, 1]) });
      await store.topics.append('t', msg('b'));
      expect(seen.map((m) => m.offset)).toEqual([1, 2]);
      expect([...seen[0]!.body]).toEqual([0, 255, 1]);
      const listed = await store.topics.list();
      expect(listed).toEqual([{ topic: 't', last: 2, kept: 2, historySize: 100 }]);
      await store.close();
    });

    it('lists topics by name in pages after a cursor, and counts them', async () => {
      const store = await open(100);
      for (const t of ['c', 'a', 'e', 'b', 'd']) await store.topics.append(t, msg(t));
      expect(await store.topics.count()).toBe(5);
      const first = await store.topics.list({ limit: 2 });
      expect(first.map((t) => t.topic)).toEqual(['a', 'b']);
      const second = await store.topics.list({ after: 'b', limit: 2 });
      expect(second.map((t) => t.topic)).toEqual(['c', 'd']);
      expect(second[0]).toEqual({ topic: 'c', last: 1, kept: 1, historySize: 100 });
      expect((await store.topics.list({ after: 'd', limit: 2 })).map((t) => t.topic)).toEqual(['e']);
      expect(await store.topics.list({ after: 'e', limit: 2 })).toEqual([]);
      await store.close();
    });
  });
}

topicLogContract('memory', {
  open: async (historySize) => createMemoryStore({ historySize }),
  // A new process: nothing is kept.
  lost: async (store) => {
    await store.close();
    return createMemoryStore({ historySize: 100 });
  },
});

const sqliteDirs = new WeakMap<Store, string>();
const openSqlite = (historySize: number, dataDir = tempDir()): Store => {
  const store = createSqliteStore({ historySize, dataDir });
  sqliteDirs.set(store, dataDir);
  return store;
};
topicLogContract('sqlite', {
  open: async (historySize) => openSqlite(historySize),
  // The data dir is gone: a new one.
  lost: async (store) => {
    await store.close();
    return openSqlite(100);
  },
  reopened: async (store) => {
    await store.close();
    return openSqlite(100, sqliteDirs.get(store));
  },
});

const redisPrefixes = new WeakMap<Store, string>();
topicLogContract('redis', {
  open: async (historySize) => {
    const prefix = redisPrefix();
    const store = await openRedisStore(historySize, prefix);
    redisPrefixes.set(store, prefix);
    return store;
  },
  // Redis lost its data (restarted without persistence) under a running node.
  lost: async (store) => {
    await deleteKeysUnder(redisPrefixes.get(store) as string);
    return store;
  },
  reopened: async (store) => {
    await store.close();
    const prefix = redisPrefixes.get(store) as string;
    const again = await openRedisStore(100, prefix);
    redisPrefixes.set(again, prefix);
    return again;
  },
});

describe('sqlite topic log on disk', () => {
  it('keeps offsets, history and bytes across reopen', async () => {
    const dataDir = tempDir();
    const first = createSqliteStore({ historySize: 10, dataDir });
    await first.topics.append('t', { contentType: 'application/json', body: Buffer.from('{"a":1}'), id: 'm-1' });
    await first.topics.append('t', msg('two'));
    await first.close();
    const second = createSqliteStore({ historySize: 10, dataDir });
    const next = await second.topics.append('t', msg('three'));
    expect(next.offset).toBe(3);
    const all = await second.topics.read('t', 0, 10);
    expect(all.map((m) => [m.offset, m.id === 'm-1' ? 'm-1' : 'gen', m.contentType, m.body.toString()])).toEqual([
      [1, 'm-1', 'application/json', '{"a":1}'],
      [2, 'gen', 'text/plain', 'two'],
      [3, 'gen', 'text/plain', 'three'],
    ]);
    await second.close();
  });
});
