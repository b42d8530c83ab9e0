// Browser-channel history (Hookbox `history`), shared by the nodes of a store.

/** A browser channel's history entry as the hub writes it (JSON); `id` tells entries apart. */
export interface HistoryItem {
  id: string;
  entry: unknown;
}

export type HistoryChange = { append: HistoryItem } | { replace: HistoryItem[] };

/**
 * Browser-channel history (Hookbox `history`), one list per channel for every node of a shared store.
 * Like ChannelStates: every change reaches the listeners of every node (this one's too) once, in one order.
 */
export interface ChannelHistories {
  /** The channel's shared history, oldest first (empty when none is kept: a single-node store). */
  read(channel: string): Promise<HistoryItem[]>;
  /**
   * Appends an entry, keeping the newest `keep`. With `offset` (a PUBLISH: every node that has the channel
   * records it) the entry is appended once, by the first node, and only if no later offset was.
   */
  append(channel: string, item: HistoryItem, keep: number, offset?: number): Promise<void>;
  replace(channel: string, items: HistoryItem[]): Promise<void>;
  /** Forgets the channel's history (the channel is gone on every node), unless the channel is persistent. */
  drop(channel: string): Promise<void>;
  onChange(fn: (channel: string, c: HistoryChange) => void): void;
}
