// Single-node stores (memory, sqlite): the channel hub's own members are all the presence there is.
import type { ChannelPresence } from './interface.js';

const NONE: ReadonlySet<string> = new Set();

export class LocalPresence implements ChannelPresence {
  add(): void {}

  remove(): void {}

  remote(): ReadonlySet<string> {
    return NONE;
  }

  onChange(): void {}
}
