// Single-node stores (memory, sqlite): the node's own channels are all there is; nothing to share.
// Changes still reach the listeners through onChange, as on a shared store (once, before the call resolves).
import type { ChannelRecordChange, ChannelRegistry } from '../contracts/channel-registry.js';

export class LocalChannelRegistry implements ChannelRegistry {
  readonly shared = false;
  private readonly listeners: Array<(channel: string, c: ChannelRecordChange) => void> = [];

  async list(): Promise<Array<{ name: string; options: Record<string, unknown> }>> {
    return [];
  }

  async get(): Promise<undefined> {
    return undefined;
  }

  /** Always made: the node checks its own channels around the call. */
  async create(channel: string, options: Record<string, unknown>): Promise<{ created: boolean; options: Record<string, unknown> }> {
    this.emit(channel, { set: options });
    return { created: true, options };
  }

  async update(channel: string, options: Record<string, unknown>): Promise<boolean> {
    this.emit(channel, { set: options });
    return true;
  }

  async remove(channel: string): Promise<boolean> {
    this.emit(channel, { destroyed: true });
    return true;
  }

  async takeTurn(): Promise<boolean> {
    return true;
  }

  async endTurn(): Promise<void> {}

  onChange(fn: (channel: string, c: ChannelRecordChange) => void): void {
    this.listeners.push(fn);
  }

  private emit(channel: string, c: ChannelRecordChange): void {
    for (const fn of this.listeners) fn(channel, c);
  }
}
