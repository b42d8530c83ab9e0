// Exact recovery for connections that track offsets (CONNECT {offsets: true}, Hookhub's client): a
// resubscription says the last offset it saw (SUBSCRIBE {since}) and gets exactly the publishes after it,
// right behind its SUBSCRIBE frame and before any live one. The replay-then-live is core's (Topics.open):
// the connection's own stream replays the history after `since` and then collects what is published until
// the join, when it hands over to the channel's membership in the same turn (no gap, no duplicate).
import type { Message } from '../core/message.js';
import type { Gap, Reset, StreamCursor, StreamOutput, TopicStream } from '../core/topic-stream.js';
import type { StreamPosition, Topics } from '../core/topics.js';
import { ChannelError } from './channel-error.js';
import type { Channel } from './model.js';
import { publishTailWithOffset, type FrameTail } from './protocol.js';

/** Publishes replayed at most (a topic's history is bounded anyway); past it the recovery is incomplete. */
const MAX_REPLAY = 10_000;
/** Live publishes held back while the history is read; past it the subscription fails (try again). */
const MAX_PENDING = 10_000;

/** The SUBSCRIBE frame's extra fields and the PUBLISH frames that follow it, for the subscribing connection. */
export interface CatchUp {
  args: { offset: number; epoch?: string; recovered?: boolean; replayed?: number; reset?: true };
  frames: FrameTail[];
}

/** What the connection's stream has collected so far: the replay, then the live publishes. */
class Collected implements StreamOutput {
  readonly messages: Message[] = [];
  /** History no longer held everything after `since`, or the replay cap was reached. */
  gapped = false;
  wasReset = false;
  overflowed: string | undefined;

  message(m: Message): void {
    this.messages.push(m);
  }
  gap(_g: Gap, _cursor: StreamCursor): void {
    this.gapped = true;
  }
  reset(_r: Reset, _cursor: StreamCursor): void {
    this.wasReset = true;
    // What was collected belongs to the earlier log: the new one is replayed from its start.
    this.messages.length = 0;
  }
  overflow(reason: string): void {
    this.overflowed = reason;
  }
}

/** A tracking connection's recovery in one channel, from the moment it is opened until the join (or not). */
export class CatchingUp {
  private constructor(
    private readonly topics: Topics,
    private readonly topic: string,
    /** SUBSCRIBE {since}: undefined for a first subscription (the frame then carries no recovery fields). */
    private readonly since: StreamPosition | undefined,
    private readonly collected: Collected,
    private readonly stream: TopicStream,
  ) {}

  /** `since`: SUBSCRIBE {since, epoch?} — the last offset the connection saw, and the epoch of that log when it knows. */
  static async open(topics: Topics, topic: string, since: StreamPosition | undefined, maxReplay = MAX_REPLAY): Promise<CatchingUp> {
    const collected = new Collected();
    const positions = new Map(since !== undefined ? [[topic, since]] : []);
    const stream = await topics.open({ topics: [topic], since: positions, maxPending: MAX_PENDING, maxReplay }, collected);
    return new CatchingUp(topics, topic, since, collected, stream);
  }

  /**
   * At the join, synchronously: everything after `since` (after the topic's head when it was opened, for a
   * first subscription) as PUBLISH frames, once each, in offset order. A channel that does not reflect
   * publishes leaves out the subscriber's own. The stream is closed: the membership takes over.
   */
  take(ch: Channel, userName: string): CatchUp {
    this.close();
    const { collected } = this;
    if (collected.overflowed !== undefined) throw new ChannelError(`${ch.name}: ${collected.overflowed}; subscribe again`);
    const own = (m: Message): boolean => !ch.options.reflective && m.author === userName;
    const frames = collected.messages.filter((m) => !own(m)).map(publishTailWithOffset);
    const epoch = this.stream.epochs.get(this.topic) ?? '';
    return {
      args: {
        offset: this.stream.positions.get(this.topic) ?? 0,
        ...(epoch !== '' ? { epoch } : {}),
        ...(this.since !== undefined ? { recovered: !collected.gapped && !collected.wasReset, replayed: frames.length } : {}),
        ...(collected.wasReset ? { reset: true as const } : {}),
      },
      frames,
    };
  }

  /** Idempotent; also after an overflow (the stream stopped, but is still subscribed until closed here). */
  close(): void {
    this.topics.close([this.topic], this.stream);
  }
}
