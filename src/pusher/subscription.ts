// One connection's subscription to one channel: the topic stream's output (events in Pusher's frame, the
// sender's own socket_id left out) and the presence member changes it has not seen yet.
import type { Message } from '../core/message.js';
import type { Gap, Reset, StreamCursor, StreamOutput, TopicStream } from '../core/topic-stream.js';
import type { MemberChange } from '../store/contracts/pusher-roster.js';
import { eventOf, type PusherEvent } from './contracts.js';
import { frame, type ChannelKind } from './protocol.js';

/** What a subscription needs of its connection. */
export interface SubscriptionOwner {
  readonly socketId: string;
  /** Cache key of this app's frames (a topic is one app's, but keep them apart anyway). */
  readonly appId: string;
  send(frame: Buffer): void;
  /** The connection cannot keep up (more arrived during a replay than it may hold): closes it. */
  overflow(reason: string): void;
  /** During a replay: wait for this before pushing more (see StreamOutput.writable). */
  writable(): Promise<void> | undefined;
}

/** Parsed events, once per message for every subscriber on this node. */
const parsed = new WeakMap<Message, PusherEvent>();

function eventOfCached(m: Message): PusherEvent {
  let e = parsed.get(m);
  if (!e) parsed.set(m, (e = eventOf(m)));
  return e;
}

/** The event frame, built once per message and shared: `offset` (and `epoch`) only for subscriptions that asked. */
function eventFrame(m: Message, e: PusherEvent, channel: string, appId: string, withOffset: boolean): Buffer {
  const key = `pusher${withOffset ? '+offset' : ''}:${appId}`;
  const frames = (m.frames ??= {});
  let f = frames[key];
  if (!f) {
    const extra: Record<string, unknown> = {};
    if (e.userId !== undefined) extra.user_id = e.userId;
    if (withOffset) {
      extra.offset = m.offset;
      if (m.epoch !== undefined) extra.epoch = m.epoch;
    }
    f = frames[key] = frame(e.event, e.data, channel, extra);
  }
  return f;
}

export interface Member {
  user: string;
  /** user_info as JSON text ('null' when none). */
  info: string;
}

export class Subscription implements StreamOutput {
  stream: TopicStream | undefined;
  /** The roster counts this subscription (undone exactly once). */
  counted = false;
  /** Presence: the member change this subscriber's member list is as of; undefined until it has the list. */
  seq: number | undefined;
  private held: MemberChange[] = [];
  /** subscription_succeeded was sent: events and client events may flow. */
  succeeded = false;
  ended = false;
  /** The subscription_count this subscriber was last told (apps with subscriptionCount). */
  toldCount: number | undefined;

  constructor(
    private readonly owner: SubscriptionOwner,
    readonly channel: string,
    readonly topic: string,
    readonly kind: ChannelKind,
    /** Events carry their offset (the client asked for history/resume). */
    readonly withOffsets: boolean,
    /** Presence: who this connection is in the channel. */
    readonly member?: Member,
  ) {}

  send(f: Buffer): void {
    if (!this.ended) this.owner.send(f);
  }

  message(m: Message, _cursor: StreamCursor): void {
    if (this.ended) return;
    const e = eventOfCached(m);
    // The connection that caused the event (HTTP API socket_id, or a client event's sender) does not get it.
    if (e.socketId === this.owner.socketId) return;
    this.owner.send(eventFrame(m, e, this.channel, this.owner.appId, this.withOffsets));
  }

  gap(g: Gap, _cursor: StreamCursor): void {
    if (this.withOffsets && !this.ended) this.owner.send(frame('hookhub:gap', { from: g.from, to: g.to }, this.channel));
  }

  reset(r: Reset, _cursor: StreamCursor): void {
    if (this.withOffsets && !this.ended) this.owner.send(frame('hookhub:reset', { epoch: r.epoch, previous_offset: r.previousOffset }, this.channel));
  }

  overflow(reason: string): void {
    this.owner.overflow(reason);
  }

  writable(): Promise<void> | undefined {
    return this.ended ? undefined : this.owner.writable();
  }

  /** A presence member change anywhere in the cluster: sent unless this subscriber's member list has it already. */
  memberChange(change: MemberChange): void {
    if (this.ended) return;
    if (this.seq === undefined) {
      this.held.push(change);
      return;
    }
    if (change.seq <= this.seq) return;
    this.seq = change.seq;
    if (change.kind === 'member_added') {
      this.owner.send(frame('pusher_internal:member_added', `{"user_id":${JSON.stringify(change.user)},"user_info":${change.info}}`, this.channel));
    } else {
      this.owner.send(frame('pusher_internal:member_removed', { user_id: change.user }, this.channel));
    }
  }

  /** The member list was sent, as of change `seq`: the changes heard meanwhile that came after it follow. */
  membersSent(seq: number): void {
    this.seq = seq;
    const held = this.held;
    this.held = [];
    for (const change of held) this.memberChange(change);
  }
}
