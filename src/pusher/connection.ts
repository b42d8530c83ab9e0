// One WebSocket connection at /app/<key>: reads the client's frames and answers them (protocol 7).
// The node (node.ts) holds what spans connections: presence, the roster, topics, webhooks.
import { randomInt } from 'node:crypto';
import type { SessionSink, TransportSession } from '../transports/ws.js';
import { channelAuthValid, userAuthValid } from './auth.js';
import { topicOf, type PusherApp } from './contracts.js';
import { CLIENT_EVENTS_PER_SECOND, dataObject, ERROR, errorFrame, frame, isChannelName, jsonObject, kindOf, readFrame, subscriptionError, type ClientFrame } from './protocol.js';
import { Subscription, type Member, type SubscriptionOwner } from './subscription.js';

/** What a connection asks of its node (node.ts): what spans connections. */
export interface ConnectionHost {
  readonly activityTimeout: number;
  readonly maxSubscriptions: number;
  /** --max-json-depth: frames and the JSON texts inside them. */
  readonly maxJsonDepth: number;
  attach(sub: Subscription, resume: Resume | undefined): Promise<void>;
  detach(sub: Subscription): void;
  forget(conn: PusherConnection): void;
  clientEvent(conn: PusherConnection, sub: Subscription, event: string, data: string): Promise<void>;
}

/** Pusher's socket ids: two numbers joined by a dot. */
const newSocketId = (): string => `${randomInt(1, 2 ** 47)}.${randomInt(1, 2 ** 47)}`;

/**
 * Beyond Pusher: a subscription that asks gets its events with their offset. `since` (an offset): the events
 * after it are replayed first; `epoch`: the log it came from; `offsets: true` alone: live, with offsets.
 */
export interface Resume {
  since?: number;
  epoch?: string;
}

/** The resume fields of pusher:subscribe's data, or why they are wrong. */
function resumeOf(data: Record<string, unknown>): Resume | string | undefined {
  if (data.since === undefined) return data.offsets === true ? {} : undefined;
  if (typeof data.since !== 'number' || !Number.isSafeInteger(data.since) || data.since < 0) return 'since must be an offset (an integer ≥ 0)';
  if (data.epoch !== undefined && typeof data.epoch !== 'string') return 'epoch must be a string';
  return typeof data.epoch === 'string' && data.epoch !== '' ? { since: data.since, epoch: data.epoch } : { since: data.since };
}

export class PusherConnection implements TransportSession, SubscriptionOwner {
  readonly socketId = newSocketId();
  readonly subscriptions = new Map<string, Subscription>();
  /** The user signed in with pusher:signin. */
  userId: string | undefined;
  private gone = false;
  /** Client events allowed now: a bucket of CLIENT_EVENTS_PER_SECOND, refilled continuously. */
  private clientEventTokens = CLIENT_EVENTS_PER_SECOND;
  private clientEventsCountedAt = Date.now();

  constructor(
    private readonly node: ConnectionHost,
    readonly app: PusherApp,
    private readonly sink: SessionSink,
  ) {
    this.send(frame('pusher:connection_established', { socket_id: this.socketId, activity_timeout: node.activityTimeout }));
  }

  get appId(): string {
    return this.app.id;
  }

  send(f: Buffer): void {
    if (!this.gone) this.sink.send(f);
  }

  /** Sends pusher:error and closes with its code (codes 4000–4099 tell the client not to reconnect as it was). */
  fail(code: number, message: string): void {
    this.send(errorFrame(code, message));
    this.sink.close(code, message);
  }

  overflow(reason: string): void {
    this.sink.close(4100, reason);
  }

  writable(): Promise<void> | undefined {
    return this.gone ? undefined : this.sink.writable?.();
  }

  receive(text: string): void {
    const f = readFrame(text, this.node.maxJsonDepth);
    if (typeof f === 'string') return this.send(errorFrame(ERROR.badFrame, f));
    switch (f.event) {
      case 'pusher:ping':
        return this.send(frame('pusher:pong', {}));
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return this.guard(this.subscribe(f));
      case 'pusher:unsubscribe':
        return this.unsubscribe(f);
      case 'pusher:signin':
        return this.signin(f);
      default:
        if (f.event.startsWith('client-')) return this.guard(this.clientEvent(f));
        return this.send(errorFrame(ERROR.badFrame, `unknown event: ${f.event.slice(0, 100)}`));
    }
  }

  /** A frame's handling failed unexpectedly: the client hears so and the connection stays (never an unhandled rejection). */
  private guard(work: Promise<void>): void {
    work.catch((err: unknown) => this.send(errorFrame(ERROR.badFrame, `frame not handled: ${(err as Error).message.slice(0, 200)}`)));
  }

  closed(): void {
    this.gone = true;
    for (const sub of this.subscriptions.values()) this.node.detach(sub);
    this.subscriptions.clear();
    this.node.forget(this);
  }

