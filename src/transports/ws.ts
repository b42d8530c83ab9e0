// WebSocket at /ws: text frames in, text frames out. The transport knows nothing of what the frames
// mean — a session factory (browser channels) is handed in. Outgoing frames are queued per connection
// and written in batches with the socket corked (core/batch-writer); a connection holding more than
// --subscriber-buffer bytes is dropped (never waited for). Ping/pong keeps it alive; frames over
// --max-frame close it with 1009 (ws's maxPayload); shutdown closes with 1001.
import websocket from '@fastify/websocket';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { BatchWriter, type BatchSink } from '../core/batch-writer.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';

/** What a transport hands a session: where its frames go. */
export interface SessionSink {
  send(frame: Buffer): void;
  close(code: number, reason: string): void;
}

export interface TransportSession {
  receive(text: string): void;
  closed(): void;
}

/** What a transport knows of a new connection. */
export interface SessionInfo {
  cookie: string | undefined;
  transport: string;
  /** The browser's Origin header (absent for non-browser clients). */
  origin?: string | undefined;
  /** The peer's address, and the X-Forwarded-For header a proxy in front may have set (sessions decide whether to trust it). */
  address?: string | undefined;
  forwardedFor?: string | undefined;
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

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** A WebSocket as a batch sink: the turn's frames go out corked, in one syscall. */
function frameSink(ws: WebSocket): BatchSink {
  return {
    get backlog() {
      return ws.bufferedAmount;
    },
    get gone() {
      return ws.readyState !== ws.OPEN;
    },
    writeBatch: (frames) => {
      const socket = (ws as unknown as { _socket?: Corkable })._socket;
      socket?.cork();
      for (const f of frames) ws.send(f, { binary: false });
      socket?.uncork();
    },
  };
}

class WsSink implements SessionSink {
  private readonly writer: BatchWriter;
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    limit: number,
    onSlow: (reason: string) => void,
    onFlushed: (n: number) => void,
  ) {
    this.writer = new BatchWriter(frameSink(ws), limit, onSlow, onFlushed);
  }

  send(frame: Buffer): void {
    this.writer.push(frame);
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

  close(code: number, reason: string): void {
    // What was queued goes before the close frame (nothing is left after a slow-consumer drop).
    this.writer.flush();
    this.writer.close();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason.slice(0, 120));
    // A peer that no longer reads never answers the close frame.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}

export async function wsTransport(app: FastifyInstance, deps: WsDeps): Promise<void> {
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

  const onSocket = (ws: WebSocket, req: FastifyRequest): void => {
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
      (n) => deps.metrics.delivered.labels('ws').inc(n),
    );
    try {
      release = deps.connections.admit({ transport: 'ws', shutdown: () => sink.close(CLOSE_GOING_AWAY, 'server shutting down') });
    } catch (err) {
      ws.close(CLOSE_TRY_LATER, (err as Error).message.slice(0, 120));
      return;
    }
    sinks.add(sink);
    session = deps.sessions.open(sink, sessionInfo(req, 'ws'));
    ws.on('pong', () => (sink.alive = true));
    ws.on('message', (data, isBinary) => {
      sink.alive = true;
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      if (isBinary && text.length === 0) return;
      session?.receive(text);
    });
    ws.on('error', (err) => log.debug({ err }, 'websocket error'));
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
    wsHandler: onSocket,
  });
}
