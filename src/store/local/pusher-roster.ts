// Single-node stores (memory, sqlite): the Pusher roster is this node's counts, and every change is its own.
import type { PusherMembers, PusherRoster, RosterChange, TopicCounts } from '../contracts/pusher-roster.js';

interface Presence {
  /** user → user_info (JSON text) */
  users: Map<string, string>;
  seq: number;
}

export class LocalPusherRoster implements PusherRoster {
  private readonly subs = new Map<string, number>();
  private readonly presence = new Map<string, Presence>();
  private readonly changeListeners: Array<(change: RosterChange, mine: boolean) => void> = [];
  private readonly signalListeners: Array<(note: string) => void> = [];

  async count(topic: string, delta: 1 | -1): Promise<void> {
    const before = this.subs.get(topic) ?? 0;
    const after = Math.max(0, before + delta);
    if (after === 0) this.subs.delete(topic);
    else this.subs.set(topic, after);
    if (before === 0 && after > 0) this.emit({ kind: 'occupied', topic });
    if (before > 0 && after === 0) this.emit({ kind: 'vacated', topic });
  }

  async join(topic: string, user: string, info: string): Promise<PusherMembers> {
    let p = this.presence.get(topic);
    if (!p) this.presence.set(topic, (p = { users: new Map(), seq: 0 }));
    if (!p.users.has(user)) {
      p.users.set(user, info);
      p.seq++;
      this.emit({ kind: 'member_added', topic, user, info, seq: p.seq });
    }
    return { users: new Map(p.users), seq: p.seq };
  }

  async leave(topic: string, user: string): Promise<void> {
    const p = this.presence.get(topic);
    if (!p?.users.delete(user)) return;
    p.seq++;
    this.emit({ kind: 'member_removed', topic, user, seq: p.seq });
    // The counter stays: a later join must not reuse a number a subscriber already saw.
  }

  async members(topic: string): Promise<PusherMembers> {
    const p = this.presence.get(topic);
    return { users: new Map(p?.users ?? []), seq: p?.seq ?? 0 };
  }

  async subscriptions(topic: string): Promise<number> {
    return this.subs.get(topic) ?? 0;
  }

  async occupied(prefix: string): Promise<string[]> {
    return [...this.subs.keys()].filter((t) => t.startsWith(prefix)).sort();
  }

  async occupiedCounts(prefix: string): Promise<TopicCounts[]> {
    return (await this.occupied(prefix)).map((topic) => ({
      topic,
      subscriptions: this.subs.get(topic) ?? 0,
      members: this.presence.get(topic)?.users.size ?? 0,
    }));
  }

  async handOver(): Promise<boolean> {
    return false;
  }

  onChange(fn: (change: RosterChange, mine: boolean) => void): void {
    this.changeListeners.push(fn);
  }

  async signal(note: string): Promise<void> {
    for (const fn of this.signalListeners) fn(note);
  }

  onSignal(fn: (note: string) => void): void {
    this.signalListeners.push(fn);
  }

  private emit(change: RosterChange): void {
    for (const fn of this.changeListeners) fn(change, true);
  }
}
