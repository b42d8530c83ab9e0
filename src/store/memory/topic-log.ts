// In-process topic log: the default for tests and ephemeral use. Each topic's log gets a new epoch in
// each process: a restarted server begins every topic again at offset 1, and says so.
import { newEpoch } from '../../core/epoch.js';
import { committedMessage, type Message, type NewMessage } from '../../core/message.js';
import type { TopicBounds, TopicInfo, TopicLog, TopicPage } from '../../core/topic-log.js';

interface TopicState {
  epoch: string;
  last: number;
  historySize: number | null;
  messages: Message[];
}

export class MemoryTopicLog implements TopicLog {
  private readonly topics = new Map<string, TopicState>();
  private readonly listeners: Array<(m: Message) => void> = [];

  constructor(private readonly defaultHistorySize: number) {}

  private state(topic: string): TopicState {
    let s = this.topics.get(topic);
    if (!s) this.topics.set(topic, (s = { epoch: newEpoch(), last: 0, historySize: null, messages: [] }));
    return s;
  }

  async append(topic: string, input: NewMessage): Promise<Message> {
    const s = this.state(topic);
    const m = committedMessage(topic, ++s.last, s.epoch, input);
    const size = s.historySize ?? this.defaultHistorySize;
    if (size > 0) {
      s.messages.push(m);
      if (s.messages.length > size) s.messages.splice(0, s.messages.length - size);
    }
    for (const fn of this.listeners) fn(m);
    return m;
  }

  async read(topic: string, since: number, limit: number): Promise<Message[]> {
    const messages = this.topics.get(topic)?.messages ?? [];
    const start = messages.findIndex((m) => m.offset > since);
    return start < 0 ? [] : messages.slice(start, start + limit);
  }

  async bounds(topic: string): Promise<TopicBounds> {
    const s = this.topics.get(topic);
    if (!s) return { first: 1, last: 0, epoch: '' };
    return { first: s.messages[0]?.offset ?? s.last + 1, last: s.last, epoch: s.epoch };
  }

  onAppend(fn: (m: Message) => void): void {
    this.listeners.push(fn);
  }

  async setHistorySize(topic: string, size: number | null): Promise<void> {
    const s = this.state(topic);
    s.historySize = size;
    const keep = size ?? this.defaultHistorySize;
    if (s.messages.length > keep) s.messages.splice(0, s.messages.length - keep);
  }

  async list(page: TopicPage = {}): Promise<TopicInfo[]> {
    const after = page.after;
    const names = [...this.topics.keys()].filter((t) => after === undefined || t > after).sort();
    return names.slice(0, page.limit ?? names.length).map((topic) => {
      const s = this.topics.get(topic) as TopicState;
      return { topic, last: s.last, kept: s.messages.length, historySize: s.historySize ?? this.defaultHistorySize };
    });
  }

  async count(): Promise<number> {
    return this.topics.size;
  }
}
