// Fan-out frames each message once and writes the same bytes to every consumer: read off raw sockets,
// every /sse consumer's body is byte for byte the others', and every /ws connection's PUBLISH frame is
// the others' but for its own frame number (Hookbox numbers frames per connection). A consumer that
// stops reading is dropped with its reason while the others get every message, once, in order.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientTextFrame } from '../helpers/ws-client-frame.js';
import { startHub as startWith } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import type { Hookhub } from '../../src/server.js';
import type { Config } from '../../src/config.js';
import { sendPath, useIoUring } from '../../src/core/send-batch.js';

/** What this machine gives with --io-uring on: 'io_uring', or why not (a kernel or build without it). */
useIoUring(true);
const usable = sendPath();

interface Raw {
  socket: Socket;
  bytes(): Buffer;
}

async function raw(url: string, request: string): Promise<Raw> {
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(request);
  return { socket, bytes: () => Buffer.concat(chunks) };
}

/** The body of an HTTP response: what follows the head. */
function body(all: Buffer): Buffer {
  const end = all.indexOf('\r\n\r\n');
  return end < 0 ? Buffer.alloc(0) : all.subarray(end + 4);
}

/** Server frames after the handshake, strictly: unmasked, final, text; each as its raw bytes and text. */
function serverFrames(all: Buffer): Array<{ wire: Buffer; text: string }> {
  const frames: Array<{ wire: Buffer; text: string }> = [];
  let pos = all.indexOf('\r\n\r\n') + 4;
  while (pos + 2 <= all.length) {
    const b0 = all[pos] as number;
    const b1 = all[pos + 1] as number;
    expect(b0).toBe(0x81);
    expect(b1 & 0x80).toBe(0);
    let len = b1 & 0x7f;
    let at = pos + 2;
    if (len === 126) {
      if (all.length < at + 2) break;
      len = all.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (all.length < at + 8) break;
      len = Number(all.readBigUInt64BE(at));
      at += 8;
    }
    if (all.length < at + len) break;
    frames.push({ wire: all.subarray(pos, at + len), text: all.subarray(at, at + len).toString('utf8') });
    pos = at + len;
  }
  return frames;
}

