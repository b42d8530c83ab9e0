// Single-node stores (memory, sqlite): a history entry goes straight to the hub, whose copy is the history.
import type { ChannelHistories, HistoryChange, HistoryItem } from '../contracts/channel-histories.js';

export class LocalChannelHistories implements ChannelHistories {
  readonly shared = false;
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
