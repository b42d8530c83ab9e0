// The one publish path and the one subscribe path. Producers call publish(); transports call open().
// Producer → publish → store.append (commit) → onAppend → fan-out, on one node or many.
import { HookhubError } from './errors.js';
import { Fanout } from './fanout.js';
import { DEFAULT_MAX_JSON_DEPTH, isJsonType, jsonDepthOver } from './json-input.js';
import type { Message, NewMessage } from './message.js';
import type { Metrics } from './metrics.js';
import { checkTopicName } from './topic-name.js';
import { TopicStream, type StreamOutput } from './topic-stream.js';
import type { TopicBounds, TopicInfo, TopicLog } from '../store/interface.js';

const REPLAY_PAGE = 1000;

/** Where fan-out failures are logged (a pino/Fastify logger fits). */
export interface FanoutLog {
  error(details: Record<string, unknown>, msg: string): void;
}

/** Where a message was being handed on when it threw: a live consumer, a publish listener, the store's append hook. */
export type FanoutStage = 'consumer' | 'listener' | 'store';

export interface OpenOptions {
  topics: string[];
  /** Per topic, the offset the consumer already has; absent topics start live at the current head. */
  since: ReadonlyMap<string, number>;
  maxPending: number;
}

export interface TopicsOptions {
  /** Where fan-out failures are logged. */
  errorLog?: FanoutLog;
  /** JSON-typed payloads nested deeper are refused before they are committed (--max-json-depth). */
  maxJsonDepth?: number;
}

export class Topics {
  readonly fanout: Fanout;
  private readonly publishedListeners: Array<(m: Message) => void> = [];
  private readonly errorLog: FanoutLog | undefined;
  private readonly maxJsonDepth: number;

  constructor(private readonly log: TopicLog, private readonly metrics: Metrics, options: TopicsOptions = {}) {
    this.errorLog = options.errorLog;
    this.maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.fanout = new Fanout((err, m) => this.fanoutFailed('consumer', err, m));
    log.onAppend((m) => {
      try {
        this.fanout.publish(m);
      } catch (err) {
        this.fanoutFailed('store', err, m);
      }
    });
  }

  /** A committed message stays committed: a failure handing it on is logged and counted, never thrown. */
  private fanoutFailed(stage: FanoutStage, err: unknown, m: Message): void {
    this.metrics.fanoutErrors.labels(stage).inc();
    this.errorLog?.error({ err, stage, topic: m.topic, offset: m.offset, id: m.id }, 'a committed message could not be handed on');
  }

  /** Commits a message; it reaches live consumers on every node. Resolves once durable. */
  async publish(topic: string, input: NewMessage): Promise<Message> {
    checkTopicName(topic);
    // Every producer passes here: JSON that no consumer could be sent is refused, not committed.
    if (isJsonType(input.contentType) && jsonDepthOver(input.body, this.maxJsonDepth)) {
      throw new HookhubError('bad_request', `JSON payload nested deeper than ${this.maxJsonDepth} levels (--max-json-depth)`);
    }
    const end = this.metrics.publishLatency.startTimer();
    const m = await this.log.append(topic, input);
    end();
    this.metrics.published.inc();
    for (const fn of this.publishedListeners) {
      try {
        fn(m);
      } catch (err) {
        this.fanoutFailed('listener', err, m);
      }
    }
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

  /** Subscribes `out` to the topics; replays what it missed, reports gaps, then streams live. */
  async open(options: OpenOptions, out: StreamOutput): Promise<TopicStream> {
    const stream = new TopicStream(out, options.maxPending);
    for (const topic of options.topics) this.fanout.add(topic, stream);
    try {
      for (const topic of options.topics) {
        const bounds = await this.log.bounds(topic);
        const since = options.since.get(topic);
        if (since === undefined || since >= bounds.last) {
          stream.positions.set(topic, Math.min(since ?? bounds.last, bounds.last));
          continue;
        }
        let position = since;
        for (;;) {
          const page = await this.log.read(topic, position, REPLAY_PAGE);
          for (const m of page) {
            if (m.offset > position + 1) stream.gap({ topic, from: position + 1, to: m.offset - 1 });
            stream.emit(m);
            position = m.offset;
          }
          if (page.length < REPLAY_PAGE || stream.isClosed) break;
        }
        // History kept less than was missed (or none at all): say so.
        if (position < bounds.last) stream.gap({ topic, from: position + 1, to: bounds.last });
      }
    } catch (err) {
      this.close(options.topics, stream);
      throw err;
    }
    stream.goLive();
    return stream;
  }

  close(topics: readonly string[], stream: TopicStream): void {
    stream.close();
    for (const topic of topics) this.fanout.remove(topic, stream);
  }
}
