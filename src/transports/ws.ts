// WebSocket at /ws: text frames in, text frames out. The transport knows nothing of what the frames
// mean — a session factory (browser channels) is handed in. Outgoing frames are queued per connection
// and written in batches with the socket corked (core/batch-writer); a connection holding more than
// --subscriber-buffer bytes is dropped (never waited for). Ping/pong keeps it alive; frames over
// --max-frame close it with 1009 (ws's maxPayload); shutdown closes with 1001.
import websocket from '@fastify/websocket';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { BatchWriter, type BatchSink } from '../core/batch-writer.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';
import { deliveryCount } from './delivery-count.js';
import type { SessionInfo } from '../core/session-info.js';

/** What a transport hands a session: where its frames go. */
export interface SessionSink {
  send(frame: Buffer): void;
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
  /** ws's frame sender: 0 (DEFAULT) unless it is compressing or reading a Blob, when frames queue behind it. */
  _sender?: { _state: number };
}

/** Node's socket → response link (the upgrade's stand-in ServerResponse of @fastify/websocket). */
interface HttpSocket extends Socket {
  _httpMessage?: { detachSocket?(socket: Socket): void; writableFinished?: boolean; once?(event: 'finish', fn: () => void): unknown } | null;
}

/**
 * An upgrade request the router answers before any hook runs (a malformed URL: 400; a path parameter over
 * maxParamLength: 414) is written to the plugin's stand-in response, but its socket is never released, and
 * the server's close waits for it for ever. Once such an answer is written, the socket is ended.
 */
function endRefusedUpgrade(socket: HttpSocket): void {
  const res = socket._httpMessage;
  if (!res) return;
  const end = (): void => {
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
  };
  if (res.writableFinished) end();
  else res.once?.('finish', end);
}

/** See the call: lets the upgrade's request and reply objects go once the WebSocket is open. */
function releaseUpgradeRequest(ws: WebSocket): void {
  const socket = (ws as unknown as WsInternals)._socket as HttpSocket | undefined;
  if (socket?._httpMessage?.detachSocket) socket._httpMessage.detachSocket(socket);
  ws.removeAllListeners('error');
}

let lastHeaderLength = -1;
let lastHeader: Buffer = Buffer.alloc(0);

/** The header of an unmasked, final text frame of `length` bytes (RFC 6455 §5.2); consecutive frames
 *  of one message mostly share a length, so the last one is reused. */
function textFrameHeader(length: number): Buffer {
  if (length === lastHeaderLength) return lastHeader;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x81, length]);
  } else if (length < 65536) {
    header = Buffer.from([0x81, 126, length >> 8, length & 0xff]);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  lastHeaderLength = length;
  lastHeader = header;
  return header;
}

/**
 * One connection's outgoing side, and its batch sink: the frames of a flush go to the socket in one
 * corked burst (one writev), each as a shared header and the frame's own bytes — ws's per-message work
 * is skipped. Safe because nothing is compressed (perMessageDeflate is off), so ws never holds frames
 * back; should its sender ever be busy, the frames go through ws.send to stay behind what it holds.
 * A class rather than closures over a literal: an idle connection's memory bounds how many a process holds.
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
    const internals = this.ws as unknown as WsInternals;
    const socket = internals._socket;
    if (!socket || internals._sender?._state !== 0) {
      for (const f of frames) this.ws.send(f, { binary: false });
      return;
    }
    socket.cork();
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i] as Buffer;
      socket.write(textFrameHeader(f.length));
      socket.write(f);
    }
    socket.uncork();
  }

  send(frame: Buffer): void {
    this.writer.push(frame);
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

  // After the plugin's own 'upgrade' listener has routed the request (registered above, so it runs first).
  app.server.on('upgrade', (_req: unknown, socket: HttpSocket) => endRefusedUpgrade(socket));

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
