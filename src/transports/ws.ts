// WebSocket at /ws: text frames in, text frames out. The transport knows nothing of what the frames
// mean — a session factory (browser channels) is handed in. Outgoing frames are queued per connection
// and written in batches with the socket corked (core/batch-writer); a connection holding more than
// --subscriber-buffer bytes is dropped (never waited for). Ping/pong keeps it alive; frames over
// --max-frame close it with 1009 (ws's maxPayload); shutdown closes with 1001.
import websocket from '@fastify/websocket';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { BatchWriter, writeAll, type BatchSink } from '../core/batch-writer.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';
import { deliveryCount } from './delivery-count.js';
import type { SessionInfo } from '../core/session-info.js';

/** What a transport hands a session: where its frames go. */
export interface SessionSink {
  send(frame: Buffer): void;
  /** `prefix` + `body` (+ `suffix`) as one frame (see channels' FrameSink): built by the sink in one buffer. */
  sendPrefixed?(prefix: string, body: Buffer, suffix?: Buffer): void;
  close(code: number, reason: string): void;
  /**
   * For a session replaying history: a promise when the connection should take what it was sent before
   * more is pushed (undefined: go on), so a long replay paces itself instead of being dropped as slow.
   */
  writable?(): Promise<void> | undefined;
}

export interface TransportSession {
  receive(text: string): void;
  closed(): void;
}


export interface SessionFactory {
  open(sink: SessionSink, info: SessionInfo): TransportSession;
}

/** What a browser request carries for its session. */
export function sessionInfo(req: FastifyRequest, transport: string): SessionInfo {
  const { cookie, origin } = req.headers;
  const forwarded = req.headers['x-forwarded-for'];
  return {
    cookie: typeof cookie === 'string' ? cookie : undefined,
    transport,
    ...(typeof origin === 'string' ? { origin } : {}),
    address: req.socket.remoteAddress,
    ...(forwarded !== undefined ? { forwardedFor: Array.isArray(forwarded) ? forwarded.join(', ') : forwarded } : {}),
  };
}

export interface WsDeps {
  sessions: SessionFactory;
  connections: Connections;
  metrics: Metrics;
  maxFrame: number;
  bufferLimit: number;
  heartbeatMs: number;
  /** Runs before the handshake (and before each fallback request): origin and access checks. */
  gate?: (req: FastifyRequest) => Promise<void>;
}

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_TRY_LATER = 1013;

/** What of ws's internals the raw writes below rely on. */
interface WsInternals {
  _socket?: Socket;
}

/** Node's socket → response link (the upgrade's stand-in ServerResponse of @fastify/websocket). */
interface HttpSocket extends Socket {
  _httpMessage?: { detachSocket?(socket: Socket): void } | null;
}

/** See the call: lets the upgrade's request and reply objects go once the WebSocket is open. */
function releaseUpgradeRequest(ws: WebSocket): void {
  const socket = (ws as unknown as WsInternals)._socket as HttpSocket | undefined;
  if (socket?._httpMessage?.detachSocket) socket._httpMessage.detachSocket(socket);
  ws.removeAllListeners('error');
}

/** The length of the header of an unmasked frame of `length` payload bytes (RFC 6455 §5.2). */
const headerLength = (length: number): number => (length < 126 ? 2 : length < 65536 ? 4 : 10);

