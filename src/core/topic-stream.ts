// One consumer's view of one or more topics: replays history from a position, then goes live
// without a gap or a duplicate (live messages wait while history is read; offsets dedupe the overlap).
import type { Subscriber } from './fanout.js';
import type { Message } from './message.js';

/** Offsets a consumer missed that history no longer holds: reported, never silent. */
export interface Gap {
  topic: string;
  from: number;
  to: number;
}

export interface StreamOutput {
  /** `positions` holds, per topic, the offset of the last message sent (this one included). */
  message(m: Message, positions: ReadonlyMap<string, number>): void;
  gap(g: Gap, positions: ReadonlyMap<string, number>): void;
  overflow(reason: string): void;
  /**
   * During a replay: a promise when the consumer should take what it was sent before more is read and
   * pushed (undefined: go on). Without it a history larger than the consumer's buffer would be pushed
   * at once and the consumer dropped as slow.
   */
  writable?(): Promise<void> | undefined;
}

export class TopicStream implements Subscriber {
  readonly positions = new Map<string, number>();
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
   * a node cut off from Redis for longer than a topic's history covers): a gap says so first.
   */
  emit(m: Message): void {
    const last = this.positions.get(m.topic);
    if (last !== undefined && m.offset <= last) return;
    if (last !== undefined && m.offset > last + 1) this.gap({ topic: m.topic, from: last + 1, to: m.offset - 1 });
    this.positions.set(m.topic, m.offset);
    this.out.message(m, this.positions);
  }

  /** See StreamOutput.writable. */
  writable(): Promise<void> | undefined {
    return this.closed ? undefined : this.out.writable?.();
  }

  gap(g: Gap): void {
    this.positions.set(g.topic, g.to);
    this.out.gap(g, this.positions);
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
