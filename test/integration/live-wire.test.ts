// The bytes live consumers get now that /sse, /stream and /ws frame messages themselves (shared
// chunks and frame headers written straight to the socket): read off raw sockets and decoded by the
// protocol's rules, not by a client library that might forgive a mistake.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import type { Hookhub } from '../../src/server.js';

/** A raw connection that keeps every byte it received. */
async function rawRequest(url: string, request: string): Promise<{ socket: Socket; bytes: () => Buffer; ended: () => boolean }> {
  const { port } = new URL(url);
  const socket = connect({ host: '127.0.0.1', port: Number(port) });
  const chunks: Buffer[] = [];
  let ended = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => (ended = true));
  socket.on('close', () => (ended = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(request);
  return { socket, bytes: () => Buffer.concat(chunks), ended: () => ended };
}

/** Splits an HTTP response into its head and, for a chunked body, the chunks' payloads (strictly). */
function parseChunked(all: Buffer): { head: string; chunks: string[]; complete: boolean } {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) return { head: '', chunks: [], complete: false };
  const head = all.subarray(0, end).toString('latin1');
  const chunks: string[] = [];
  let pos = end + 4;
  for (;;) {
    const line = all.indexOf('\r\n', pos);
    if (line < 0) return { head, chunks, complete: false };
    const size = Number.parseInt(all.subarray(pos, line).toString('latin1'), 16);
    if (!Number.isInteger(size)) throw new Error(`bad chunk size line at ${pos}`);
    if (size === 0) return { head, chunks, complete: all.subarray(line, line + 4).toString('latin1') === '\r\n\r\n' };
    const body = line + 2;
    if (all.length < body + size + 2) return { head, chunks, complete: false };
    if (all.subarray(body + size, body + size + 2).toString('latin1') !== '\r\n') throw new Error(`chunk at ${pos} not followed by CRLF`);
    chunks.push(all.subarray(body, body + size).toString('utf8'));
    pos = body + size + 2;
  }
}

const publish = (hub: Hookhub, topic: string, text: string): Promise<unknown> =>
  hub.topics.publish(topic, { contentType: 'text/plain', body: Buffer.from(text) });

