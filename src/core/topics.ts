// The one publish path and the one subscribe path. Producers call publish(); every consumer (transports,
// Pusher, browser channels) comes in through open() or openLive(), never through the fan-out itself.
// Producer → publish → store.append (commit) → onAppend → fan-out, on one node or many.
import { randomUUID } from 'node:crypto';
import { HookhubError } from './errors.js';
import { Fanout } from './fanout.js';
import { DEFAULT_MAX_JSON_DEPTH, isJsonType, jsonDepthOver } from './json-input.js';
import type { Message, NewMessage } from './message.js';
import type { Metrics } from './metrics.js';
import { checkTopicName } from './topic-name.js';
import { TopicStream, type Reset, type StreamOutput } from './topic-stream.js';
import type { TopicBounds, TopicInfo, TopicLog, TopicPage } from './topic-log.js';

/** Messages read per replay page at first and at most; later pages are sized to about REPLAY_PAGE_BYTES. */
const REPLAY_PAGE = 1000;
const REPLAY_FIRST_PAGE = 100;
const REPLAY_PAGE_BYTES = 1024 * 1024;

/** Where a consumer says it stands in a topic: the last offset it has, and the epoch of that log when it knows. */
export interface StreamPosition {
  offset: number;
  epoch?: string;
}

/** Where fan-out failures are logged (a pino/Fastify logger fits). */
export interface FanoutLog {
  error(details: Record<string, unknown>, msg: string): void;
}

/** Where a message was being handed on when it threw: a live consumer, a publish listener, the store's append hook. */
export type FanoutStage = 'consumer' | 'listener' | 'store';

/** The fan-out as seen from outside core (the console's live consumer counts): read only. */
export interface FanoutView {
  /** Live consumers of the topic on this node (a stream, a Pusher subscription, a browser channel). */
  count(topic: string): number;
  /** Topics with at least one live consumer on this node. */
  topics(): string[];
}

export interface OpenOptions {
  topics: string[];
  /** Per topic, the position the consumer already has; absent topics start live at the current head. */
  since: ReadonlyMap<string, StreamPosition>;
  maxPending: number;
  /**
   * Messages replayed at most, over all topics; past it the replay stops and a gap reports the rest
   * (live messages still follow). Absent: everything history holds.
   */
  maxReplay?: number;
}

/** One topic's part of a resume: replay after `from` (nothing when undefined), after a reset when there was one. */
interface Resume {
  topic: string;
  last: number;
  from: number | undefined;
  reset?: Reset;
}

export interface PublishOptions {
  /**
   * What this node's own consumers may know of the message beyond its bytes (a channel publish: its
   * user's payload, the connection it leaves out). The fan-out sees it as Message.local, on this node only.
   */
  local?: object;
}

export interface TopicsOptions {
  /** Where fan-out failures are logged. */
  errorLog?: FanoutLog;
  /** JSON-typed payloads nested deeper are refused before they are committed (--max-json-depth). */
  maxJsonDepth?: number;
  /** Throws (store_unavailable) when the store cannot take a write now: see Store.assertWritable. */
  writable?: () => void;
  /** How many topics the store may hold (--max-topics; 0: no cap). */
  maxTopics?: number;
}

export class Topics {
  /** Only core adds and removes subscribers (open, openLive, close): others read counts through this view. */
  readonly fanout: FanoutView;
  private readonly live: Fanout;
  private readonly errorLog: FanoutLog | undefined;
  private readonly maxJsonDepth: number;
  private readonly writable: () => void;
  private readonly maxTopics: number;

  /** Topics seen to exist (at most about --max-topics): their publishes skip the count. */
  private readonly known = new Set<string>();
  /** New topics whose first publish is in flight on this node: counted before the store has them. */
  private readonly creating = new Set<string>();
  /** PublishOptions.local of this node's publishes in flight, by message id, until the fan-out had them. */
  private readonly locals = new Map<string, object>();

  constructor(private readonly log: TopicLog, private readonly metrics: Metrics, options: TopicsOptions = {}) {
    this.errorLog = options.errorLog;
    this.maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.writable = options.writable ?? (() => {});
    this.maxTopics = options.maxTopics ?? 0;
    this.live = new Fanout((err, m) => this.fanoutFailed('consumer', err, m));
    const live = this.live;
    this.fanout = { count: (topic) => live.count(topic), topics: () => live.topics() };
    log.onAppend((m) => {
      // Most messages have none: no hashing of a fresh id on the way to the first consumer then.
      const local = this.locals.size > 0 ? this.locals.get(m.id) : undefined;
      if (local !== undefined) m.local = local;
      try {
        this.live.publish(m);
      } catch (err) {
        this.fanoutFailed('store', err, m);
      } finally {
        // A stored message (the memory engine keeps this very object) must not hold on to it.
        if (local !== undefined) delete m.local;
      }
    });
  }

  /** A committed message stays committed: a failure handing it on is logged and counted, never thrown. */
  private fanoutFailed(stage: FanoutStage, err: unknown, m: Message): void {
    this.metrics.fanoutErrors.labels(stage).inc();
    this.errorLog?.error({ err, stage, topic: m.topic, offset: m.offset, id: m.id }, 'a committed message could not be handed on');
  }

  /** For producers that commit later (after a callback, a fetch): refuse now rather than half-way. */
  assertWritable(): void {
    this.writable();
  }

