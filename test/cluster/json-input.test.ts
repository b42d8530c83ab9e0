// Poison messages across nodes sharing one Redis: deep JSON is refused on publish; a message already in
// the log that cannot be encoded again (committed by an older node) reaches every node's consumers as
// text; a consumer that throws inside the Redis pub/sub handler is counted, never fatal to the process.
import { describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { SseClient } from '../helpers/sse-client.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { getJson, publish, startNodes } from './nodes.js';

const DEEP = '['.repeat(6000) + ']'.repeat(6000);

type Line = { topic: string; offset: number; data: unknown };

const fanoutErrors = async (base: string): Promise<number> => {
  const line = (await call(`${base}/metrics`)).text.split('\n').find((l) => l.startsWith('hookhub_fanout_errors_total{stage="consumer"}'));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('cluster: poison JSON', () => {
  it('deep JSON is refused with 400 on any node; nothing reaches the log or the consumers', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    const stream = await NdjsonClient.open(`${b!.url}/stream?topic=deep`);
    const raw = await call(`${a!.url}/api/topics/deep/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: DEEP });
    expect(raw.status).toBe(400);
    const dispatched = await call(`${a!.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"_topic":"deep","a":${DEEP}}` });
    expect(dispatched.status).toBe(400);
    await publish(a!, 'deep', '{"ok":true}', 'application/json');
    expect(((await stream.waitForLines(1)) as Line[]).map((l) => [l.offset, l.data])).toEqual([[1, { ok: true }]]);
    for (const node of [a!, b!]) expect((await getJson(`${node.url}/healthz`)).status).toBe(200);
    stream.close();
  });

  it('a message in the log that cannot be encoded again reaches every node as text; the process stays up', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    b!.topics.openLive('old', { message: () => { throw new Error('broken consumer'); }, gap() {}, reset() {}, overflow() {} });
    const streams = await Promise.all([a!, b!].map((n) => NdjsonClient.open(`${n.url}/stream?topic=old`)));
    const sse = new SseClient(`${b!.url}/sse?topic=old`);
    await sse.waitOpen();

    // As an older node would have committed it: straight into the shared log (and its pub/sub channel).
    await a!.store.topics.append('old', { contentType: 'application/json', body: Buffer.from(DEEP) });
    await publish(a!, 'old', 'after');

    for (const s of streams) {
      expect(((await s.waitForLines(2)) as Line[]).map((l) => [l.offset, l.data])).toEqual([[1, DEEP], [2, 'after']]);
      s.close();
    }
    const events = await sse.waitFor(2);
    expect(JSON.parse(events[0]!.data)).toMatchObject({ offset: 1, data: DEEP });
    sse.close();
    expect(await fanoutErrors(b!.url)).toBe(2);
    const history = await getJson<{ messages: Line[] }>(`${b!.url}/api/topics/old/history?since=0`);
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m) => m.offset)).toEqual([1, 2]);
    for (const node of [a!, b!]) expect((await getJson(`${node.url}/healthz`)).status).toBe(200);
  });
});
