// Topics across nodes sharing one Redis: every consumer sees every message of a topic in offset order,
// whichever node it was published on; SSE resumes on another node; history is shared.
import { describe, expect, it } from 'vitest';
import { SseClient } from '../helpers/sse-client.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { deleteKeysUnder, REDIS_URL, redisPrefix, redisProxy } from '../helpers/redis.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { getJson, publish, startNodes } from './nodes.js';

type Line = { topic: string; offset: number; data: unknown };

describe('cluster: topics', () => {
  it('a message published on node A reaches /stream and /sse consumers on node B, in offset order', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    const stream = await NdjsonClient.open(`${b!.url}/stream?topic=news`);
    const sse = new SseClient(`${b!.url}/sse?topic=news`);
    await sse.waitOpen();
    for (const text of ['one', 'two', 'three']) await publish(a!, 'news', JSON.stringify({ text }), 'application/json');
    const lines = (await stream.waitForLines(3)) as Line[];
    expect(lines.map((l) => [l.offset, l.data])).toEqual([[1, { text: 'one' }], [2, { text: 'two' }], [3, { text: 'three' }]]);
    const events = await sse.waitFor(3);
    expect(events.map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(JSON.parse(events[2]!.data)).toMatchObject({ topic: 'news', offset: 3, data: { text: 'three' } });
    stream.close();
    sse.close();
  });

  it('offsets are global per topic when both nodes publish at once: every consumer sees 1..N once, in order', async () => {
    const { nodes } = await startNodes(2);
    const consumers = await Promise.all(nodes.flatMap((n) => [NdjsonClient.open(`${n.url}/stream?topic=race`), NdjsonClient.open(`${n.url}/stream?topic=race`)]));
    const N = 60;
    const answers = await Promise.all(Array.from({ length: N }, (_, i) => publish(nodes[i % 2]!, 'race', `m${i}`)));
    expect(new Set(answers.map((a) => a.id)).size).toBe(N);
    const expected = Array.from({ length: N }, (_, i) => i + 1);
    for (const c of consumers) {
      const lines = (await c.waitForLines(N)) as Line[];
      expect(lines.map((l) => l.offset)).toEqual(expected);
      expect(new Set(lines.map((l) => l.data)).size).toBe(N);
      c.close();
    }
  });

  it('SSE resumes on node B with Last-Event-ID after publishing on node A; history is shared', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    for (let i = 1; i <= 5; i++) await publish(a!, 'resume', `m${i}`);
    const sse = new SseClient(`${b!.url}/sse?topic=resume`, { 'Last-Event-ID': '2' });
    const replayed = await sse.waitFor(3);
    expect(replayed.map((e) => [e.id, (JSON.parse(e.data) as Line).data])).toEqual([['3', 'm3'], ['4', 'm4'], ['5', 'm5']]);
    await publish(a!, 'resume', 'm6');
    const all = await sse.waitFor(4);
    expect(all.map((e) => e.id)).toEqual(['3', '4', '5', '6']);
    sse.close();
    const { body: history } = await getJson<{ messages: Line[] }>(`${b!.url}/api/topics/resume/history?since=4`);
    expect(history.messages.map((m) => [m.offset, m.data])).toEqual([[5, 'm5'], [6, 'm6']]);
  });

  it('a node cut off from Redis for longer than history covers tells its live consumers what they lost (gap)', async () => {
    const prefix = redisPrefix();
    const a = await startHub({ store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix, historySize: 3 });
    const proxy = await redisProxy();
    const b = await startHub({ store: 'redis', redisUrl: proxy.url, redisPrefix: prefix, historySize: 3 });
    const stream = await NdjsonClient.open(`${b.url}/stream?topic=cut`);
    await publish(a, 'cut', 'm1');
    await stream.waitForLines(1);
    await proxy.cut();
    for (let i = 2; i <= 11; i++) await publish(a, 'cut', `m${i}`);
    await proxy.restore();
    await until(async () => ((await getJson(`${b.url}/readyz`).catch(() => ({ status: 0 }))).status === 200 ? true : undefined), 'node B back on Redis');
    // Node B catches up as its subscription comes back (just after /readyz may say ready): the gap, then what
    // history holds. Published before that, m12 would already be in history and the gap would end at 9.
    type Seen = Line & { gap?: { topic: string; from: number; to: number } };
    const shown = (lines: unknown[]): unknown[] => (lines as Seen[]).map((l) => (l.gap ? l.gap : l.offset));
    expect(shown(await stream.waitForLines(5))).toEqual([1, { topic: 'cut', from: 2, to: 8 }, 9, 10, 11]);
    await publish(a, 'cut', 'm12');
    expect(shown(await stream.waitForLines(6))).toEqual([1, { topic: 'cut', from: 2, to: 8 }, 9, 10, 11, 12]);
    stream.close();
  });

  it('Redis losing its data (new epoch, offsets from 1 again): live consumers get a reset, then the new log from 1', async () => {
    const { prefix, nodes: [a, b] } = await startNodes(2);
    const stream = await NdjsonClient.open(`${b!.url}/stream?topic=lost`);
    const sse = new SseClient(`${b!.url}/sse?topic=lost`);
    await sse.waitOpen();
    for (let i = 1; i <= 3; i++) await publish(a!, 'lost', `old ${i}`);
    await stream.waitForLines(3);
    await sse.waitFor(3);
    const oldEpoch = (await a!.topics.bounds('lost')).epoch;
    // What a Redis restarted without persistence looks like to the nodes: every key gone.
    await deleteKeysUnder(prefix);
    await publish(a!, 'lost', 'new 1');
    await publish(a!, 'lost', 'new 2');
    const newEpoch = (await a!.topics.bounds('lost')).epoch;
    expect(newEpoch).not.toBe(oldEpoch);
    const lines = (await stream.waitForLines(6)) as Array<Line & { reset?: unknown }>;
    expect(lines.slice(3)).toEqual([
      { reset: { topic: 'lost', epoch: newEpoch, previousEpoch: oldEpoch, previousOffset: 3 } },
      expect.objectContaining({ offset: 1, data: 'new 1' }),
      expect.objectContaining({ offset: 2, data: 'new 2' }),
    ]);
    await sse.waitFor(5);
    const [reset] = await sse.waitFor(1, 'reset');
    expect(reset).toMatchObject({ id: '0' });
    expect(JSON.parse(reset!.data)).toEqual({ topic: 'lost', epoch: newEpoch, previousEpoch: oldEpoch, previousOffset: 3 });
    expect(sse.events.map((e) => `${e.type} ${e.id}`)).toEqual(['message 1', 'message 2', 'message 3', 'reset 0', 'message 1', 'message 2']);
    stream.close();
    sse.close();
  });
});
