// Producers: /dispatch _topic (form, JSON, multipart) and /api/topics/:topic/publish; history API; bad input.
import { describe, expect, it } from 'vitest';
import { call, postForm, postJson } from '../helpers/http.js';
import { startHub } from '../helpers/server.js';

interface History { messages: Array<{ topic: string; offset: number; id: string; time: string; contentType: string; data: unknown; encoding?: string }> }

describe('publishing to topics', () => {
  it('/dispatch _topic with a form body keeps the form fields as the payload', async () => {
    const hub = await startHub();
    const res = await postForm(`${hub.url}/dispatch`, '_topic=orders&item=book&qty=2&tag=a&tag=b');
    expect(res.status).toBe(202);
    const { id } = res.body as { id: string };
    expect(id).toMatch(/\S+/);
    const history = (await call<History>(`${hub.url}/api/topics/orders/history`)).body;
    expect(history.messages).toHaveLength(1);
    const m = history.messages[0]!;
    expect(m).toMatchObject({ topic: 'orders', offset: 1, id, contentType: 'application/x-www-form-urlencoded', data: { item: 'book', qty: '2', tag: ['a', 'b'] } });
    expect(Date.parse(m.time)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('/dispatch _topic with JSON keeps JSON values', async () => {
    const hub = await startHub();
    const res = await postJson(`${hub.url}/dispatch`, { _topic: 't', n: 1, nested: { ok: true }, list: [1, 2] });
    expect(res.status).toBe(202);
    const { messages } = (await call<History>(`${hub.url}/api/topics/t/history`)).body;
    expect(messages[0]).toMatchObject({ contentType: 'application/json', data: { n: 1, nested: { ok: true }, list: [1, 2] } });
  });

  it('/dispatch _topic with multipart fields', async () => {
    const hub = await startHub();
    const form = new FormData();
    form.append('_topic', 'mp');
    form.append('greeting', 'hello');
    const res = await call(`${hub.url}/dispatch`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const { messages } = (await call<History>(`${hub.url}/api/topics/mp/history`)).body;
    expect(messages[0]!.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(String(messages[0]!.data)).toContain('name="greeting"');
    expect(String(messages[0]!.data)).not.toContain('_topic');
  });

  it('/api/topics/:topic/publish takes any raw body; binary comes back as base64', async () => {
    const hub = await startHub();
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x10]);
    const res = await call(`${hub.url}/api/topics/bin/publish`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ offset: 1 });
    await call(`${hub.url}/api/topics/bin/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'plain text' });
    const { messages } = (await call<History>(`${hub.url}/api/topics/bin/history`)).body;
    expect(messages[0]).toMatchObject({ encoding: 'base64', data: bytes.toString('base64'), contentType: 'application/octet-stream' });
    expect(messages[1]).toMatchObject({ data: 'plain text', contentType: 'text/plain' });
    expect(messages[1]!.encoding).toBeUndefined();
  });

  it('topic names with slashes and URLs work when encoded in the path', async () => {
    const hub = await startHub();
    const topic = 'https://example.com/feed?x=1';
    const res = await call(`${hub.url}/api/topics/${encodeURIComponent(topic)}/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(res.status).toBe(202);
    const { messages } = (await call<History>(`${hub.url}/api/topics/${encodeURIComponent(topic)}/history`)).body;
    expect(messages[0]!.topic).toBe(topic);
  });

  it('history keeps the last --history-size messages and pages with since/limit', async () => {
    const hub = await startHub({ historySize: 5 });
    for (let i = 1; i <= 8; i++) await call(`${hub.url}/api/topics/h/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `m${i}` });
    const all = (await call<History>(`${hub.url}/api/topics/h/history`)).body.messages;
    expect(all.map((m) => m.offset)).toEqual([4, 5, 6, 7, 8]);
    const page = (await call<History>(`${hub.url}/api/topics/h/history?since=5&limit=2`)).body.messages;
    expect(page.map((m) => m.data)).toEqual(['m6', 'm7']);
  });

  describe('bad input', () => {
    it.each([
      ['neither _url nor _topic', '_foo=1&a=2', /_url or _topic/],
      ['an empty topic', '_topic=&a=1', /topic is required/],
      ['a topic over 256 characters', `_topic=${'x'.repeat(257)}`, /longer than 256/],
      ['a topic with control characters', '_topic=a%0Ab', /control characters/],
    ])('/dispatch with %s → 400 and nothing published', async (_name, body, error) => {
      const hub = await startHub();
      const res = await postForm(`${hub.url}/dispatch`, body);
      expect(res.status).toBe(400);
      expect((res.body as { error: string }).error).toMatch(error);
      expect((await call<{ topics: unknown[] }>(`${hub.url}/api/topics`)).body.topics).toEqual([]);
    });

    it('malformed JSON and non-object JSON → 400', async () => {
      const hub = await startHub();
      const bad = await call(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"_topic": "t",' });
      expect(bad.status).toBe(400);
      expect((bad.body as { error: string }).error).toMatch(/malformed JSON/);
      const list = await postJson(`${hub.url}/dispatch`, ['_topic', 't']);
      expect(list.status).toBe(400);
      expect((list.body as { error: string }).error).toMatch(/must be an object/);
    });

    it('an unsupported content type on /dispatch → 415', async () => {
      const hub = await startHub();
      const res = await call(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' });
      expect(res.status).toBe(415);
    });

    it('a body over --max-body → 413 and the server keeps serving', async () => {
      const hub = await startHub({ maxBody: 1024 });
      const big = await call(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(4096) });
      expect(big.status).toBe(413);
      expect((big.body as { error: string }).error).toMatch(/larger than 1024/);
      const dispatch = await postForm(`${hub.url}/dispatch`, `_topic=t&x=${'y'.repeat(2000)}`);
      expect(dispatch.status).toBe(413);
      const ok = await call(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'small' });
      expect(ok.status).toBe(202);
      expect((await call<History>(`${hub.url}/api/topics/t/history`)).body.messages.map((m) => m.data)).toEqual(['small']);
    });

    it('bad history parameters → 400', async () => {
      const hub = await startHub();
      expect((await call(`${hub.url}/api/topics/t/history?since=abc`)).status).toBe(400);
      expect((await call(`${hub.url}/api/topics/t/history?limit=0`)).status).toBe(400);
    });

    it('--api-key guards producers (constant-time Bearer) but not /healthz', async () => {
      const hub = await startHub({ apiKey: 'sekrit' });
      expect((await postForm(`${hub.url}/dispatch`, '_topic=t&a=1')).status).toBe(401);
      expect((await postForm(`${hub.url}/dispatch`, '_topic=t&a=1', { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await postForm(`${hub.url}/dispatch`, '_topic=t&a=1', { authorization: 'Bearer sekrit' })).status).toBe(202);
      expect((await call(`${hub.url}/api/topics/t/history`)).status).toBe(401);
      expect((await call(`${hub.url}/healthz`)).status).toBe(200);
    });
  });
});