describe('live responses on the wire', () => {
  it('HTTP/1.1 /sse: a valid chunked response, one event per chunk in order, and on shutdown the close event then the last chunk', async () => {
    const hub = await startHub();
    const c = await rawRequest(hub.url, 'GET /sse?topic=wire HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await until(() => parseChunked(c.bytes()).chunks.length >= 1, 'the preamble');
    const texts = ['one', 'two ✓', 'x'.repeat(70_000)];
    for (const t of texts) await publish(hub, 'wire', t);
    await until(() => parseChunked(c.bytes()).chunks.length >= 1 + texts.length, 'three events');
    const { head, chunks } = parseChunked(c.bytes());
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.toLowerCase()).toContain('content-type: text/event-stream');
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    expect(chunks[0]).toBe('retry: 2000\n: connected\n\n');
    const events = chunks.slice(1).map((e) => /^id: (\d+)\ndata: (.*)\n\n$/s.exec(e));
    expect(events.map((e) => Number(e?.[1]))).toEqual([1, 2, 3]);
    expect(events.map((e) => (JSON.parse(e?.[2] ?? '{}') as { data: string }).data)).toEqual(texts);

    await hub.close();
    await until(() => parseChunked(c.bytes()).complete, 'the last chunk');
    expect(parseChunked(c.bytes()).chunks.at(-1)).toBe(`event: close\ndata: ${JSON.stringify({ reason: 'server shutting down' })}\n\n`);
    c.socket.destroy();
  });

  it('a request pipelined behind a live /sse response gets no answer inside the stream, which stays valid and live', async () => {
    const hub = await startHub();
    const c = await rawRequest(hub.url, 'GET /sse?topic=piped HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => parseChunked(c.bytes()).chunks.length >= 1, 'the preamble');
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    await publish(hub, 'piped', 'after the pipelined request');
    await until(() => parseChunked(c.bytes()).chunks.length >= 2, 'the event');
    const { chunks } = parseChunked(c.bytes());
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toMatch(/^id: 1\ndata: .*"after the pipelined request"/s);
    expect(c.bytes().toString('latin1').match(/HTTP\/1\.1 /g)).toHaveLength(1);
    c.socket.destroy();
  });

  it('bytes that are not HTTP, sent on a live /sse connection, get no error response inside the stream', async () => {
    const hub = await startHub();
    const c = await rawRequest(hub.url, 'GET /sse?topic=noise HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => parseChunked(c.bytes()).chunks.length >= 1, 'the preamble');
    c.socket.write('\u0000\u0001 this is not HTTP at all\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    await publish(hub, 'noise', 'still live');
    await until(() => parseChunked(c.bytes()).chunks.length >= 2, 'the event');
    expect(parseChunked(c.bytes()).chunks[1]).toMatch(/"still live"/);
    expect(c.bytes().toString('latin1').match(/HTTP\/1\.1 /g)).toHaveLength(1);
    c.socket.destroy();
  });

  it('a client that ends its side of a live /sse connection ends the response: it leaves the fan-out', async () => {
    const hub = await startHub();
    const c = await rawRequest(hub.url, 'GET /sse?topic=halfclose HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => hub.topics.fanout.count('halfclose') === 1, 'subscribed');
    c.socket.end();
    await until(() => hub.topics.fanout.count('halfclose') === 0, 'the consumer gone');
    await until(() => c.ended(), 'the server closed the connection');
    expect(hub.connections.count('sse')).toBe(0);
  });

  it('HTTP/1.0 /stream: the body is the NDJSON lines themselves (no chunk framing), ended with the connection', async () => {
    const hub = await startHub();
    const c = await rawRequest(hub.url, 'GET /stream?topic=old HTTP/1.0\r\nHost: x\r\n\r\n');
    await until(() => c.bytes().includes('\r\n\r\n'), 'the head');
    await publish(hub, 'old', 'a');
    await publish(hub, 'old', 'b');
    await until(() => c.bytes().toString('utf8').split('\n').filter((l) => l.startsWith('{')).length >= 2, 'two lines');
    const all = c.bytes().toString('utf8');
    const body = all.slice(all.indexOf('\r\n\r\n') + 4);
    expect(all.toLowerCase()).not.toContain('transfer-encoding');
    expect(body.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { data: string }).data)).toEqual(['a', 'b']);
    c.socket.destroy();
  });

  it('HEAD /sse: the headers and never a body byte, whatever is published', async () => {
    const hub = await startHub();
    const c = await rawRequest(hub.url, 'HEAD /sse?topic=head HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => c.bytes().includes('\r\n\r\n'), 'the head');
    await publish(hub, 'head', 'not for a HEAD request');
    // A GET on the same topic gets the message: once it has, the HEAD response has had its chance too.
    const g = await rawRequest(hub.url, 'GET /sse?topic=head&since=0 HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => parseChunked(g.bytes()).chunks.some((e) => e.includes('not for a HEAD request')), 'the GET consumer');
    await publish(hub, 'head', 'nor this');
    await until(() => parseChunked(g.bytes()).chunks.some((e) => e.includes('nor this')), 'the second message');
    const all = c.bytes().toString('latin1');
    expect(all).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(all.slice(all.indexOf('\r\n\r\n') + 4)).toBe('');
    c.socket.destroy();
    g.socket.destroy();
  });

  it('/ws: PUBLISH frames of every size class (7-bit, 16-bit and 64-bit lengths) arrive whole and in order', async () => {
    const hub = await startHub();
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'big' } });
    c.send('SUBSCRIBE', { channel_name: 'sizes' });
    await c.frame('SUBSCRIBE', (a) => a.channel_name === 'sizes');
    const payloads = ['s', 'm'.repeat(300), 'l'.repeat(70_000), 'é'.repeat(40)];
    for (const p of payloads) await publish(hub, 'sizes', p);
    await c.frame('PUBLISH', () => true, payloads.length);
    expect(c.all('PUBLISH').map((f) => f[2].payload)).toEqual(payloads);
    // Frame numbers stay per connection, in order.
    const ids = c.all('PUBLISH').map((f) => f[0]);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('hookhub_messages_delivered_total counts every message written to every consumer once (summed per flush)', async () => {
    const hub = await startHub();
    const sse = await Promise.all([0, 1, 2].map(() => rawRequest(hub.url, 'GET /sse?topic=count HTTP/1.1\r\nHost: x\r\n\r\n')));
    const ws = await Promise.all(['a', 'b'].map(async (name) => {
      const c = await HookboxClient.connect(hub.url, { payload: { name } });
      c.send('SUBSCRIBE', { channel_name: 'count' });
      await c.frame('SUBSCRIBE', (a) => a.channel_name === 'count');
      return c;
    }));
    for (const c of sse) await until(() => parseChunked(c.bytes()).chunks.length >= 1, 'the preamble');
    for (let i = 0; i < 5; i++) await publish(hub, 'count', `m${i}`);
    for (const c of sse) await until(() => parseChunked(c.bytes()).chunks.length >= 6, 'five events');
    for (const c of ws) await c.frame('PUBLISH', () => true, 5);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/hookhub_messages_delivered_total\{transport="sse"\} 15\n/);
    // On /ws every frame written counts: 5 PUBLISH + CONNECTED + SUBSCRIBE, per connection.
    expect(metrics).toMatch(/hookhub_messages_delivered_total\{transport="ws"\} 14\n/);
    for (const c of sse) c.socket.destroy();
  });
});