/** Writes the header of an unmasked, final text frame of `length` bytes at the start of `out`. */
function writeTextFrameHeader(out: Buffer, length: number): void {
  out[0] = 0x81;
  if (length < 126) {
    out[1] = length;
  } else if (length < 65536) {
    out[1] = 126;
    out[2] = length >> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
}

/**
 * One whole text frame, header included, around `prefix` (latin1: a Hookbox frame number) + `body`
 * (+ `suffix`), in one buffer: per connection one small copy and one buffer to write, where a shared
 * header and a frame of its own were two.
 */
export function prefixedTextFrame(prefix: string, body: Buffer, suffix?: Buffer): Buffer {
  const length = prefix.length + body.length + (suffix ? suffix.length : 0);
  const at = headerLength(length);
  const out = Buffer.allocUnsafe(at + length);
  writeTextFrameHeader(out, length);
  out.write(prefix, at, 'latin1');
  body.copy(out, at + prefix.length);
  if (suffix) suffix.copy(out, at + prefix.length + body.length);
  return out;
}

/**
 * One connection's outgoing side, and its batch sink. What it queues is already WebSocket-framed
 * (unmasked text frames, each one buffer from prefixedTextFrame), so a
 * flush is one corked burst of those buffers on the socket (one writev) — ws's per-message work is
 * skipped. Safe because nothing is compressed (perMessageDeflate is off) and no Blob is sent, so ws's
 * sender never holds frames back: what it writes itself (pings, the close frame) reaches the same socket
 * in order. A class rather than closures over a literal: an idle connection's memory bounds how many a
 * process holds.
 */
class WsSink implements SessionSink, BatchSink {
  private readonly writer: BatchWriter;
  readonly transport = 'ws';
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly limit: number,
    onSlow: (reason: string) => void,
    onFlushed: (n: number) => void,
  ) {
    this.writer = new BatchWriter(this, limit, onSlow, onFlushed);
  }

  get backlog(): number {
    return this.ws.bufferedAmount;
  }

  get gone(): boolean {
    return this.ws.readyState !== this.ws.OPEN;
  }

  writeBatch(frames: Buffer[]): void {
    const socket = (this.ws as unknown as WsInternals)._socket;
    if (socket) writeAll(socket, frames);
  }

  send(frame: Buffer): void {
    // One buffer, header included: a frame is queued (or refused) whole, never a header without its frame.
    this.writer.push(prefixedTextFrame('', frame));
  }

  sendPrefixed(prefix: string, body: Buffer, suffix?: Buffer): void {
    this.writer.push(prefixedTextFrame(prefix, body, suffix));
  }

  writable(): Promise<void> | undefined {
    const socket = (this.ws as unknown as WsInternals)._socket;
    if (!socket || socket.destroyed || this.gone || this.backlog + this.writer.queued <= this.limit / 2) return undefined;
    this.writer.flush();
    // Only a write that was refused is followed by 'drain'; below the socket's own mark there is room anyway.
    if (!socket.writableNeedDrain) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Keep-alive: a connection that did not answer the last ping is gone. */
  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  shutdown(): void {
    this.close(CLOSE_GOING_AWAY, 'server shutting down');
  }

  close(code: number, reason: string): void {
    // What was queued goes before the close frame (nothing is left after a slow-consumer drop).
    this.writer.flush();
    this.writer.close();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason.slice(0, 120));
    // A peer that no longer reads never answers the close frame.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}

/** Adds another WebSocket route served like /ws (batched writes, keep-alive, limits, counted connections):
 *  `sessionsFor` picks the session factory from the upgrade request (e.g. by a path parameter). */
export type WsRoute = (url: string, sessionsFor: (req: FastifyRequest) => SessionFactory) => void;

export async function wsTransport(app: FastifyInstance, deps: WsDeps): Promise<WsRoute> {
  const sinks = new Set<WsSink>();
  await app.register(websocket, {
    options: { maxPayload: deps.maxFrame, perMessageDeflate: false },
    preClose: async function closeClients(this: FastifyInstance) {
      for (const s of [...sinks]) s.close(CLOSE_GOING_AWAY, 'server shutting down');
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  });

  const keepAlive = setInterval(() => {
    for (const s of sinks) s.ping();
  }, deps.heartbeatMs);
  keepAlive.unref();
  app.addHook('onClose', async () => clearInterval(keepAlive));

  const delivered = deliveryCount(deps.metrics, 'ws');
  const onSocket = (ws: WebSocket, req: FastifyRequest, sessions: SessionFactory): void => {
    const log: FastifyBaseLogger = req.log;
    let release = (): void => {};
    let session: TransportSession | undefined;
    /** The connection is gone for us (closed, or dropped while its socket still drains). */
    const detach = (): void => {
      sinks.delete(sink);
      release();
      session?.closed();
      session = undefined;
    };
    const sink: WsSink = new WsSink(
      ws,
      deps.bufferLimit,
      (reason) => {
        deps.metrics.dropped.labels('ws', 'slow').inc();
        log.warn({ transport: 'ws', reason }, 'consumer dropped');
        sink.close(CLOSE_POLICY, reason);
        detach();
      },
      (n) => delivered.add(n),
    );
    try {
      release = deps.connections.admit(sink);
    } catch (err) {
      ws.close(CLOSE_TRY_LATER, (err as Error).message.slice(0, 120));
      return;
    }
    sinks.add(sink);
    session = sessions.open(sink, sessionInfo(req, 'ws'));
    ws.on('pong', () => (sink.alive = true));
    ws.on('message', (data, isBinary) => {
      sink.alive = true;
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      if (isBinary && text.length === 0) return;
      session?.receive(text);
    });
    // The plugin's own error listener (log, terminate) holds the upgrade's request and reply for the
    // connection's whole life, as does its stand-in response on the socket: ours does the same work
    // without them, so they can be collected (about 1.5 KB per connected user).
    releaseUpgradeRequest(ws);
    ws.on('error', (err) => {
      log.error({ err }, 'websocket error');
      ws.terminate();
    });
    ws.on('close', (code) => {
      detach();
      log.debug({ transport: 'ws', code }, 'websocket closed');
    });
  };

  app.route({
    method: 'GET',
    url: '/ws',
    ...(deps.gate ? { onRequest: deps.gate } : {}),
    // A plain GET (no upgrade) learns what to do instead.
    handler: async (_req, reply) =>
      reply.code(426).header('upgrade', 'websocket').send({ error: 'WebSocket upgrade required (browsers without WebSocket: GET /ws/sse)' }),
    wsHandler: (ws, req) => onSocket(ws, req, deps.sessions),
  });
  return (url, sessionsFor) => {
    app.route({
      method: 'GET',
      url,
      handler: async (_req, reply) => reply.code(426).header('upgrade', 'websocket').send({ error: 'WebSocket upgrade required' }),
      wsHandler: (ws, req) => onSocket(ws, req, sessionsFor(req)),
    });
  };
}