  private async subscribe(f: ClientFrame): Promise<void> {
    const data = dataObject(f.data, this.node.maxJsonDepth);
    if (!data || !isChannelName(data.channel)) {
      return this.send(errorFrame(ERROR.badFrame, 'pusher:subscribe needs data.channel, a channel name (1–164 of A-Z a-z 0-9 _ - = @ , . ;)'));
    }
    const channel = data.channel;
    if (this.subscriptions.has(channel)) return; // already subscribed (or subscribing): nothing changes
    if (this.subscriptions.size >= this.node.maxSubscriptions) {
      return this.send(subscriptionError(channel, 'LimitReached', `at most ${this.node.maxSubscriptions} subscriptions per connection`, 429));
    }
    const resume = resumeOf(data);
    if (typeof resume === 'string') return this.send(subscriptionError(channel, 'BadRequest', resume, 400));
    const kind = kindOf(channel);
    let member: Member | undefined;
    if (kind !== 'public') {
      const channelData = kind === 'presence' ? (typeof data.channel_data === 'string' ? data.channel_data : '') : undefined;
      if (!channelAuthValid(this.app, this.socketId, channel, data.auth, channelData)) {
        return this.send(subscriptionError(channel, 'AuthError', `invalid signature for ${channel}`, 401));
      }
      if (channelData !== undefined) {
        member = memberOf(channelData, this.node.maxJsonDepth);
        if (!member) return this.send(subscriptionError(channel, 'AuthError', 'channel_data must be JSON with a user_id', 401));
      }
    }
    const sub = new Subscription(this, channel, topicOf(this.app, channel), kind, resume !== undefined, member);
    this.subscriptions.set(channel, sub);
    try {
      await this.node.attach(sub, resume);
    } catch (err) {
      if (this.subscriptions.get(channel) === sub) this.subscriptions.delete(channel);
      this.node.detach(sub);
      this.send(subscriptionError(channel, 'ServerError', (err as Error).message.slice(0, 200), 503));
    }
  }

  private unsubscribe(f: ClientFrame): void {
    const data = dataObject(f.data, this.node.maxJsonDepth);
    const channel = data?.channel;
    if (typeof channel !== 'string') return this.send(errorFrame(ERROR.badFrame, 'pusher:unsubscribe needs data.channel'));
    const sub = this.subscriptions.get(channel);
    if (!sub) return;
    this.subscriptions.delete(channel);
    this.node.detach(sub);
  }

  private signin(f: ClientFrame): void {
    const data = dataObject(f.data, this.node.maxJsonDepth);
    const userData = data?.user_data;
    if (typeof userData !== 'string' || !userAuthValid(this.app, this.socketId, userData, data?.auth)) {
      return this.fail(ERROR.unauthorized, 'invalid pusher:signin signature');
    }
    const id = jsonObject(userData, this.node.maxJsonDepth)?.id;
    if ((typeof id !== 'string' || id === '') && typeof id !== 'number') return this.fail(ERROR.unauthorized, 'user_data must be JSON with an id');
    this.userId = String(id);
    this.send(frame('pusher:signin_success', { user_data: userData }));
  }

  /** Pusher's rate limit: 10 client events per second per connection, with a burst of 10. */
  private takeClientEventToken(): boolean {
    const now = Date.now();
    const refill = ((now - this.clientEventsCountedAt) / 1000) * CLIENT_EVENTS_PER_SECOND;
    this.clientEventTokens = Math.min(CLIENT_EVENTS_PER_SECOND, this.clientEventTokens + refill);
    this.clientEventsCountedAt = now;
    if (this.clientEventTokens < 1) return false;
    this.clientEventTokens -= 1;
    return true;
  }

  private async clientEvent(f: ClientFrame): Promise<void> {
    const refuse = (why: string): void => this.send(errorFrame(ERROR.clientEvent, why));
    if (!this.app.clientEvents) return refuse('client events are not enabled for this app (--pusher-client-events)');
    if (!this.takeClientEventToken()) return refuse(`client event dropped: at most ${CLIENT_EVENTS_PER_SECOND} client events per second per connection`);
    const sub = f.channel !== undefined ? this.subscriptions.get(f.channel) : undefined;
    if (!sub?.succeeded) return refuse(`client events go to a channel this connection is subscribed to`);
    if (sub.kind !== 'private' && sub.kind !== 'presence') return refuse('client events go on private and presence channels only');
    const data = typeof f.data === 'string' ? f.data : JSON.stringify(f.data ?? null);
    try {
      await this.node.clientEvent(this, sub, f.event, data);
    } catch (err) {
      refuse(`client event not sent: ${(err as Error).message.slice(0, 200)}`);
    }
  }
}

/** The presence member a subscription's channel_data names: {user_id, user_info?}. */
function memberOf(channelData: string, maxDepth: number): Member | undefined {
  const v = jsonObject(channelData, maxDepth);
  if (!v) return undefined;
  const id = v.user_id;
  if (!((typeof id === 'string' && id !== '') || typeof id === 'number')) return undefined;
  return { user: String(id), info: JSON.stringify(v.user_info ?? null) };
}
