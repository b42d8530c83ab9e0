// GET /stream: chunked NDJSON fed by every producer.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { call, postForm } from '../helpers/http.js';
import { startHub } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';

const publish = (url: string, topic: string, body: string, type = 'text/plain') =>
  call(`${url}/api/topics/${encodeURIComponent(topic)}/publish`, { method: 'POST', headers: { 'content-type': type }, body });

describe('/stream', () => {
  it('answers headers at once, then streams messages from every producer in offset order', async () => {
    const hub = await startHub();
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=news`);
    expect(client.res.statusCode).toBe(200);
    expect(client.res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(client.res.headers['transfer-encoding']).toBe('chunked');
    await publish(hub.url, 'news', '{"headline":"one"}', 'application/json');
    await postForm(`${hub.url}/dispatch`, '_topic=news&headline=two');
    await publish(hub.url, 'other', 'not for us');
    const lines = (await client.waitForLines(2)) as Array<Record<string, unknown>>;
    expect(lines).toEqual([
      expect.objectContaining({ topic: 'news', offset: 1, contentType: 'application/json', data: { headline: 'one' } }),
      expect.objectContaining({ topic: 'news', offset: 2, contentType: 'application/x-www-form-urlencoded', data: { headline: 'two' } }),
    ]);
    expect(Object.keys(lines[0]!).sort()).toEqual(['contentType', 'data', 'id', 'offset', 'time', 'topic']);
    client.close();
  });

  it('streams several topics on one connection', async () => {
    const hub = await startHub();
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=a&topic=b`);
    await publish(hub.url, 'a', 'a1');
    await publish(hub.url, 'b', 'b1');
    await publish(hub.url, 'c', 'c1');
    await publish(hub.url, 'a', 'a2');
    const lines = (await client.waitForLines(3)) as Array<{ topic: string; data: string }>;
    expect(lines.map((l) => `${l.topic}:${l.data}`)).toEqual(['a:a1', 'b:b1', 'a:a2']);
    client.close();
  });

  it('fans out to many consumers, each in order', async () => {
    const hub = await startHub();
    const clients = await Promise.all(Array.from({ length: 20 }, () => NdjsonClient.open(`${hub.url}/stream?topic=fan`)));
    for (let i = 1; i <= 50; i++) await publish(hub.url, 'fan', String(i));
    for (const c of clients) {
      const lines = (await c.waitForLines(50)) as Array<{ offset: number }>;
      expect(lines.map((l) => l.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      c.close();
    }
  });

  it('replays from ?since= and reports a gap history cannot fill', async () => {
    const hub = await startHub({ historySize: 3 });
    for (let i = 1; i <= 6; i++) await publish(hub.url, 'r', `m${i}`);
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=r&since=1`);
    const lines = (await client.waitForLines(4)) as Array<Record<string, unknown>>;
    expect(lines[0]).toEqual({ gap: { topic: 'r', from: 2, to: 3 } });
    expect(lines.slice(1).map((l) => l.offset)).toEqual([4, 5, 6]);
    client.close();
  });

  it('sends a heartbeat newline when idle', async () => {
    const hub = await startHub({ heartbeat: 150 });
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=quiet`);
    await until(() => client.heartbeats >= 2, 'two heartbeats', 3000);
    client.close();
  });

  it('?epochs=1 puts the epoch in each line; ?since= from another epoch gets a reset line, then the new log', async () => {
    const hub = await startHub();
    for (let i = 1; i <= 2; i++) await publish(hub.url, 'ep', `m${i}`);
    const epoch = (await hub.topics.bounds('ep')).epoch;
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=ep&epochs=1&since=2_beef0000`);
    const lines = await client.waitForLines(3);
    expect(lines).toEqual([
      { reset: { topic: 'ep', epoch, previousEpoch: 'beef0000', previousOffset: 2 } },
      expect.objectContaining({ offset: 1, data: 'm1', epoch }),
      expect.objectContaining({ offset: 2, data: 'm2', epoch }),
    ]);
    client.close();
    // Without ?epochs=1 the message lines keep the documented shape.
    const plain = await NdjsonClient.open(`${hub.url}/stream?topic=ep&since=1`);
    const [line] = (await plain.waitForLines(1)) as Array<Record<string, unknown>>;
    expect(Object.keys(line!)).toEqual(['topic', 'offset', 'id', 'time', 'contentType', 'data']);
    plain.close();
  });

  it('an unknown Accept header still gets NDJSON', async () => {
    const hub = await startHub();
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=x`, { accept: 'application/xml' });
    expect(client.res.statusCode).toBe(200);
    expect(client.res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    client.close();
  });

  it('drops a consumer that stops reading, without slowing the others', async () => {
    const hub = await startHub({ subscriberBuffer: 64 * 1024 });
    const port = new URL(hub.url).port;
    // A raw socket that sends the request and never reads: the kernel buffers fill, then ours.
    const stalled = connect(Number(port), '127.0.0.1');
    stalled.on('error', () => {});
    stalled.write(`GET /stream?topic=flood HTTP/1.1\r\nHost: x\r\n\r\n`);
    stalled.pause();
    const healthy = await NdjsonClient.open(`${hub.url}/stream?topic=flood`);
    await until(() => hub.topics.fanout.count('flood') === 2, 'both consumers subscribed');
    const payload = 'z'.repeat(16 * 1024);
    const total = 400; // ~6.5 MB: far beyond kernel buffers + 64 KiB
    for (let i = 0; i < total; i++) {
      await hub.topics.publish('flood', { contentType: 'text/plain', body: Buffer.from(payload) });
      await new Promise((r) => setImmediate(r)); // let the healthy reader (same process) read, as real publishers do
    }
    await until(() => hub.topics.fanout.count('flood') === 1, 'the stalled consumer dropped');
    const lines = await healthy.waitForLines(total, 20_000);
    expect(lines).toHaveLength(total);
    const metrics = (await call(`${hub.url}/metrics`)).text;
    expect(metrics).toMatch(/hookhub_consumers_dropped_total\{transport="stream",reason="slow"\} 1/);
    healthy.close();
    stalled.destroy();
  });

  describe('bad input', () => {
    it.each([
      ['no topic', '/stream', /topic is required/],
      ['an empty topic', '/stream?topic=', /topic is required/],
      ['a topic over 256 characters', `/stream?topic=${'t'.repeat(257)}`, /longer than 256/],
      ['a control character', '/stream?topic=a%07b', /control characters/],
      ['a non-numeric since', '/stream?topic=a&since=yesterday', /offset/],
    ])('%s → 400 JSON error', async (_name, path, error) => {
      const hub = await startHub();
      const res = await call(`${hub.url}${path}`);
      expect(res.status).toBe(400);
      expect((res.body as { error: string }).error).toMatch(error);
    });

    it('--stream-key is required as ?key= or Bearer when set', async () => {
      const hub = await startHub({ streamKey: 'k1' });
      expect((await call(`${hub.url}/stream?topic=a`)).status).toBe(401);
      expect((await call(`${hub.url}/sse?topic=a&key=nope`)).status).toBe(401);
      const byQuery = await NdjsonClient.open(`${hub.url}/stream?topic=a&key=k1`);
      expect(byQuery.res.statusCode).toBe(200);
      byQuery.close();
      const byBearer = await NdjsonClient.open(`${hub.url}/stream?topic=a`, { authorization: 'Bearer k1' });
      expect(byBearer.res.statusCode).toBe(200);
      byBearer.close();
    });

    it('--max-connections answers 503 past the limit', async () => {
      const hub = await startHub({ maxConnections: 2 });
      const a = await NdjsonClient.open(`${hub.url}/stream?topic=a`);
      const b = await NdjsonClient.open(`${hub.url}/stream?topic=a`);
      const res = await call(`${hub.url}/stream?topic=a`);
      expect(res.status).toBe(503);
      a.close();
      await until(() => hub.connections.size === 1, 'a connection released');
      const c = await NdjsonClient.open(`${hub.url}/stream?topic=a`);
      expect(c.res.statusCode).toBe(200);
      b.close();
      c.close();
    });
  });
});
