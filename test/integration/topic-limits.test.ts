// --max-topics (a new topic past the cap is refused, nothing committed, existing topics keep
// working) and paging of GET /api/topics (limit + cursor, next_cursor while pages are full).
import { describe, expect, it } from 'vitest';
import { startHub, tempDir } from '../helpers/server.js';
import { call, postForm } from '../helpers/http.js';
import type { Config } from '../../src/config.js';

const publish = (url: string, topic: string, body = 'x') =>
  call<{ error?: string; code?: string }>(`${url}/api/topics/${topic}/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });

interface TopicList {
  topics: Array<{ topic: string; last: number }>;
  next_cursor?: string;
}

const stores: Array<[string, () => Partial<Config>]> = [
  ['memory', () => ({})],
  ['sqlite', () => ({ store: 'sqlite', dataDir: tempDir() })],
];

describe('--max-topics', () => {
  for (const [name, options] of stores) {
    it(`${name}: a new topic past the cap answers 503 and commits nothing; existing topics still take messages`, async () => {
      const hub = await startHub({ maxTopics: 3, ...options() });
      for (const t of ['a', 'b', 'c']) expect((await publish(hub.url, t)).status).toBe(202);

      const refused = await publish(hub.url, 'd');
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('too_many_topics');
      expect(refused.body.error).toMatch(/topic limit \(3\)/);
      const viaDispatch = await postForm(`${hub.url}/dispatch`, { _topic: 'e', item: '1' });
      expect(viaDispatch.status).toBe(503);

      expect((await publish(hub.url, 'a', 'again')).status).toBe(202);
      const list = (await call<TopicList>(`${hub.url}/api/topics`)).body;
      expect(list.topics.map((t) => [t.topic, t.last])).toEqual([['a', 2], ['b', 1], ['c', 1]]);
      expect((await call<{ messages: unknown[] }>(`${hub.url}/api/topics/d/history`)).body.messages).toEqual([]);
    });
  }
});

describe('GET /api/topics paging', () => {
  it('pages by name with limit and cursor; next_cursor while a page is full', async () => {
    const hub = await startHub();
    for (const t of ['e', 'c', 'a', 'd', 'b']) expect((await publish(hub.url, t)).status).toBe(202);
    const seen: string[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ limit: '2', ...(cursor !== undefined ? { cursor } : {}) });
      const page = (await call<TopicList>(`${hub.url}/api/topics?${q}`)).body;
      seen.push(page.topics.map((t) => t.topic));
      if (page.next_cursor === undefined) break;
      cursor = page.next_cursor;
    }
    expect(seen).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('answers 100 topics by default and refuses a limit over 1000', async () => {
    const hub = await startHub();
    for (let i = 0; i < 101; i++) await hub.topics.publish(`t${String(i).padStart(3, '0')}`, { contentType: 'text/plain', body: Buffer.from('x') });
    const page = (await call<TopicList>(`${hub.url}/api/topics`)).body;
    expect(page.topics).toHaveLength(100);
    expect(page.next_cursor).toBe('t099');
    const bad = await call<{ error: string }>(`${hub.url}/api/topics?limit=5000`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/limit/);
  });
});
