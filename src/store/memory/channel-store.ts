// In-process channel records (persistent channels live as long as the process).
import type { ChannelRecord, ChannelStore } from '../contracts/channel-store.js';

export class MemoryChannelStore implements ChannelStore {
  private readonly records = new Map<string, string>();

  async put(record: ChannelRecord): Promise<void> {
    // Stored as text so later changes to the caller's objects do not leak in.
    this.records.set(record.name, JSON.stringify(record));
  }

  async delete(name: string): Promise<void> {
    this.records.delete(name);
  }

  async list(): Promise<ChannelRecord[]> {
    return [...this.records.values()].map((text) => JSON.parse(text) as ChannelRecord);
  }
}
