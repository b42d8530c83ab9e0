// Every list pages: /api/subscriptions and the console's topics, channels and subscriptions take
// limit + cursor and answer next_cursor while a page is full; following it lists each item once.
import { describe, expect, it } from 'vitest';
import type { Hookhub } from '../../src/server.js';
import { call } from '../helpers/http.js';
import { startHub } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';

const PASSWORD = 'pw';
const API_KEY = 'key';
const ADMIN = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const BEARER = { authorization: `Bearer ${API_KEY}` };

type Listing = Record<string, unknown> & { next_cursor?: string };

/** Follows next_cursor from the first page to the last; answers each page's keys. */
async function allPages(hub: Hookhub, path: string, field: string, key: string, headers: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 20; guard++) {
    const q = new URLSearchParams({ limit: '2', ...(cursor !== undefined ? { cursor } : {}) });
    const res = await call<Listing>(`${hub.url}${path}?${q}`, { headers });
    expect(res.status).toBe(200);
    const items = res.body[field] as Array<Record<string, string>>;
    expect(items.length).toBeLessThanOrEqual(2);
    pages.push(items.map((i) => i[key] as string));
    if (res.body.next_cursor === undefined) return pages;
    cursor = res.body.next_cursor;
  }
  throw new Error('next_cursor never ended');
}

async function withSubscriptions(hub: Hookhub, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const sub = await hub.store.subscriptions.request(`http://127.0.0.1:9/cb${i}`, `topic-${i}`, {
      mode: 'subscribe', leaseSeconds: 600, secret: null, requestedAt: Date.now(), token: `t${i}`,
    });
    ids.push(sub!.id);
  }
  return ids.sort();
}

describe('list paging', () => {
  it('/api/subscriptions pages by id', async () => {
    const hub = await startHub({ apiKey: API_KEY });
    const ids = await withSubscriptions(hub, 5);
    const pages = await allPages(hub, '/api/subscriptions', 'subscriptions', 'id', BEARER);
    expect(pages.flat()).toEqual(ids);
    expect(pages.length).toBe(3);
    const bad = await call<{ error: string }>(`${hub.url}/api/subscriptions?limit=0`, { headers: BEARER });
    expect(bad.status).toBe(400);
  });

  it('/admin/api/subscriptions pages by id', async () => {
    const hub = await startHub({ apiKey: API_KEY, adminPassword: PASSWORD });
    const ids = await withSubscriptions(hub, 3);
    expect((await allPages(hub, '/admin/api/subscriptions', 'subscriptions', 'id', ADMIN)).flat()).toEqual(ids);
  });

  it('/admin/api/topics pages by name, topics with only live consumers included', async () => {
    const hub = await startHub({ apiKey: API_KEY, adminPassword: PASSWORD });
    for (const t of ['d', 'a', 'e', 'b']) await hub.topics.publish(t, { contentType: 'text/plain', body: Buffer.from('x') });
    const consumer = await NdjsonClient.open(`${hub.url}/stream?topic=c`);
    const pages = await allPages(hub, '/admin/api/topics', 'topics', 'topic', ADMIN);
    expect(pages).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    consumer.close();
  });

  it('/admin/api/channels pages by name', async () => {
    const hub = await startHub({ apiKey: API_KEY, adminPassword: PASSWORD });
    for (const name of ['c3', 'c1', 'c2']) {
      const res = await call(`${hub.url}/rest/create_channel`, {
        method: 'POST',
        headers: { ...BEARER, 'content-type': 'application/json' },
        body: JSON.stringify({ channel_name: name }),
      });
      expect(res.body).toEqual([true, {}]);
    }
    expect(await allPages(hub, '/admin/api/channels', 'channels', 'name', ADMIN)).toEqual([['c1', 'c2'], ['c3']]);
  });
});
