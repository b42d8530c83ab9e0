// Single-node stores (memory, sqlite): the channel hub's own members and users are all there is.
import type { ChannelPresence } from '../contracts/channel-presence.js';

const NONE: ReadonlySet<string> = new Set();

export class LocalPresence implements ChannelPresence {
  add(): void {}

  remove(): void {}

  remote(): ReadonlySet<string> {
    return NONE;
  }

  onChange(): void {}

  addUser(): void {}

  removeUser(): void {}

  hasRemoteUser(): boolean {
    return false;
  }

  userNodes(): string[] {
    return [];
  }

  async othersAlive(): Promise<boolean> {
    return false;
  }
}
