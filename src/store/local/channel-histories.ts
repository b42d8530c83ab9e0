// Single-node stores (memory, sqlite): a history change goes straight to the listeners (this node's
// channels), whose copy is the history; as on a shared store, it reaches them through onChange.
import type { ChannelHistories, HistoryChange, HistoryItem } from '../contracts/channel-histories.js';

export class LocalChannelHistories implements ChannelHistories {
  private readonly listeners: Array<(channel: string, c: HistoryChange) => void> = [];

  async read(): Promise<HistoryItem[]> {
    return [];
  }

  async append(channel: string, item: HistoryItem): Promise<void> {
    this.emit(channel, { append: item });
  }

  async replace(channel: string, items: HistoryItem[]): Promise<void> {
    this.emit(channel, { replace: items });
  }

  async drop(): Promise<void> {}

  onChange(fn: (channel: string, c: HistoryChange) => void): void {
    this.listeners.push(fn);
  }

  private emit(channel: string, c: HistoryChange): void {
    for (const fn of this.listeners) fn(channel, c);
  }
}
