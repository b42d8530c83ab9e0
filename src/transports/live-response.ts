// A long-lived chunked HTTP response (/stream, /sse, the /ws/sse fallback): counted against
// --max-connections, headers at once, batched writes, heartbeats on idle, dropped when it cannot keep
// up, ended politely on shutdown. Callers decide what flows through it. Once the headers are out, the
// bytes go straight to the socket, already chunk-framed (core/frames httpChunk): a message framed once
// is written as-is to every consumer, past the response object's per-write work.
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BatchWriter, whenRoomOn, writeAll } from '../core/batch-writer.js';
import { writeDirect, type DirectWriteOwner } from '../core/direct-write.js';
import { httpChunk } from '../core/frames.js';
import { deliveryCount, type DeliveryCount } from './delivery-count.js';
import { takeSocket } from './take-socket.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';

export interface LiveResponseDeps {
  connections: Connections;
  metrics: Metrics;
  heartbeatMs: number;
  bufferLimit: number;
}

export interface LiveResponseOptions {
  transport: string;
  headers: Record<string, string>;
  /** Written right after the headers. */
  preamble?: Buffer | string;
  heartbeat: Buffer;
  /** Last words on shutdown. */
  farewell(reason: string): Buffer | string;
  /** Runs once when the response ends, whatever ended it. */
  onFinish(reason: string): void;
}

export interface LiveResponse {
  /**
   * True when the response is chunk-framed (HTTP/1.1): what `pushWire` takes must then be whole chunks
   * (an HTTP/1.0 client gets the bytes as they are, the end of the body being the end of the connection).
   */
  readonly chunked: boolean;
  /** Queues bytes as they go on the wire (framed for `chunked`); `counts`: a message, not a control line. */
  pushWire(bytes: Buffer, counts?: boolean): void;
  /** Queues one body, framed here (a copy: for what differs per consumer). */
  push(body: Buffer, counts?: boolean): void;
  /** Ends the response: with `farewell` written when the socket can still take it, else by destroying it. */
  finish(reason: string, farewell?: Buffer | string): void;
  readonly finished: boolean;
  /**
   * A promise while more than half of --subscriber-buffer waits for the client (resolves when the
   * socket drains or closes); undefined when there is room. Replays pace themselves on it.
   */
  writable(): Promise<void> | undefined;
}

/**
 * Live responses sharing one heartbeat interval share its timer: one timer per interval, not per
 * connection (a connection's memory is what bounds how many one process holds).
 */
const heartbeats = new Map<number, { timer: NodeJS.Timeout; members: Set<LiveStream> }>();

function joinHeartbeat(ms: number, live: LiveStream): void {
  let beat = heartbeats.get(ms);
  if (!beat) {
    const members = new Set<LiveStream>();
    const timer = setInterval(() => {
      for (const m of members) m.beat();
    }, ms);
    timer.unref();
    heartbeats.set(ms, (beat = { timer, members }));
  }
  beat.members.add(live);
}

function leaveHeartbeat(ms: number, live: LiveStream): void {
  const beat = heartbeats.get(ms);
  if (!beat) return;
  beat.members.delete(live);
  if (beat.members.size > 0) return;
  clearInterval(beat.timer);
  heartbeats.delete(ms);
}


/** Heartbeats as HTTP chunks, one per heartbeat (encodings share theirs): not a copy per connection. */
const heartbeatChunks = new WeakMap<Buffer, Buffer>();

function chunkedHeartbeat(heartbeat: Buffer): Buffer {
  let chunk = heartbeatChunks.get(heartbeat);
  if (!chunk) heartbeatChunks.set(heartbeat, (chunk = httpChunk(heartbeat)));
  return chunk;
}

/** The end of a chunked body. */
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/**
 * One live response: its own batch writer (to the socket, past the response object) and the connection
 * registry's entry. A class, not closures over an object literal: per connection that is one object
 * instead of a dozen, and an idle connection's memory is what bounds how many one process holds.
 */
class LiveStream extends BatchWriter implements LiveResponse, DirectWriteOwner {
  finished = false;
  /** Bytes of direct writes the kernel has yet to take (core/direct-write). */
  directPending = 0;
  chunked = false;
  /** Headers written by us (see start): the response is ours to end. */
  private raw = false;
  /** A HEAD request: headers only, whatever is pushed. */
  private bodyless = false;
  readonly transport: string;
  private readonly socket: Socket;
  private heartbeatBytes: Buffer;

  private readonly log: FastifyBaseLogger;
  private readonly farewell: (reason: string) => Buffer | string;
  private readonly onFinish: (reason: string) => void;
  /** Node's response: let go once the headers are ours (see start), kept otherwise. */
  private res: ServerResponse | null;

  constructor(
    req: FastifyRequest,
    res: ServerResponse,
    private readonly deps: LiveResponseDeps,
    options: LiveResponseOptions,
    private readonly delivered: DeliveryCount,
  ) {
    super(deps.bufferLimit);
    // Only what outlives the start is kept (not the options object the caller built for this connection).
    this.farewell = options.farewell;
    this.onFinish = options.onFinish;
    this.log = req.log;
    this.res = res;
    this.transport = options.transport;
    this.socket = res.socket as Socket;
    // Throws 503 when the server is full, before anything is sent.
    deps.connections.enter(this);
    this.heartbeatBytes = options.heartbeat;
  }

