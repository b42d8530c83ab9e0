// Single-node stores (memory, sqlite): a change goes straight to the listeners (this node's channels),
// whose copy is the state; as on a shared store, it reaches them through onChange.
import type { ChannelStates, StateChange } from '../contracts/channel-states.js';

export class LocalChannelStates implements ChannelStates {
  private readonly listeners: Array<(channel: string, c: StateChange) => void> = [];

  async read(): Promise<Record<string, unknown>> {
    return {};
  }

  async change(channel: string, c: StateChange): Promise<void> {
    for (const fn of this.listeners) fn(channel, c);
  }

  async drop(): Promise<void> {}

  onChange(fn: (channel: string, c: StateChange) => void): void {
    this.listeners.push(fn);
  }
}
