// One load-generator process of the fan-out bench (bench/fanout.ts forks several). Raw TCP sockets:
// an HTTP GET (event streams) or a WebSocket handshake (+ the Hookbox frames to send once open), then
// every received byte is scanned for the bench's payload marker `#T<µs since epoch>;` — one marker per
// event, whatever the framing — so a delivery is counted by its own bytes, never by a parser of ours
// that could cost more than the server's work. It reports its own CPU so the bench can show it is not
// the bottleneck. Driven over IPC by the parent; never writes to stdout.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { clientTextFrame } from '../test/helpers/ws-client-frame.js';

export interface GenTarget {
  port: number;
  path: string;
  kind: 'http' | 'ws';
  /** WebSocket text frames to send once the handshake is answered (Hookbox CONNECT + SUBSCRIBE). */
  hello: string[];
}

export type GenCommand =
  | { type: 'open'; target: GenTarget; count: number }
  | { type: 'reset'; latencies: boolean }
  | { type: 'report' }
  | { type: 'close' };

export interface GenReport {
  type: 'report';
  sockets: number;
  /** Sockets that closed or failed since they were opened. */
  lost: number;
  /** Sockets that have seen at least one marker since they opened (warm-up: subscribed). */
  warmed: number;
  deliveries: number;
  minPerSocket: number;
  maxPerSocket: number;
  /** Epoch ms of the last counted delivery (0: none). */
  lastAt: number;
  /** This process's CPU time (user + system) and wall time since the last reset. */
  cpuMs: number;
  wallMs: number;
  latenciesMs: number[];
  /** Each latency's message (its marker, µs since epoch), in the same order: where the receipts of one message fall. */
  markersUs: number[];
}

const MARK = Buffer.from('#T');
const SEMI = 0x3b;
const now = (): number => performance.timeOrigin + performance.now();

/** One consumer: counts the markers in its byte stream (a marker split across reads is carried over). */
class Consumer {
  count = 0;
  seen = false;
  carry: Buffer | null = null;
  /** Closed by us: not a loss. */
  dropped = false;
  constructor(readonly socket: Socket) {}
}

const consumers: Consumer[] = [];
let lost = 0;
let lastAt = 0;
let latencies: number[] | null = null;
let markers: number[] = [];
let cpuAtReset = process.cpuUsage();
let wallAtReset = now();

function scan(c: Consumer, chunk: Buffer): void {
  const buf = c.carry ? Buffer.concat([c.carry, chunk]) : chunk;
  c.carry = null;
  let pos = 0;
  for (;;) {
    const at = buf.indexOf(MARK, pos);
    if (at < 0) break;
    let i = at + 2;
    let micros = 0;
    while (i < buf.length && buf[i] !== SEMI) micros = micros * 10 + ((buf[i++] as number) - 48);
    if (i >= buf.length) {
      c.carry = Buffer.from(buf.subarray(at));
      return;
    }
    pos = i + 1;
    c.seen = true;
    if (micros === 0) continue; // a warm-up message
    c.count++;
    const t = now();
    lastAt = t;
    if (latencies) {
      latencies.push(t - micros / 1000);
      markers.push(micros);
    }
  }
  // A marker's first byte may end this read.
  if (buf.length > 0 && buf[buf.length - 1] === MARK[0]) c.carry = Buffer.from(buf.subarray(buf.length - 1));
}

/** Every socket of this process reads into this one buffer (net's `onread`): no allocation and no
 *  stream machinery per read, and a read is handled before the next one starts. */
const READ_BUFFER = Buffer.alloc(256 * 1024);

function open(target: GenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    let headers = true;
    let head = '';
    let c: Consumer | undefined;
    const onRead = (nread: number, buf: Buffer): boolean => {
      const chunk = buf.subarray(0, nread);
      if (!headers) {
        scan(c as Consumer, chunk);
        return true;
      }
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return true;
      headers = false;
      const status = head.slice(9, 12);
      if (status !== '200' && status !== '101') {
        socket.destroy();
        reject(new Error(`answered ${head.slice(0, head.indexOf('\r\n'))}`));
        return false;
      }
      if (target.kind === 'ws') for (const text of target.hello) socket.write(clientTextFrame(text));
      consumers.push(c as Consumer);
      resolve();
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) scan(c as Consumer, rest);
      return true;
    };
    const socket = connect({ host: '127.0.0.1', port: target.port, onread: { buffer: READ_BUFFER, callback: onRead } });
    socket.setNoDelay(true);
    c = new Consumer(socket);
    const consumer = c;
    socket.once('connect', () => {
      if (target.kind === 'http') {
        socket.write(`GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      } else {
        socket.write(`GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      }
    });
    socket.on('error', (err) => {
      if (headers) reject(err);
    });
    socket.on('close', () => {
      if (headers) reject(new Error('closed before the response headers'));
      else if (!consumer.dropped) lost++;
    });
  });
}

function report(): GenReport {
  let deliveries = 0;
  let min = Infinity;
  let max = 0;
  let warmed = 0;
  for (const c of consumers) {
    deliveries += c.count;
    if (c.count < min) min = c.count;
    if (c.count > max) max = c.count;
    if (c.seen) warmed++;
  }
  const cpu = process.cpuUsage(cpuAtReset);
  return {
    type: 'report',
    sockets: consumers.length,
    lost,
    warmed,
    deliveries,
    minPerSocket: consumers.length ? min : 0,
    maxPerSocket: max,
    lastAt,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: now() - wallAtReset,
    latenciesMs: latencies ?? [],
    markersUs: markers,
  };
}

process.on('message', (cmd: GenCommand) => {
  const send = (m: unknown): void => void process.send?.(m);
  switch (cmd.type) {
    case 'open': {
      // In batches, so that the server's listen backlog is not what is measured.
      void (async () => {
        let failed = 0;
        for (let i = 0; i < cmd.count; i += 100) {
          const batch = Array.from({ length: Math.min(100, cmd.count - i) }, () => open(cmd.target).catch(() => void failed++));
          await Promise.all(batch);
        }
        send({ type: 'opened', failed });
      })();
      return;
    }
    case 'reset':
      for (const c of consumers) c.count = 0;
      lastAt = 0;
      latencies = cmd.latencies ? [] : null;
      markers = [];
      cpuAtReset = process.cpuUsage();
      wallAtReset = now();
      send({ type: 'reset' });
      return;
    case 'report':
      send(report());
      return;
    case 'close':
      for (const c of consumers) {
        c.dropped = true;
        c.socket.destroy();
      }
      consumers.length = 0;
      lost = 0;
      send({ type: 'closed' });
      return;
  }
});
process.on('disconnect', () => process.exit(0));
