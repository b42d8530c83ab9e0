// GET /sse: Server-Sent Events with offsets as ids, resume from history, explicit gaps.
import { describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { until } from '../helpers/wait.js';

const publish = (url: string, topic: string, body: string, type = 'text/plain') =>
  call(`${url}/api/topics/${encodeURIComponent(topic)}/publish`, { method: 'POST', headers: { 'content-type': type }, body });

describe('/sse', () => {
  it('on shutdown, what was queued goes out first, then event: close with the reason', async () => {
    const hub = await startHub();
    const client = new SseClient(`${hub.url}/sse?topic=t`);
    await client.waitOpen();
    await until(() => hub.topics.fanout.count('t') === 1, 'subscribed');
    await hub.topics.publish('t', { contentType: 'text/plain', body: Buffer.from('last') });
    // Same turn: the message is still queued when the connection is shut down.
    hub.connections.shutdownAll();
    const close = await until(() => client.events.find((e) => e.type === 'close'), 'close event');
    expect(JSON.parse(close.data)).toEqual({ reason: 'server shutting down' });
    expect(client.events.map((e) => e.type).slice(0, 2)).toEqual(['message', 'close']);
    expect(client.messages()[0]?.json).toMatchObject({ topic: 't', data: 'last' });
    client.close();
  });

  it('sends headers at once and each message as an event whose id is its offset', async () => {
    const hub = await startHub();
    const res = await fetch(`${hub.url}/sse?topic=t`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await res.body?.cancel();

    const client = new SseClient(`${hub.url}/sse?topic=t`);
    await client.waitOpen();
    await until(() => hub.topics.fanout.count('t') === 1, 'subscribed');
    await publish(hub.url, 't', '{"n":1}', 'application/json');
    await publish(hub.url, 't', 'two');
    await client.waitFor(2);
    expect(client.messages()).toEqual([
      { id: '1', json: expect.objectContaining({ topic: 't', offset: 1, data: { n: 1 }, contentType: 'application/json' }) },
      { id: '2', json: expect.objectContaining({ topic: 't', offset: 2, data: 'two' }) },
    ]);
    client.close();
  });

  it('resumes with Last-Event-ID: exactly the missed messages, in order, then live', async () => {
    const hub = await startHub();
    for (let i = 1; i <= 5; i++) await publish(hub.url, 'r', `m${i}`);
    const client = new SseClient(`${hub.url}/sse?topic=r`, { 'Last-Event-ID': '2' });
    await client.waitFor(3);
    await publish(hub.url, 'r', 'm6');
    await client.waitFor(4);
    expect(client.messages().map((m) => [m.id, m.json.data])).toEqual([['3', 'm3'], ['4', 'm4'], ['5', 'm5'], ['6', 'm6']]);
    client.close();
  });

  it('a multi-topic stream carries every topic\'s position from the first event on: nothing is lost over two outages', async () => {
    const hub = await startHub();
    const client = new SseClient(`${hub.url}/sse?topic=orders&topic=invoices`);
    await client.waitOpen();
    await publish(hub.url, 'invoices', 'invoice 1');
    await client.waitFor(1);
    // Outage 1: orders are published meanwhile and replayed on reconnect.
    client.cut();
    for (let i = 1; i <= 6; i++) await publish(hub.url, 'orders', `order ${i}`);
    client.restore();
    await client.waitFor(7);
    // Outage 2, right after the replay: an invoice is published meanwhile.
    client.cut();
    await publish(hub.url, 'invoices', 'invoice 2');
    client.restore();
    await client.waitFor(8);
    expect(client.lastEventIds).toEqual([undefined, 'orders=0&invoices=1', 'orders=6&invoices=1']);
    expect(client.messages().map((m) => [m.id, m.json.data])).toEqual([
      ['orders=0&invoices=1', 'invoice 1'],
      ...[1, 2, 3, 4, 5, 6].map((i) => [`orders=${i}&invoices=1`, `order ${i}`]),
      ['orders=6&invoices=2', 'invoice 2'],
    ]);
    client.close();
  });

  it('a Last-Event-ID past the head means the topic log began again: event reset, then the new log from 1', async () => {
    const hub = await startHub();
    await publish(hub.url, 'fresh', 'new 1');
    await publish(hub.url, 'fresh', 'new 2');
    const epoch = (await hub.topics.bounds('fresh')).epoch;
    const client = new SseClient(`${hub.url}/sse?topic=fresh`, { 'Last-Event-ID': '5' });
    await client.waitFor(2);
    expect(client.events.map((e) => [e.type, e.id])).toEqual([['reset', '0'], ['message', '1'], ['message', '2']]);
    expect(JSON.parse(client.events[0]!.data)).toEqual({ topic: 'fresh', epoch, previousOffset: 5 });
    client.close();
  });

  it('?epochs=1: ids and data carry the epoch; a resume from another epoch is reset even when its offset exists', async () => {
    const hub = await startHub();
    for (let i = 1; i <= 4; i++) await publish(hub.url, 'e', `m${i}`);
    const epoch = (await hub.topics.bounds('e')).epoch;
    const same = new SseClient(`${hub.url}/sse?topic=e&epochs=1`, { 'Last-Event-ID': `3_${epoch}` });
    await same.waitFor(1);
    expect(same.messages()).toEqual([{ id: `4_${epoch}`, json: expect.objectContaining({ offset: 4, data: 'm4', epoch }) }]);
    same.close();
    // Offset 2 of an earlier log (e.g. before a restart of a memory store): the whole new log, after a reset.
    const other = new SseClient(`${hub.url}/sse?topic=e&epochs=1`, { 'Last-Event-ID': '2_0ld0ld00' });
    await other.waitFor(4);
    expect(other.events.map((e) => [e.type, e.id])).toEqual([
      ['reset', `0_${epoch}`], ['message', `1_${epoch}`], ['message', `2_${epoch}`], ['message', `3_${epoch}`], ['message', `4_${epoch}`],
    ]);
    expect(JSON.parse(other.events[0]!.data)).toEqual({ topic: 'e', epoch, previousEpoch: '0ld0ld00', previousOffset: 2 });
    other.close();
    // Several topics: every offset with its epoch; a topic with no log yet has none.
    const multi = new SseClient(`${hub.url}/sse?topic=e&topic=empty&epochs=1`, { 'Last-Event-ID': `e=3_${epoch}&empty=0` });
    await multi.waitFor(1);
    expect(multi.messages().map((m) => m.id)).toEqual([`e=4_${epoch}&empty=0`]);
    multi.close();
  });

  it('an epoch that is not letters and digits is a 400', async () => {
    const hub = await startHub();
    const res = await call(`${hub.url}/sse?topic=t`, { headers: { 'Last-Event-ID': '3_no-way' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'bad_offset' });
  });

  it('resumes with ?since= too', async () => {
    const hub = await startHub();
    for (let i = 1; i <= 3; i++) await publish(hub.url, 'q', `m${i}`);
    const client = new SseClient(`${hub.url}/sse?topic=q&since=1`);
    await client.waitFor(2);
    expect(client.messages().map((m) => m.id)).toEqual(['2', '3']);
    client.close();
  });

  it('reports a gap that history cannot fill, never silently', async () => {
    const hub = await startHub({ historySize: 2 });
    for (let i = 1; i <= 6; i++) await publish(hub.url, 'g', `m${i}`);
    const client = new SseClient(`${hub.url}/sse?topic=g`, { 'Last-Event-ID': '1' });
    const [gap] = await client.waitFor(1, 'gap');
    expect(JSON.parse(gap!.data)).toEqual({ topic: 'g', from: 2, to: 4 });
    expect(gap!.id).toBe('4');
    await client.waitFor(2);
    expect(client.messages().map((m) => m.id)).toEqual(['5', '6']);
    expect(client.events.map((e) => e.type)).toEqual(['gap', 'message', 'message']);
    client.close();
  });

  it('reconnects after a server restart and recovers what it missed (sqlite)', async () => {
    const dataDir = tempDir();
    const first = await startHub({ store: 'sqlite', dataDir });
    const port = Number(new URL(first.url).port);
    const client = new SseClient(`${first.url}/sse?topic=live`);
    await client.waitOpen();
    await until(() => first.topics.fanout.count('live') === 1, 'subscribed');
    await publish(first.url, 'live', 'before-1');
    await publish(first.url, 'live', 'before-2');
    await client.waitFor(2);
    await stopHub(first);
    const second = await startHub({ store: 'sqlite', dataDir, port });
    // The test's own keep-alive sockets to the old process die with it; wait until fetch uses fresh ones.
    await until(() => fetch(`${second.url}/healthz`).then((r) => r.ok, () => false), 'the restarted server answering');
    for (const text of ['missed-3', 'missed-4']) await publish(second.url, 'live', text);
    await client.waitOpen(2);
    await publish(second.url, 'live', 'live-5');
    await client.waitFor(5);
    expect(client.messages().map((m) => [m.id, m.json.data])).toEqual([
      ['1', 'before-1'], ['2', 'before-2'], ['3', 'missed-3'], ['4', 'missed-4'], ['5', 'live-5'],
    ]);
    client.close();
  });

  it('uses per-topic positions as the id of a multi-topic stream, and resumes from them', async () => {
    const hub = await startHub();
    const client = new SseClient(`${hub.url}/sse?topic=a&topic=b`);
    await client.waitOpen();
    await until(() => hub.topics.fanout.count('b') === 1, 'subscribed');
    await publish(hub.url, 'a', 'a1');
    await publish(hub.url, 'b', 'b1');
    await client.waitFor(2);
    const ids = client.messages().map((m) => m.id);
    expect(ids).toEqual(['a=1&b=0', 'a=1&b=1']);
    client.close();
    await publish(hub.url, 'a', 'a2');
    await publish(hub.url, 'b', 'b2');
    const resumed = new SseClient(`${hub.url}/sse?topic=a&topic=b`, { 'Last-Event-ID': ids[1]! });
    await resumed.waitFor(2);
    expect(resumed.messages().map((m) => m.json.data)).toEqual(['a2', 'b2']);
    resumed.close();
  });

  describe('bad input', () => {
    it('a Last-Event-ID that is not a number → 400', async () => {
      const hub = await startHub();
      const res = await call(`${hub.url}/sse?topic=t`, { headers: { 'Last-Event-ID': 'abc' } });
      expect(res.status).toBe(400);
      expect((res.body as { error: string }).error).toMatch(/Last-Event-ID must be a message offset/);
    });

    it('a missing topic → 400', async () => {
      const hub = await startHub();
      const res = await call(`${hub.url}/sse`);
      expect(res.status).toBe(400);
    });
  });
});
