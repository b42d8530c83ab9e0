// One browser connection speaking Hookbox's protocol, whatever carries it (WebSocket, HTTP fallback).
// Frames are handled one at a time, in order; a bad frame gets an ERROR and the connection stays usable.
import type { FastifyBaseLogger } from 'fastify';
import { isHookhubError } from '../core/errors.js';
import { ChannelError } from './options.js';
import type { ChannelHub, Conn, FrameSink } from './hub.js';
import { parseClientFrame, type ClientFrame } from './protocol.js';

export interface FrameSession {
  /** One text frame from the client. */
  receive(text: string): void;
  /** The transport closed. */
  closed(): void;
}

export interface SessionInfo {
  cookie: string | undefined;
  transport: string;
}

const FRAMES = new Set(['CONNECT', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PUBLISH', 'MESSAGE']);

/** Frames a connection may have waiting (e.g. behind a slow callback) before it is closed. */
export const MAX_PENDING_FRAMES = 1000;

export class ChannelSession implements FrameSession {
  private readonly conn: Conn;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly hub: ChannelHub,
    sink: FrameSink,
    info: SessionInfo,
    private readonly log: FastifyBaseLogger,
    /** --max-json-depth: frames nested deeper get an ERROR. */
    private readonly maxJsonDepth: number,
  ) {
    this.conn = hub.open(sink, info.cookie, info.transport);
  }

  get id(): string {
    return this.conn.id;
  }

  receive(text: string): void {
    const parsed = parseClientFrame(text, this.maxJsonDepth);
    if (!parsed.ok) return this.conn.error(parsed.id, parsed.msg);
    const frame = parsed.frame;
    if (!FRAMES.has(frame.name)) return this.conn.error(frame.id, `unknown frame ${frame.name.slice(0, 64)}`);
    if (++this.pending > MAX_PENDING_FRAMES) {
      this.conn.sink.close(1008, `more than ${MAX_PENDING_FRAMES} frames waiting`);
      return;
    }
    this.queue = this.queue
      .then(() => this.handle(frame))
      .catch((err: unknown) => {
        // Refusals (the channel's, or the topic core's: a bad name, a payload it will not commit) are the client's to read.
        if (err instanceof ChannelError || (isHookhubError(err) && err.status < 500)) return this.conn.error(frame.id, err.message);
        this.log.error({ err, frame: frame.name }, 'channel frame failed');
        this.conn.error(frame.id, 'internal error');
      })
      .finally(() => this.pending--);
  }

  closed(): void {
    this.hub.closed(this.conn);
  }

  private async handle(f: ClientFrame): Promise<void> {
    const conn = this.conn;
    if (conn.state === 'closed') return;
    if (f.name === 'CONNECT') return this.hub.connect(conn, f.args);
    if (conn.state !== 'connected' || !conn.user) throw new ChannelError('not connected');
    const user = conn.user;
    switch (f.name) {
      case 'SUBSCRIBE':
        return this.hub.subscribe(channelName(f), user, conn, true, true, sinceOf(f));
      case 'UNSUBSCRIBE':
        return this.hub.unsubscribe(channelName(f), user, conn, true);
      case 'PUBLISH':
        return this.hub.publishFromConn(conn, channelName(f), f.args.payload ?? null);
      case 'MESSAGE': {
        const name = f.args.name;
        if (typeof name !== 'string' || name === '') throw new ChannelError('name required');
        return this.hub.message(user, name, f.args.payload ?? null, conn);
      }
    }
  }
}

function channelName(f: ClientFrame): string {
  const name = f.args.channel_name;
  if (typeof name !== 'string' || name === '') throw new ChannelError('channel_name required');
  return name;
}

/** SUBSCRIBE {since}: the last offset the client saw (honoured for connections that track offsets). */
function sinceOf(f: ClientFrame): number | undefined {
  const since = f.args.since;
  if (since === undefined || since === null) return undefined;
  if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) throw new ChannelError('since must be an offset (a whole number, 0 or more)');
  return since;
}
