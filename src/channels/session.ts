// One browser connection speaking Hookbox's protocol, whatever carries it (WebSocket, HTTP fallback).
// Frames are handled one at a time, in order — a bad frame's ERROR included; the connection stays usable.
import type { FastifyBaseLogger } from 'fastify';
import { EPOCH_PATTERN } from '../core/epoch.js';
import { isHookhubError } from '../core/errors.js';
import { storeFailure } from '../core/store-down.js';
import { ChannelError } from './channel-error.js';
import type { Conn, FrameSink, User } from './model.js';
import type { ChannelsNode } from './node.js';
import type { StreamPosition } from '../core/topics.js';
import { parseClientFrame, type ClientFrame } from './protocol.js';
import { isLineFramed, payloadValue, splitLines } from './hookbox-wire.js';
import type { SessionInfo } from '../core/session-info.js';

export type { SessionInfo };

export interface FrameSession {
  /** One text frame from the client. */
  receive(text: string): void;
  /** The transport closed. */
  closed(): void;
}


const FRAMES = new Set(['CONNECT', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PUBLISH', 'MESSAGE']);

/** Frames a connection may have waiting (e.g. behind a slow callback) before it is closed. */
export const MAX_PENDING_FRAMES = 1000;

/** Bounds of one connection (config), each optional. */
export interface SessionLimits {
  /** --max-subscriptions: channels the connection's user may be in through SUBSCRIBE frames. */
  maxSubscriptions?: number;
  /** --max-json-depth: frames (and a line-framed client's payload text) nested deeper get an ERROR. */
  maxJsonDepth?: number;
  /** Throws store_unavailable when the store cannot take writes (see Store.assertWritable). */
  storeWritable?: () => void;
  /** --trust-proxy: the browser's address is the last entry of X-Forwarded-For. */
  trustProxy?: boolean;
}

/** The browser's address told to the application (X-Real-IP): the peer's, or the one the proxy in front reported. */
export function browserAddress(info: SessionInfo, trustProxy: boolean): string | undefined {
  if (trustProxy && info.forwardedFor) {
    const last = info.forwardedFor.split(',').map((s) => s.trim()).filter(Boolean).pop();
    if (last) return last;
  }
  return info.address?.replace(/^::ffff:/, '');
}

const noCheck = (): void => {};

export class ChannelSession implements FrameSession {
  private readonly conn: Conn;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  /** What bounds one connection; defaults leave it unbounded (tests, embedding). */
  constructor(
    private readonly node: ChannelsNode,
    sink: FrameSink,
    info: SessionInfo,
    private readonly log: FastifyBaseLogger,
    private readonly limits: SessionLimits = {},
  ) {
    this.conn = node.open(sink, info.cookie, info.transport, info.origin, browserAddress(info, limits.trustProxy === true));
  }

  get id(): string {
    return this.conn.id;
  }

  receive(text: string): void {
    // Hookbox's own client ends each frame with \r\n and expects the same of ours (WebSocket only: an
    // event stream cannot carry line breaks in an event).
    if (this.conn.transport === 'ws' && isLineFramed(text)) {
      this.conn.lineFramed = true;
      for (const line of splitLines(text)) this.receiveFrame(line);
      return;
    }
    this.receiveFrame(text);
  }

  private receiveFrame(text: string): void {
    if (++this.pending > MAX_PENDING_FRAMES) {
      this.conn.sink.close(1008, `more than ${MAX_PENDING_FRAMES} frames waiting`);
      return;
    }
    // Parsed at once, answered in turn: an ERROR for a bad frame comes after the replies to earlier frames.
    const parsed = parseClientFrame(text);
    this.enqueue(parsed.ok ? parsed.frame.id : parsed.id, parsed.ok ? parsed.frame.name : undefined, () => {
      if (!parsed.ok) return this.conn.error(parsed.id, parsed.msg);
      const frame = parsed.frame;
      if (!FRAMES.has(frame.name)) return this.conn.error(frame.id, `unknown frame ${frame.name.slice(0, 64)}`);
      return this.handle(frame);
    });
  }

  /** Runs `step` after every frame received before it; its failure becomes that frame's ERROR. */
  private enqueue(id: unknown, name: string | undefined, step: () => void | Promise<void>): void {
    this.queue = this.queue
      .then(step)
      .catch((err: unknown) => {
        // Refusals (the channel's, or the topic core's: a bad name, a payload it will not commit) are the client's to read.
        if (err instanceof ChannelError || (isHookhubError(err) && err.status < 500)) return this.conn.error(id, err.message);
        const down = storeFailure(err, this.limits.storeWritable ?? noCheck);
        if (down) {
          this.log.warn({ err, frame: name }, 'channel frame refused: store unavailable');
          return this.conn.error(id, down.message);
        }
        this.log.error({ err, frame: name }, 'channel frame failed');
        this.conn.error(id, 'internal error');
      })
      .finally(() => this.pending--);
  }

  closed(): void {
    this.node.closed(this.conn);
  }

  private async handle(f: ClientFrame): Promise<void> {
    const conn = this.conn;
    if (conn.state === 'closed') return;
    if (f.name === 'CONNECT') return this.node.connect(conn, f.args);
    if (conn.state !== 'connected' || !conn.user) throw new ChannelError('not connected');
    const user = conn.user;
    switch (f.name) {
      case 'SUBSCRIBE': {
        const name = channelName(f);
        this.checkSubscriptionLimit(user, name);
        return this.node.subscribe(name, user, conn, true, true, sinceOf(f));
      }
      case 'UNSUBSCRIBE':
        return this.node.unsubscribe(channelName(f), user, conn, true);
      case 'PUBLISH':
        return this.node.publishFromConn(conn, channelName(f), payloadValue(f.args.payload, conn.lineFramed, this.limits.maxJsonDepth));
      case 'MESSAGE': {
        const name = f.args.name;
        if (typeof name !== 'string' || name === '') throw new ChannelError('name required');
        return this.node.message(user, name, payloadValue(f.args.payload, conn.lineFramed, this.limits.maxJsonDepth), conn);
      }
    }
  }

  /** Refused before the channel is made: one connection cannot create channels without bound. */
  private checkSubscriptionLimit(user: User, name: string): void {
    const max = this.limits.maxSubscriptions ?? Infinity;
    if (user.channels.size < max) return;
    for (const ch of user.channels) if (ch.name === name) return;
    throw new ChannelError(`subscription limit (${max}) reached: unsubscribe from a channel first`);
  }
}

function channelName(f: ClientFrame): string {
  const name = f.args.channel_name;
  if (typeof name !== 'string' || name === '') throw new ChannelError('channel_name required');
  return name;
}

/**
 * SUBSCRIBE {since, epoch?}: the last offset the client saw and the epoch of that log (honoured for
 * connections that track offsets); a log that began again since is replayed from its start.
 */
function sinceOf(f: ClientFrame): StreamPosition | undefined {
  const since = f.args.since;
  if (since === undefined || since === null) return undefined;
  if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) throw new ChannelError('since must be an offset (a whole number, 0 or more)');
  const epoch = f.args.epoch;
  if (epoch === undefined || epoch === null) return { offset: since };
  if (typeof epoch !== 'string' || !EPOCH_PATTERN.test(epoch)) throw new ChannelError('epoch must be the epoch of an earlier SUBSCRIBE or PUBLISH frame');
  return { offset: since, epoch };
}
