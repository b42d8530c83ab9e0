// The store hides where state lives. Small interfaces, one per job; Store bundles them.
import type { Message, NewMessage } from '../core/message.js';

/** Offsets a topic holds: `first` is the oldest kept (last + 1 when none is kept), `last` the newest (0: never published). */
export interface TopicBounds {
  first: number;
  last: number;
}

export interface TopicInfo {
  topic: string;
  last: number;
  kept: number;
  historySize: number;
}

/** Per-topic append-only log with bounded history. Offsets start at 1 and only grow. */
export interface TopicLog {
  /** Commits the message, assigns its offset, then calls every onAppend listener. */
  append(topic: string, m: NewMessage): Promise<Message>;
  /** Messages with offset > since, oldest first, at most `limit`. */
  read(topic: string, since: number, limit: number): Promise<Message[]>;
  bounds(topic: string): Promise<TopicBounds>;
  /** Listeners see every append in offset order per topic (on every node, for shared stores). */
  onAppend(fn: (m: Message) => void): void;
  /** Overrides the history size of one topic (null: back to the default). */
  setHistorySize(topic: string, size: number | null): Promise<void>;
  list(): Promise<TopicInfo[]>;
}

/** A browser channel's lasting settings: options (JSON, Hookbox names) and state keys. */
export interface ChannelRecord {
  name: string;
  options: Record<string, unknown>;
  state: Record<string, unknown>;
}

/** Channels that outlive their subscribers (option `persistent`): kept across restarts. */
export interface ChannelStore {
  put(record: ChannelRecord): Promise<void>;
  delete(name: string): Promise<void>;
  list(): Promise<ChannelRecord[]>;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  readonly topics: TopicLog;
  readonly channels: ChannelStore;
  /** Resolves when the backing store answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  historySize: number;
}
