// Single-node stores (memory, sqlite): every user is connected here, there is nobody elsewhere to relay to.
import type { UserRelay } from '../contracts/user-relay.js';

export class LocalUserRelay implements UserRelay {
  send(): void {}

  onFrame(): void {}

  async ask(): Promise<undefined> {
    return undefined;
  }

  onAsk(): void {}
}
