// Single-node stores (memory, sqlite): the channel hub's own channels are all there is; nothing to share.
import type { ChannelRegistry } from '../contracts/channel-registry.js';

export class LocalChannelRegistry implements ChannelRegistry {
  readonly shared = false;

  async list(): Promise<Array<{ name: string; options: Record<string, unknown> }>> {
    return [];
  }

  async get(): Promise<undefined> {
    return undefined;
  }

  async create(_channel: string, options: Record<string, unknown>): Promise<{ created: boolean; options: Record<string, unknown> }> {
    return { created: true, options };
  }

  async update(): Promise<boolean> {
    return true;
  }

  async remove(): Promise<boolean> {
    return true;
  }

  async takeTurn(): Promise<boolean> {
    return true;
  }

  async endTurn(): Promise<void> {}

  onChange(): void {}
}
