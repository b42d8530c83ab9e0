// A since-replay larger than --subscriber-buffer reaches a reading consumer whole: the replay reads
// history in pages bounded in bytes and waits for the client to take each part, instead of pushing
// the whole history at once (which dropped the consumer as slow).
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { SseClient } from '../helpers/sse-client.js';

const BODY = 'r'.repeat(100 * 1024);

describe('since-replay of a large history', () => {
  it('/stream: 200 messages of 100 KB replayed to a 1 MB subscriber buffer, all in order', async () => {
    const hub = await startHub({ historySize: 200, subscriberBuffer: 1024 * 1024 });
    for (let i = 0; i < 200; i++) await hub.topics.publish('big', { contentType: 'text/plain', body: Buffer.from(BODY) });
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=big&since=0`);
    const lines = (await client.waitForLines(200, 20_000)) as Array<{ offset: number; data: string }>;
    expect(lines.map((l) => l.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(lines.every((l) => l.data === BODY)).toBe(true);
    await hub.topics.publish('big', { contentType: 'text/plain', body: Buffer.from('live') });
    const [, live] = (await client.waitForLines(201)).slice(199) as Array<{ offset: number; data: string }>;
    expect(live).toMatchObject({ offset: 201, data: 'live' });
    client.close();
  });

  it('/sse: the same replay arrives on the first connection, without a reconnect', async () => {
    const hub = await startHub({ historySize: 200, subscriberBuffer: 1024 * 1024 });
    for (let i = 0; i < 200; i++) await hub.topics.publish('big', { contentType: 'text/plain', body: Buffer.from(BODY) });
    const client = new SseClient(`${hub.url}/sse?topic=big&since=0`);
    const events = await client.waitFor(200, 'message', 20_000);
    expect(events.slice(0, 200).map((e) => Number(e.id))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(client.opened).toBe(1);
    client.close();
  });
});
