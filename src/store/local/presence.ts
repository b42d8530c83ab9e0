// Single-node stores (memory, sqlite): the channel hub's own members and users are all there is, so this
// node's first join is the channel's first member, and its last leave the last one.
import type { ChannelPresence, MembershipChange } from '../contracts/channel-presence.js';

const NONE: ReadonlySet<string> = new Set();

type MembershipListener = (change: MembershipChange) => void;

export class LocalPresence implements ChannelPresence {
  /** channel → the users in it. */
  private readonly members = new Map<string, Set<string>>();
  private readonly listeners: MembershipListener[] = [];

  add(channel: string, user: string): void {
    let users = this.members.get(channel);
    if (users?.has(user)) return;
    if (!users) {
      this.members.set(channel, (users = new Set()));
      this.tell({ kind: 'occupied', channel });
    }
    users.add(user);
    this.tell({ kind: 'member_added', channel, user });
  }

  remove(channel: string, user: string): void {
    const users = this.members.get(channel);
    if (!users?.delete(user)) return;
    this.tell({ kind: 'member_removed', channel, user });
    if (users.size > 0) return;
    this.members.delete(channel);
    this.tell({ kind: 'vacated', channel });
  }

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

  onMembership(fn: MembershipListener): void {
    this.listeners.push(fn);
  }

  async flush(): Promise<void> {}

  private tell(change: MembershipChange): void {
    for (const fn of this.listeners) fn(change);
  }
}
