// The one publish path and the one subscribe path. Producers call publish(); transports call open().
// Producer → publish → store.append (commit) → onAppend → fan-out, on one node or many.
import { Fanout } from './fanout.js';
import type { Message, NewMessage } from './message.js';
import type { Metrics } from './metrics.js';
import { checkTopicName } from './topic-name.js';
import { TopicStream, type Reset, type StreamOutput } from './topic-stream.js';
import type { TopicBounds, TopicInfo, TopicLog } from '../store/interface.js';

const REPLAY_PAGE = 1000;

/** Where a consumer says it stands in a topic: the last offset it has, and the epoch of that log when it knows. */
export interface StreamPosition {
  offset: number;
  epoch?: string;
}

export interface OpenOptions {
  topics: string[];
  /** Per topic, the position the consumer already has; absent topics start live at the current head. */
  since: ReadonlyMap<string, StreamPosition>;
  maxPending: number;
}

/** One topic's part of a resume: replay after `from` (nothing when undefined), after a reset when there was one. */
interface Resume {
  topic: string;
  last: number;
  from: number | undefined;
  reset?: Reset;
}

export class Topics {
  readonly fanout = new Fanout();
  private readonly publishedListeners: Array<(m: Message) => void> = [];

  /** `writable` throws (store_unavailable) when the store cannot take a write now: see Store.assertWritable. */
  constructor(private readonly log: TopicLog, private readonly metrics: Metrics, private readonly writable: () => void = () => {}) {
    log.onAppend((m) => this.fanout.publish(m));
  }

  /** For producers that commit later (after a callback, a fetch): refuse now rather than half-way. */
  assertWritable(): void {
    this.writable();
  }

  /** Commits a message; it reaches live consumers on every node. Resolves once durable. */
  async publish(topic: string, input: NewMessage): Promise<Message> {
    checkTopicName(topic);
    this.writable();
    const end = this.metrics.publishLatency.startTimer();
    const m = await this.log.append(topic, input);
    end();
    this.metrics.published.inc();
    for (const fn of this.publishedListeners) fn(m);
    return m;
  }

  /**
   * Listeners run once per message, on the node that published it — for work that must not
   * happen once per node (WebSub deliveries go into the shared queue once).
   */
  onPublished(fn: (m: Message) => void): void {
    this.publishedListeners.push(fn);
  }

  history(topic: string, since: number, limit: number): Promise<Message[]> {
    return this.log.read(checkTopicName(topic), since, limit);
  }

  bounds(topic: string): Promise<TopicBounds> {
    return this.log.bounds(topic);
  }

  list(): Promise<TopicInfo[]> {
    return this.log.list();
  }

  setHistorySize(topic: string, size: number | null): Promise<void> {
    return this.log.setHistorySize(topic, size);
  }

  /**
   * Subscribes `out` to the topics; replays what it missed, reports gaps and resets, then streams live.
   * Every topic's position is known before the first event, so each event can carry all of them.
   */
  async open(options: OpenOptions, out: StreamOutput): Promise<TopicStream> {
    const stream = new TopicStream(out, options.maxPending);
    for (const topic of options.topics) this.fanout.add(topic, stream);
    try {
      const resumes: Resume[] = [];
      for (const topic of options.topics) resumes.push(startAt(stream, topic, await this.log.bounds(topic), options.since.get(topic)));
      for (const resume of resumes) {
        if (resume.reset) stream.reset(resume.reset);
        if (resume.from !== undefined && !stream.isClosed) await this.replay(stream, resume.topic, resume.from, resume.last);
      }
    } catch (err) {
      this.close(options.topics, stream);
      throw err;
    }
    stream.goLive();
    return stream;
  }

  private async replay(stream: TopicStream, topic: string, since: number, last: number): Promise<void> {
    let position = since;
    for (;;) {
      const page = await this.log.read(topic, position, REPLAY_PAGE);
      for (const m of page) {
        stream.emit(m);
        position = m.offset;
      }
      if (page.length < REPLAY_PAGE || stream.isClosed) break;
    }
    // History kept less than was missed (or none at all): say so.
    const reached = stream.positions.get(topic) ?? 0;
    if (reached < last) stream.gap({ topic, from: reached + 1, to: last });
  }

  close(topics: readonly string[], stream: TopicStream): void {
    stream.close();
    for (const topic of topics) this.fanout.remove(topic, stream);
  }
}

/**
 * Whether the log began again since the consumer's position: the position cannot have come from it —
 * another epoch, or (when the consumer gave no epoch) past the head.
 */
export function beganAgainSince(asked: StreamPosition, bounds: TopicBounds): boolean {
  return asked.epoch !== undefined ? asked.epoch !== bounds.epoch : asked.offset > bounds.last;
}

/**
 * Sets the consumer's position in one topic from what it asked and what the log holds. A log that began
 * again since (beganAgainSince) resets the consumer, which then replays the new log from its start.
 */
function startAt(stream: TopicStream, topic: string, bounds: TopicBounds, asked: StreamPosition | undefined): Resume {
  stream.epochs.set(topic, bounds.epoch);
  if (asked === undefined) {
    stream.positions.set(topic, bounds.last);
    return { topic, last: bounds.last, from: undefined };
  }
  if (beganAgainSince(asked, bounds)) {
    // Until the reset is sent, the consumer stands where it said (ids sent meanwhile must not mix the two logs).
    stream.positions.set(topic, asked.offset);
    stream.epochs.set(topic, asked.epoch ?? '');
    const reset: Reset = { topic, epoch: bounds.epoch, previousOffset: asked.offset };
    if (asked.epoch !== undefined) reset.previousEpoch = asked.epoch;
    return { topic, last: bounds.last, from: bounds.last > 0 ? 0 : undefined, reset };
  }
  const offset = Math.min(asked.offset, bounds.last);
  stream.positions.set(topic, offset);
  return { topic, last: bounds.last, from: offset < bounds.last ? offset : undefined };
}