  /**
   * Sends the headers. An HTTP/1.1 GET gets them written here, straight to the socket, and the body is
   * framed here too; the response object then keeps no copy of them (it lives as long as the connection).
   * Anything else (HTTP/1.0: no chunked framing; HEAD) goes through Node's writeHead.
   */
  start(req: IncomingMessage, headers: Record<string, string>, preamble: Buffer | string | undefined): void {
    const res = this.res as ServerResponse;
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.method === 'GET') {
      this.raw = true;
      this.chunked = true;
      let head = `HTTP/1.1 200 OK\r\ndate: ${new Date().toUTCString()}\r\n`;
      for (const name of Object.keys(headers)) head += `${name}: ${headers[name]}\r\n`;
      this.socket.write(`${head}transfer-encoding: chunked\r\n\r\n`, 'latin1');
      if (preamble !== undefined) this.socket.write(httpChunk(Buffer.from(preamble)));
      // Node's response, request and parser are let go: nothing else of them is needed (take-socket.ts).
      takeSocket(req, res, this.socket);
      this.res = null;
    } else {
      this.bodyless = req.method === 'HEAD';
      res.writeHead(200, headers);
      res.flushHeaders();
      // Node frames chunks for HTTP/1.1; the bytes written past it must be framed the same way.
      this.chunked = (res as unknown as { chunkedEncoding: boolean }).chunkedEncoding;
      if (preamble !== undefined) res.write(preamble);
    }
    if (this.chunked) this.heartbeatBytes = chunkedHeartbeat(this.heartbeatBytes);
  }

  // The writer's side (core/batch-writer): the socket itself.
  get backlog(): number {
    return this.socket.writableLength + this.directPending;
  }

  get gone(): boolean {
    return this.socket.destroyed;
  }

  protected writeBatch(chunks: Buffer[], bytes: number): void {
    // Past the response only once the headers are ours (raw): Node's response may still hold bytes otherwise.
    if (this.bodyless) return;
    if (!this.raw || !writeDirect(this.socket, chunks, bytes, this)) writeAll(this.socket, chunks);
  }

  pushWire(bytes: Buffer, counts?: boolean): void {
    this.queue(bytes, counts);
  }

  push(body: Buffer, counts?: boolean): void {
    this.queue(this.chunked ? httpChunk(body) : body, counts);
  }

  /** Heartbeat tick: a keep-alive only on a connection that has been quiet. */
  beat(): void {
    if (Date.now() - this.lastWrite >= this.deps.heartbeatMs * 0.9) this.queue(this.heartbeatBytes, false);
  }

  shutdown(): void {
    this.finish('server shutting down', this.farewell('server shutting down'));
  }

  protected flushed(items: number): void {
    this.delivered.add(items);
  }

  /** The writer dropped the consumer: it could not keep up. */
  protected overflowed(reason: string): void {
    this.deps.metrics.dropped.labels(this.transport, 'slow').inc();
    this.log.warn({ transport: this.transport, reason }, 'consumer dropped');
    this.finish(reason);
  }

  finish(reason: string, farewell?: Buffer | string): void {
    if (this.finished) return;
    this.finished = true;
    leaveHeartbeat(this.deps.heartbeatMs, this);
    this.flush();
    this.stop();
    this.deps.connections.leave(this);
    const res = this.res;
    const socket = this.socket;
    if (this.raw) {
      if (farewell !== undefined && !socket.destroyed && this.backlog === 0) {
        socket.end(Buffer.concat([httpChunk(Buffer.from(farewell)), LAST_CHUNK]));
        // The response ends with the connection; a client that never closes its side is let go.
        setTimeout(() => socket.destroy(), 2000).unref();
      } else if (!socket.destroyed) socket.destroy();
    } else if (res && farewell !== undefined && !res.destroyed && socket.writableLength === 0) res.end(farewell);
    else if (res && !res.writableEnded) res.destroy();
    this.onFinish(reason);
  }

  writable(): Promise<void> | undefined {
    if (this.finished) return undefined;
    return whenRoomOn(this.socket, this, this.backlog + this.queued, this.deps.bufferLimit);
  }
}

/** Admits the connection (throws 503 when full, before anything is sent), hijacks the reply and opens the stream. */
export function openLiveResponse(req: FastifyRequest, reply: FastifyReply, deps: LiveResponseDeps, options: LiveResponseOptions): LiveResponse {
  const res = reply.raw;
  const live = new LiveStream(req, res, deps, options, deliveryCount(deps.metrics, options.transport));
  reply.hijack();
  // The socket's close, not the response's: a response let go (see takeSocket) emits none. (`on`:
  // a socket closes once, and `once` would add a wrapper per connection.)
  res.socket?.on('close', () => live.finish('client closed'));
  live.start(req.raw, { ...options.headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'access-control-allow-origin': '*' }, options.preamble);
  joinHeartbeat(deps.heartbeatMs, live);
  // A client gone before we listened (its 'close' already emitted) is not left in the registry.
  if (live.gone) live.finish('client closed');
  return live;
}
