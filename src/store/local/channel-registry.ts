// Single-node stores (memory, sqlite): a cluster of one. The records and turns live in this process and
// answer what the Redis ones answer (who made a channel first, whose turn it is to destroy it), so the
// channels take one path whatever the store; changes reach the listeners through onChange, once, before
// the call resolves, as on Redis. Records are copied in and out, as JSON goes through Redis.
import type { ChannelRecordChange, ChannelRegistry } from '../contracts/channel-registry.js';

export class LocalChannelRegistry implements ChannelRegistry {
  private readonly records = new Map<string, Record<string, unknown>>();
  private readonly turns = new Set<string>();
  private readonly listeners: Array<(channel: string, c: ChannelRecordChange) => void> = [];

  async get(channel: string): Promise<Record<string, unknown> | undefined> {
    const options = this.records.get(channel);
    return options && structuredClone(options);
  }

  async list(): Promise<Array<{ name: string; options: Record<string, unknown> }>> {
    return [...this.records].map(([name, options]) => ({ name, options: structuredClone(options) }));
  }

  async create(channel: string, options: Record<string, unknown>): Promise<{ created: boolean; options: Record<string, unknown> }> {
    const existing = this.records.get(channel);
    if (existing) return { created: false, options: structuredClone(existing) };
    this.records.set(channel, structuredClone(options));
    this.emit(channel, { set: structuredClone(options) });
    return { created: true, options };
  }

  async update(channel: string, options: Record<string, unknown>): Promise<boolean> {
    if (!this.records.has(channel)) return false;
    this.records.set(channel, structuredClone(options));
    this.emit(channel, { set: structuredClone(options) });
    return true;
  }

  async remove(channel: string): Promise<boolean> {
    if (!this.records.delete(channel)) return false;
    this.emit(channel, { destroyed: true });
    return true;
  }

  /** No other node can hold a turn, and this one's never outlives the process: no lapse needed. */
  async takeTurn(channel: string): Promise<boolean> {
    if (this.turns.has(channel)) return false;
    this.turns.add(channel);
    return true;
  }

  async endTurn(channel: string): Promise<void> {
    this.turns.delete(channel);
  }

  onChange(fn: (channel: string, c: ChannelRecordChange) => void): void {
    this.listeners.push(fn);
  }

  private emit(channel: string, c: ChannelRecordChange): void {
    for (const fn of this.listeners) fn(channel, c);
  }
}