  /** Commits a message; it reaches live consumers on every node. Resolves once durable. */
  async publish(topic: string, input: NewMessage, options: PublishOptions = {}): Promise<Message> {
    checkTopicName(topic);
    // Every producer passes here: JSON that no consumer could be sent is refused, not committed.
    if (isJsonType(input.contentType) && jsonDepthOver(input.body, this.maxJsonDepth)) {
      throw new HookhubError('bad_request', `JSON payload nested deeper than ${this.maxJsonDepth} levels (--max-json-depth)`);
    }
    this.writable();
    // Answered at once for a topic already seen (or no cap): no turn of the microtask queue before the fan-out.
    const admitted = this.admitTopic(topic);
    const isNew = admitted === false ? false : await admitted;
    const end = this.metrics.publishLatency.startTimer();
    let m: Message;
    // The store calls the fan-out before append resolves here: the local part waits for it under the id.
    const local = options.local;
    const id = local !== undefined ? (input.id ?? randomUUID()) : undefined;
    if (local !== undefined && id !== undefined) this.locals.set(id, local);
    try {
      m = await this.log.append(topic, id !== undefined ? { ...input, id } : input);
    } finally {
      if (isNew) this.creating.delete(topic);
      if (id !== undefined) this.locals.delete(id);
    }
    if (this.maxTopics > 0) this.known.add(topic);
    end();
    this.metrics.published.inc();
    return m;
  }

  /**
   * Listeners see every committed message, per topic in offset order, whichever producer and (shared
   * stores) whichever node published it; before publish() resolves on the publishing node.
   */
  onAppend(fn: (m: Message) => void): void {
    this.log.onAppend((m) => {
      try {
        fn(m);
      } catch (err) {
        this.fanoutFailed('listener', err, m);
      }
    });
  }

  history(topic: string, since: number, limit: number): Promise<Message[]> {
    return this.log.read(checkTopicName(topic), since, limit);
  }

  bounds(topic: string): Promise<TopicBounds> {
    return this.log.bounds(topic);
  }

  list(page?: TopicPage): Promise<TopicInfo[]> {
    return this.log.list(page);
  }

  count(): Promise<number> {
    return this.log.count();
  }

  /**
   * Refuses the first publish to a new topic once the store holds --max-topics (existing topics keep
   * working). Per node and approximate under concurrency across nodes. True when the topic is new.
   */
  private admitTopic(topic: string): false | Promise<boolean> {
    if (this.maxTopics === 0 || this.known.has(topic) || this.creating.has(topic)) return false;
    return this.admitNewTopic(topic);
  }

  /** admitTopic for a topic this node has not seen: asks the store. */
  private async admitNewTopic(topic: string): Promise<boolean> {
    if ((await this.log.bounds(topic)).last > 0) {
      this.known.add(topic);
      return false;
    }
    const count = await this.log.count();
    if (this.creating.has(topic)) return false;
    if (count + this.creating.size >= this.maxTopics) {
      throw new HookhubError('too_many_topics', `topic limit (${this.maxTopics}) reached: "${topic.slice(0, 100)}" is not created; existing topics still take messages`);
    }
    this.creating.add(topic);
    return true;
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
    for (const topic of options.topics) this.live.add(topic, stream);
    try {
      const resumes: Resume[] = [];
      for (const topic of options.topics) resumes.push(startAt(stream, topic, await this.log.bounds(topic), options.since.get(topic)));
      const budget = { left: options.maxReplay ?? Number.POSITIVE_INFINITY };
      for (const resume of resumes) {
        if (resume.reset) stream.reset(resume.reset);
        if (resume.from !== undefined && !stream.isClosed) await this.replay(stream, resume.topic, resume.from, resume.last, budget);
      }
    } catch (err) {
      this.close(options.topics, stream);
      throw err;
    }
    stream.goLive();
    return stream;
  }

  /**
   * A consumer that needs no history and no position to start from (a browser channel: each member's own
   * recovery is an open() of its own): live from the next message, without a store read that could fail.
   * Its positions are learned from the messages, which it then gets as every stream does: once each, in
   * order, a gap or a reset said first.
   */
  openLive(topic: string, out: StreamOutput): TopicStream {
    const stream = new TopicStream(out, 0);
    stream.goLive();
    this.live.add(topic, stream);
    return stream;
  }

  private async replay(stream: TopicStream, topic: string, since: number, last: number, budget: { left: number }): Promise<void> {
    let position = since;
    let pageSize = REPLAY_FIRST_PAGE;
    while (budget.left > 0) {
      const page = await this.log.read(topic, position, Math.min(pageSize, budget.left));
      let bytes = 0;
      for (const m of page) {
        // The consumer's socket sets the pace: a replay never piles up more than its buffer.
        const wait = stream.writable();
        if (wait) await wait;
        if (stream.isClosed) break;
        stream.emit(m);
        budget.left--;
        position = m.offset;
        bytes += m.body.length;
      }
      if (page.length < pageSize || stream.isClosed) break;
      // Big messages, smaller pages: what one page holds in memory stays near REPLAY_PAGE_BYTES.
      pageSize = Math.max(1, Math.min(REPLAY_PAGE, Math.floor((pageSize * REPLAY_PAGE_BYTES) / Math.max(1, bytes))));
    }
    // History kept less than was missed (or none at all): say so.
    const reached = stream.positions.get(topic) ?? 0;
    if (reached < last) stream.gap({ topic, from: reached + 1, to: last });
  }

  close(topics: readonly string[], stream: TopicStream): void {
    stream.close();
    for (const topic of topics) this.live.remove(topic, stream);
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
