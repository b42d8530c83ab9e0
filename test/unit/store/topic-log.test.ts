// One contract for every TopicLog implementation.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import type { Store } from '../../../src/store/interface.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { createSqliteStore } from '../../../src/store/sqlite.js';
import { tempDir } from '../../helpers/server.js';
import { openRedisStore } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

const msg = (text: string) => ({ contentType: 'text/plain', body: Buffer.from(text) });

function topicLogContract(name: string, open: (historySize: number) => Promise<Store>) {
  describe(`${name} topic log`, () => {
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
      expect(await store.topics.bounds('t')).toEqual({ first: 1, last: 0 });
      for (let i = 1; i <= 5; i++) await store.topics.append('t', msg(String(i)));
      expect(await store.topics.bounds('t')).toEqual({ first: 3, last: 5 });
      expect((await store.topics.read('t', 0, 10)).map((m) => m.offset)).toEqual([3, 4, 5]);
      await store.close();
    });

    it('honours a per-topic history size, including 0', async () => {
      const store = await open(100);
      await store.topics.setHistorySize('none', 0);
      await store.topics.append('none', msg('gone'));
      expect(await store.topics.read('none', 0, 10)).toEqual([]);
      expect(await store.topics.bounds('none')).toEqual({ first: 2, last: 1 });
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

topicLogContract('memory', async (historySize) => createMemoryStore({ historySize }));
topicLogContract('sqlite', async (historySize) => createSqliteStore({ historySize, dataDir: tempDir() }));
topicLogContract('redis', (historySize) => openRedisStore(historySize));

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
