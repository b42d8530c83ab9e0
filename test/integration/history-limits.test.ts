// History answers are bounded in bytes (--history-max-bytes) and streamed: a long history comes in
// parts, each ending with next_since, and following next_since reads every message once, in order.
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { call } from '../helpers/http.js';

interface HistoryPage {
  messages: Array<{ offset: number; data: string }>;
  next_since?: number;
}

async function publish(url: string, topic: string, body: string): Promise<void> {
  const res = await call(`${url}/api/topics/${topic}/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
  expect(res.status).toBe(202);
}

describe('GET /api/topics/:topic/history bounds', () => {
  it('stops before --history-max-bytes with next_since, and next_since reads the rest once, in order', async () => {
    const hub = await startHub({ historyMaxBytes: 3000 });
    for (let i = 1; i <= 10; i++) await publish(hub.url, 'big', `${i}:`.padEnd(1000, 'x'));

    const seen: number[] = [];
    let since = 0;
    let parts = 0;
    for (;;) {
      const res = await call<HistoryPage>(`${hub.url}/api/topics/big/history?since=${since}&limit=100`);
      expect(res.status).toBe(200);
      expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(3000);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      parts++;
      seen.push(...res.body.messages.map((m) => m.offset));
      if (res.body.next_since === undefined) break;
      expect(res.body.next_since).toBe(res.body.messages.at(-1)!.offset);
      since = res.body.next_since;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(parts).toBeGreaterThan(3);
  });

  it('a message larger than the bound still comes, alone, so a reader always moves on', async () => {
    const hub = await startHub({ historyMaxBytes: 500 });
    await publish(hub.url, 'huge', 'y'.repeat(2000));
    await publish(hub.url, 'huge', 'z'.repeat(2000));
    const first = (await call<HistoryPage>(`${hub.url}/api/topics/huge/history`)).body;
    expect(first.messages.map((m) => m.offset)).toEqual([1]);
    expect(first.next_since).toBe(1);
    const second = (await call<HistoryPage>(`${hub.url}/api/topics/huge/history?since=1`)).body;
    expect(second.messages.map((m) => m.offset)).toEqual([2]);
    expect(second.next_since).toBeUndefined();
  });

  it('next_since marks a part cut by limit too, and is absent at the end of the history', async () => {
    const hub = await startHub();
    for (let i = 1; i <= 40; i++) await publish(hub.url, 'many', String(i));
    const part = (await call<HistoryPage>(`${hub.url}/api/topics/many/history?since=0&limit=20`)).body;
    expect(part.messages).toHaveLength(20);
    expect(part.next_since).toBe(20);
    const rest = (await call<HistoryPage>(`${hub.url}/api/topics/many/history?since=20&limit=20`)).body;
    expect(rest.messages.map((m) => m.data)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 21)));
    expect(rest.next_since).toBeUndefined();
  });

  it('100 messages of 1 MB: answered 200 within the bound, written in chunks', async () => {
    const hub = await startHub({ historyMaxBytes: 4 * 1024 * 1024, maxBody: 2 * 1024 * 1024 });
    const body = 'm'.repeat(1024 * 1024);
    for (let i = 0; i < 100; i++) await hub.topics.publish('mb', { contentType: 'text/plain', body: Buffer.from(body) });
    const res = await call<HistoryPage>(`${hub.url}/api/topics/mb/history?limit=100`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.body.messages.length).toBeGreaterThan(0);
    expect(res.body.messages.length).toBeLessThan(5);
    expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(res.body.next_since).toBe(res.body.messages.at(-1)!.offset);
  });

  it('a bad topic or query is still a plain 400 before anything is streamed', async () => {
    const hub = await startHub();
    const res = await call<{ error: string }>(`${hub.url}/api/topics/t/history?limit=0`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/limit/);
  });
});

describe('the console topic view bounds', () => {
  it('shows the newest messages up to --history-max-bytes (the newest always) and says it left some out', async () => {
    const hub = await startHub({ historyMaxBytes: 3500, adminPassword: 'pw', historySize: 200 });
    for (let i = 1; i <= 40; i++) await publish(hub.url, 'big', `${i}:`.padEnd(1000, 'x'));
    const auth = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` };
    const view = async (query: string) =>
      (await call<{ messages: Array<{ offset: number }>; truncated?: boolean }>(`${hub.url}/admin/api/topics/big${query}`, { headers: auth })).body;

    const bounded = await view('?limit=1000');
    expect(bounded.messages.map((m) => m.offset)).toEqual([38, 39, 40]);
    expect(bounded.truncated).toBe(true);
    const small = await view('?limit=2');
    expect(small.messages.map((m) => m.offset)).toEqual([39, 40]);
    expect(small.truncated).toBeUndefined();

    await publish(hub.url, 'huge', 'h'.repeat(8000));
    const huge = (await call<{ messages: Array<{ offset: number }> }>(`${hub.url}/admin/api/topics/huge`, { headers: auth })).body;
    expect(huge.messages.map((m) => m.offset)).toEqual([1]);
  });
});
