// One consumer's view of one or more topics: replays history from a position, then goes live
// without a gap or a duplicate (live messages wait while history is read; offsets dedupe the overlap).
// Offsets compare only within one epoch of a topic's log: a message from another epoch means the log
// began again, and the consumer is told (a reset) before it gets the new log's messages from offset 1.
import type { Subscriber } from './fanout.js';
import type { Message } from './message.js';
import { TopicMap } from './topic-map.js';

/** Offsets a consumer missed that history no longer holds: reported, never silent. */
export interface Gap {
  topic: string;
  from: number;
  to: number;
}

/** The topic's log began again under `epoch`: what follows starts over from offset 1. */
export interface Reset {
  topic: string;
  epoch: string;
  /** The epoch the consumer had, when it said or we knew. */
  previousEpoch?: string;
  /** The offset the consumer had reached in that earlier log. */
  previousOffset: number;
}

/** Where a consumer stands: per topic, the offset of the last message sent and the epoch of its log. */
export interface StreamCursor {
  readonly positions: ReadonlyMap<string, number>;
  /** '' for a topic that has no log yet. */
  readonly epochs: ReadonlyMap<string, string>;
}

export interface StreamOutput {
  /** `cursor` includes this message. */
  message(m: Message, cursor: StreamCursor): void;
  gap(g: Gap, cursor: StreamCursor): void;
  reset(r: Reset, cursor: StreamCursor): void;
  overflow(reason: string): void;
  /**
   * During a replay: a promise when the consumer should take what it was sent before more is read and
   * pushed (undefined: go on). Without it a history larger than the consumer's buffer would be pushed
   * at once and the consumer dropped as slow.
   */
  writable?(): Promise<void> | undefined;
}

export class TopicStream implements Subscriber, StreamCursor {
  // Read and written per delivery: a TopicMap, not a Map (one topic's entry is two fields).
  readonly positions = new TopicMap<number>();
  readonly epochs = new TopicMap<string>();
  private pending: Message[] | null = [];
  private closed = false;

  constructor(private readonly out: StreamOutput, private readonly maxPending: number) {}

  deliver(m: Message): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(m);
      if (this.pending.length > this.maxPending) {
        this.close();
        this.out.overflow(`more than ${this.maxPending} messages arrived while history was replayed`);
      }
      return;
    }
    this.emit(m);
  }

  /**
   * Sends a message unless this consumer already has it. A message past the next offset means the ones
   * between are gone for good (a store delivers in offset order and fills what history still holds, e.g.
   * a node cut off from Redis for longer than a topic's history covers): a gap says so first. A message
   * of another epoch than the one the consumer is in means the log began again: a reset says so first.
   */
  emit(m: Message): void {
    const epoch = this.epochs.get(m.topic);
    if (m.epoch !== undefined && m.epoch !== epoch) {
      // No epoch yet ('' or none): the log did not exist when we looked; its first epoch is no reset.
      if (epoch) this.reset({ topic: m.topic, epoch: m.epoch, previousEpoch: epoch, previousOffset: this.positions.get(m.topic) ?? 0 });
      else this.epochs.set(m.topic, m.epoch);
    }
    const last = this.positions.get(m.topic);
    if (last !== undefined && m.offset <= last) return;
    if (last !== undefined && m.offset > last + 1) this.gap({ topic: m.topic, from: last + 1, to: m.offset - 1 });
    this.positions.set(m.topic, m.offset);
    this.out.message(m, this);
  }

  /** See StreamOutput.writable. */
  writable(): Promise<void> | undefined {
    return this.closed ? undefined : this.out.writable?.();
  }

  gap(g: Gap): void {
    this.positions.set(g.topic, g.to);
    this.out.gap(g, this);
  }

  /** Moves the consumer to the start of the topic's new log, and tells it. */
  reset(r: Reset): void {
    this.epochs.set(r.topic, r.epoch);
    this.positions.set(r.topic, 0);
    this.out.reset(r, this);
  }

  /** Ends the replay: messages that arrived meanwhile are sent, in order, minus those replayed. */
  goLive(): void {
    const pending = this.pending ?? [];
    this.pending = null;
    for (const m of pending) if (!this.closed) this.emit(m);
  }

  close(): void {
    this.closed = true;
    this.pending = null;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
