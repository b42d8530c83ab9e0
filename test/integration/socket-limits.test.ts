// Header, body and idle limits on every socket, and the cap on open sockets (--header-timeout,
// --request-timeout, --max-sockets): a trickled request is answered 408 and closed while the
// server keeps serving others, and long-lived responses are not cut by the request timeout.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { call } from '../helpers/http.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

interface RawConnection {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
}

async function open(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, received: () => text, closed };
}

/** Sends the start of a request, then one more byte every `everyMs` until the server hangs up. */
function trickle(conn: RawConnection, head: string, everyMs: number): void {
  conn.socket.write(head);
  const timer = setInterval(() => {
    if (!conn.socket.destroyed) conn.socket.write('a');
  }, everyMs);
  void conn.closed.then(() => clearInterval(timer));
}

const bodyHead = (path: string, contentType: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: 100000\r\n\r\n`;

describe('request timeouts', () => {
  for (const [path, type] of [['/hub', 'application/x-www-form-urlencoded'], ['/rest/publish', 'application/json']] as const) {
    it(`a body trickled to ${path} is answered 408 and closed; others are served meanwhile`, async () => {
      const hub = await startHub({ headerTimeout: 200, requestTimeout: 400 });
      const slow = await open(hub.url);
      trickle(slow, bodyHead(path, type), 50);
      const health = await call(`${hub.url}/healthz`);
      expect(health.status).toBe(200);
      await slow.closed;
      expect(slow.received()).toMatch(/^(HTTP\/1\.1 408|$)/);
      expect((await call(`${hub.url}/healthz`)).status).toBe(200);
    });
  }

  it('headers trickled one byte at a time are answered 408 and closed', async () => {
    const hub = await startHub({ headerTimeout: 200, requestTimeout: 400 });
    const slow = await open(hub.url);
    trickle(slow, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 50);
    await slow.closed;
    expect(slow.received()).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it('a /stream response outlives the request timeout', async () => {
    const hub = await startHub({ headerTimeout: 200, requestTimeout: 400 });
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=long`);
    // A request trickled after the stream opened is timed out: the stream's own request is older.
    const slow = await open(hub.url);
    trickle(slow, bodyHead('/hub', 'application/x-www-form-urlencoded'), 50);
    await slow.closed;
    await hub.topics.publish('long', { contentType: 'text/plain', body: Buffer.from('still here') });
    const [line] = await stream.waitForLines(1);
    expect(line).toMatchObject({ topic: 'long', data: 'still here' });
    stream.close();
  });

  it('an upgraded /ws socket outlives the request timeout', async () => {
    const hub = await startHub({ headerTimeout: 200, requestTimeout: 400 });
    const ws = await HookboxClient.connect(hub.url, { payload: { name: 'patient' } });
    const slow = await open(hub.url);
    trickle(slow, bodyHead('/hub', 'application/x-www-form-urlencoded'), 50);
    await slow.closed;
    ws.send('SUBSCRIBE', { channel_name: 'later' });
    await ws.frame('SUBSCRIBE', (a) => a.channel_name === 'later');
    expect(ws.closeInfo).toBeUndefined();
    ws.close();
  });
});

describe('--max-sockets', () => {
  it('closes connections past the cap at once and accepts again when one closes', async () => {
    const hub = await startHub({ maxSockets: 2 });
    const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const held: RawConnection[] = [];
    for (let i = 0; i < 2; i++) {
      const conn = await open(hub.url);
      conn.socket.write(request);
      await until(() => conn.received().includes('200 OK'), 'a kept-alive answer');
      held.push(conn);
    }
    const extra = await open(hub.url);
    extra.socket.write(request);
    await extra.closed;
    expect(extra.received()).toBe('');

    held[0]!.socket.destroy();
    await held[0]!.closed;
    await until(async () => (await call(`${hub.url}/healthz`).catch(() => ({ status: 0 }))).status === 200, 'a free socket');
    held[1]!.socket.destroy();
  });
});