async function hookboxUser(hub: Hookhub, name: string, channel: string): Promise<Raw> {
  const c = await raw(hub.url, `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await until(() => c.bytes().includes('\r\n\r\n'), 'the handshake');
  expect(c.bytes().toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
  c.socket.write(clientTextFrame(JSON.stringify([1, 'CONNECT', { payload: { name } }])));
  c.socket.write(clientTextFrame(JSON.stringify([2, 'SUBSCRIBE', { channel_name: channel }])));
  await until(() => serverFrames(c.bytes()).some((f) => f.text.includes('"SUBSCRIBE"')), `${name} subscribed`);
  return c;
}

const publish = (hub: Hookhub, topic: string, text: string): Promise<unknown> =>
  hub.topics.publish(topic, { contentType: 'text/plain', body: Buffer.from(text) });

/** Short, 16-bit and 64-bit length classes, multibyte text, published back to back (one turn: a batch). */
const TEXTS = ['one', 'two ✓', 'm'.repeat(300), 'l'.repeat(70_000), 'last'];

// Both ways to the kernel: a flush's sends gathered into one io_uring call, and one write per consumer.
describe.each([true, false])('fan-out on the wire: one framing, the same bytes for every consumer (--io-uring %s)', (ioUring) => {
  const startHub = (overrides: Partial<Config> = {}): Promise<Hookhub> => startWith({ ioUring, ...overrides });

  it('writes through the path asked for', async () => {
    await startHub();
    if (ioUring) expect(sendPath()).toBe(usable);
    else expect(sendPath()).toBe('write(2): --io-uring 0');
  });

  it('/sse: every consumer gets byte-identical bodies (chunk framing included), every message once and in order', async () => {
    const hub = await startHub();
    const consumers = await Promise.all(Array.from({ length: 8 }, () => raw(hub.url, 'GET /sse?topic=same HTTP/1.1\r\nHost: x\r\n\r\n')));
    await until(() => hub.topics.fanout.count('same') === consumers.length, 'all subscribed');
    await Promise.all(TEXTS.map((t) => publish(hub, 'same', t)));
    for (const t of TEXTS) await publish(hub, 'same', `${t.slice(0, 10)} again`);
    const lastOf = (c: Raw): boolean => body(c.bytes()).toString('utf8').includes('"last again"');
    await until(() => consumers.every(lastOf), 'every consumer has the last message');
    const first = body((consumers[0] as Raw).bytes());
    for (const c of consumers) expect(body(c.bytes()).equals(first)).toBe(true);
    const ids = [...first.toString('utf8').matchAll(/\nid: (\d+)\n/g)].map((m) => Number(m[1]));
    expect(ids).toEqual([...Array(TEXTS.length * 2).keys()].map((i) => i + 1));
    for (const c of consumers) c.socket.destroy();
  });

  it('/ws: every connection gets the same PUBLISH frames but for its own frame number, every one once and in order', async () => {
    const hub = await startHub();
    const users = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => hookboxUser(hub, n, 'same')));
    const before = users.map((u) => serverFrames(u.bytes()).length);
    await Promise.all(TEXTS.map((t) => publish(hub, 'same', t)));
    const publishes = (u: Raw, i: number): Array<{ wire: Buffer; text: string }> => serverFrames(u.bytes()).slice(before[i]);
    await until(() => users.every((u, i) => publishes(u, i).length === TEXTS.length), 'every PUBLISH everywhere');
    const expected = publishes(users[0] as Raw, 0);
    expect(expected.map((f) => (JSON.parse(f.text) as [number, string, { payload: unknown }])[2].payload)).toEqual(TEXTS);
    users.forEach((u, i) => {
      const got = publishes(u, i);
      got.forEach((f, k) => {
        const [id, name] = JSON.parse(f.text) as [number, string];
        expect(name).toBe('PUBLISH');
        // Past `[<frame number>` the frame's text is the shared tail, identical everywhere.
        const shared = (x: string): string => x.slice(x.indexOf(','));
        expect(shared(f.text)).toBe(shared((expected[k] as { text: string }).text));
        expect(f.text.startsWith(`[${id},`)).toBe(true);
      });
      // Frame numbers are per connection and rise by one.
      const ids = got.map((f) => (JSON.parse(f.text) as [number])[0]);
      expect(ids).toEqual(ids.map((_, k) => (ids[0] as number) + k));
    });
    for (const u of users) u.socket.destroy();
  });

  it('/sse: a consumer that stops reading is dropped as slow (counted with its reason); the others get every message', async () => {
    const hub = await startHub({ subscriberBuffer: 64 * 1024 });
    const stalled = await raw(hub.url, 'GET /sse?topic=flood HTTP/1.1\r\nHost: x\r\n\r\n');
    stalled.socket.pause();
    const healthy = await Promise.all([0, 1, 2].map(() => raw(hub.url, 'GET /sse?topic=flood HTTP/1.1\r\nHost: x\r\n\r\n')));
    await until(() => hub.topics.fanout.count('flood') === 4, 'all subscribed');
    const total = 300; // 16 KiB each: far beyond the kernel's buffers and 64 KiB
    for (let i = 0; i < total; i++) {
      await publish(hub, 'flood', `${i}:${'z'.repeat(16 * 1024)}`);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => hub.topics.fanout.count('flood') === 3, 'the stalled consumer dropped');
    const ids = (c: Raw): number[] => [...body(c.bytes()).toString('latin1').matchAll(/\nid: (\d+)\n/g)].map((m) => Number(m[1]));
    await until(() => healthy.every((c) => ids(c).length === total), 'every message to every healthy consumer', 20_000);
    for (const c of healthy) expect(ids(c)).toEqual([...Array(total).keys()].map((i) => i + 1));
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/hookhub_consumers_dropped_total\{transport="sse",reason="slow"\} 1\n/);
    for (const c of [stalled, ...healthy]) c.socket.destroy();
  });
});
