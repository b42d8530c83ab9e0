// The one publish path and the one subscribe path. Producers call publish(); transports call open().
// Producer → publish → store.append (commit) → onAppend → fan-out, on one node or many.
import { Fanout } from './fanout.js';
import type { Message, NewMessage } from './message.js';
import type { Metrics } from './metrics.js';
import { checkTopicName } from './topic-name.js';
import { TopicStream, type StreamOutput } from './topic-stream.js';
import type { TopicBounds, TopicInfo, TopicLog } from '../store/interface.js';

const REPLAY_PAGE = 1000;

export interface OpenOptions {
  topics: string[];
  /** Per topic, the offset the consumer already has; absent topics start live at the current head. */
  since: ReadonlyMap<string, number>;
  maxPending: number;
}

export class Topics {
  readonly fanout = new Fanout();

  constructor(private readonly log: TopicLog, private readonly metrics: Metrics) {
    log.onAppend((m) => this.fanout.publish(m));
  }

  /** Commits a message; it reaches live consumers on every node. Resolves once durable. */
  async publish(topic: string, input: NewMessage): Promise<Message> {
    checkTopicName(topic);
    const end = this.metrics.publishLatency.startTimer();
    const m = await this.log.append(topic, input);
    end();
    this.metrics.published.inc();
    return m;
  }

  /**
   * Listeners see every committed message, per topic in offset order, whichever producer and (shared
   * stores) whichever node published it; before publish() resolves on the publishing node.
   */
  onAppend(fn: (m: Message) => void): void {
    this.log.onAppend(fn);
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
