// WebSocket at /ws: text frames in, text frames out. The transport knows nothing of what the frames
// mean — a session factory (browser channels) is handed in. Outgoing frames are queued per connection
// and written in batches with the socket corked (core/batch-writer); a connection holding more than
// --subscriber-buffer bytes is dropped (never waited for). Ping/pong keeps it alive; frames over
// --max-frame close it with 1009 (ws's maxPayload); shutdown closes with 1001.
import websocket from '@fastify/websocket';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { BatchWriter, whenRoomOn, writeAll } from '../core/batch-writer.js';
import { writeDirect, type DirectWriteOwner } from '../core/direct-write.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';
import { deliveryCount, type DeliveryCount } from './delivery-count.js';
import { numberedFrame, numberedFrameStart, prefixedTextFrame, WHOLE_FRAME_TAIL_BYTES } from './ws-frame.js';
import type { SessionInfo } from '../core/session-info.js';

/** What a transport hands a session: where its frames go. */
export interface SessionSink {
  send(frame: Buffer): void;
  /** `[frameId` + `tail` (+ `suffix`) as one frame (see channels' FrameSink): the tail is not copied. */
  sendNumbered?(frameId: number, tail: Buffer, suffix?: Buffer): void;
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

/** What every connection of one /ws transport shares (one object, not captured per connection). */
interface WsShared {
  deps: WsDeps;
  sinks: Set<WsSink>;
  delivered: DeliveryCount;
}

/** The connection's sink, on its WebSocket: the listeners below are shared functions, not closures. */
const kSink = Symbol('hookhub.ws.sink');
type WsWithSink = WebSocket & { [kSink]?: WsSink };

function onPong(this: WsWithSink): void {
  const sink = this[kSink];
  if (sink) sink.alive = true;
}

function onMessage(this: WsWithSink, data: RawData, isBinary: boolean): void {
  this[kSink]?.received(data, isBinary);
}

function onError(this: WsWithSink, err: Error): void {
  this[kSink]?.failed(err);
}

function onClose(this: WsWithSink, code: number): void {
  this[kSink]?.closed(code);
}

/**
 * One connection: its session, and its outgoing side as its own batch writer. What it queues is already
 * WebSocket-framed (unmasked text frames: a short message's whole frame, shared by the connections that
 * number it alike; a long one's start, shared alike, and its shared tail, queued together; or one buffer
 * from prefixedTextFrame), so a flush is one corked burst of those buffers on the socket (one writev) —
 * ws's per-message work is skipped. Safe because nothing is compressed (perMessageDeflate is off) and no
 * Blob is sent, so ws's sender never holds frames back: what it writes itself (pings, the close frame)
 * reaches the same socket in order. One object per connection (the writer is this class, and the
 * WebSocket's listeners call its methods, rather than closures): an idle connection's memory bounds how
 * many a process holds, and a message reaches one object per consumer before its socket.
 */
class WsSink extends BatchWriter implements SessionSink, DirectWriteOwner {
  readonly transport = 'ws';
  alive = true;
  /** Bytes of direct writes the kernel has yet to take (core/direct-write). */
  directPending = 0;
  session: TransportSession | undefined;
  /** Counted against --max-connections (until detach). */
  admitted = false;
  /** The WebSocket's socket, which ws keeps for the connection's life: read once, not through ws per write. */
  private readonly socket: Socket | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly shared: WsShared,
    private readonly log: FastifyBaseLogger,
  ) {
    super(shared.deps.bufferLimit);
    this.socket = (ws as unknown as WsInternals)._socket;
  }

  /** ws's bufferedAmount without its sender's queue, which only compression or a Blob fills (neither is
   *  used here): one object less to reach per consumer per message. */
  get backlog(): number {
    return (this.socket ? this.socket.writableLength : 0) + this.directPending;
  }

  get gone(): boolean {
    return this.ws.readyState !== this.ws.OPEN;
  }

  protected writeBatch(frames: Buffer[], bytes: number): void {
    const socket = this.socket;
    if (socket && !writeDirect(socket, frames, bytes, this)) writeAll(socket, frames);
  }

  protected flushed(items: number): void {
    this.shared.delivered.add(items);
  }

  /** The writer dropped the connection: it could not keep up. */
  protected overflowed(reason: string): void {
    this.shared.deps.metrics.dropped.labels('ws', 'slow').inc();
    this.log.warn({ transport: 'ws', reason }, 'consumer dropped');
    this.close(CLOSE_POLICY, reason);
    this.detach();
  }

  send(frame: Buffer): void {
    // One buffer, header included: a frame is queued (or refused) whole, never a header without its frame.
    this.queue(prefixedTextFrame('', frame));
  }

  sendNumbered(frameId: number, tail: Buffer, suffix?: Buffer): void {
    if (suffix !== undefined) this.queue(prefixedTextFrame(`[${frameId}`, tail, suffix));
    // A short message: the whole frame, shared by the connections that number it alike.
    else if (tail.length <= WHOLE_FRAME_TAIL_BYTES) this.queue(numberedFrame(frameId, tail));
    // A long one: the frame's start and the shared tail, queued together (one writev with the rest of the flush).
    else this.queuePair(numberedFrameStart(frameId, tail), tail);
  }

  received(data: RawData, isBinary: boolean): void {
    this.alive = true;
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    if (isBinary && text.length === 0) return;
    this.session?.receive(text);
  }

  failed(err: Error): void {
    this.log.error({ err }, 'websocket error');
    this.ws.terminate();
  }

  closed(code: number): void {
    this.detach();
    this.log.debug({ transport: 'ws', code }, 'websocket closed');
  }

  /** The connection is gone for us (closed, or dropped while its socket still drains). */
  detach(): void {
    this.shared.sinks.delete(this);
    if (this.admitted) {
      this.admitted = false;
      this.shared.deps.connections.leave(this);
    }
    const session = this.session;
    this.session = undefined;
    session?.closed();
  }

  writable(): Promise<void> | undefined {
    const socket = this.socket;
    if (!socket || this.gone) return undefined;
    return whenRoomOn(socket, this, this.backlog + this.queued, this.shared.deps.bufferLimit);
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
    this.flush();
    this.stop();
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

  const shared: WsShared = { deps, sinks, delivered: deliveryCount(deps.metrics, 'ws') };
  const onSocket = (ws: WebSocket, req: FastifyRequest, sessions: SessionFactory): void => {
    const sink = new WsSink(ws, shared, req.log);
    try {
      deps.connections.enter(sink);
    } catch (err) {
      ws.close(CLOSE_TRY_LATER, (err as Error).message.slice(0, 120));
      return;
    }
    sink.admitted = true;
    sinks.add(sink);
    sink.session = sessions.open(sink, sessionInfo(req, 'ws'));
    (ws as WsWithSink)[kSink] = sink;
    ws.on('pong', onPong);
    ws.on('message', onMessage);
    // The plugin's own error listener (log, terminate) holds the upgrade's request and reply for the
    // connection's whole life, as does its stand-in response on the socket: ours does the same work
    // without them, so they can be collected (about 1.5 KB per connected user).
    releaseUpgradeRequest(ws);
    ws.on('error', onError);
    ws.on('close', onClose);
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
