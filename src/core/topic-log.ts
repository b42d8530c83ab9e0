// What core needs from a store to keep topics: an append-only log per topic. Store engines implement it.
import type { Message, NewMessage } from './message.js';

/**
 * Offsets a topic holds: `first` is the oldest kept (last + 1 when none is kept), `last` the newest (0: never
 * published). `epoch` names this run of the log (core/epoch): '' while the store has no log for the topic.
 */
export interface TopicBounds {
  first: number;
  last: number;
  epoch: string;
}

export interface TopicInfo {
  topic: string;
  last: number;
  kept: number;
  historySize: number;
}

/**
 * Per-topic append-only log with bounded history. Offsets start at 1 and only grow, within one epoch: a log
 * the store lost begins again at 1 under a new epoch, and every message carries the epoch of its log.
 */
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
  /** Topics by name (each store's own order), the `limit` first after `after` (all when no limit is given). */
  list(page?: TopicPage): Promise<TopicInfo[]>;
  /** How many topics the store holds. */
  count(): Promise<number>;
}

export interface TopicPage {
  /** Exclusive: the last name of the previous page. */
  after?: string;
  limit?: number;
}
