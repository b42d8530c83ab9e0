// In-process WebSub subscriptions (tests, ephemeral use). Rows are copied in and out.
import { randomUUID } from 'node:crypto';
import type { DeliveryResult, Subscription, SubscriptionIntent, Subscriptions } from '../contracts/subscriptions.js';

const key = (callback: string, topic: string): string => `${topic}\n${callback}`;
const copy = (s: Subscription): Subscription => ({
  ...s,
  lastDelivery: s.lastDelivery ? { ...s.lastDelivery } : null,
  intent: s.intent ? { ...s.intent } : null,
});

export class MemorySubscriptions implements Subscriptions {
  private readonly byId = new Map<string, Subscription>();
  private readonly byKey = new Map<string, string>();

  async request(callback: string, topic: string, intent: SubscriptionIntent): Promise<Subscription | null> {
    const id = this.byKey.get(key(callback, topic));
    let row = id === undefined ? undefined : this.byId.get(id);
    if (!row) {
      if (intent.mode === 'unsubscribe') return null;
      row = {
        id: randomUUID(),
        callback,
        topic,
        state: 'pending',
        secret: intent.secret,
        leaseSeconds: intent.leaseSeconds,
        expiresAt: null,
        createdAt: intent.requestedAt,
        lastDelivery: null,
        intent: null,
        cursor: null,
      };
      this.byId.set(row.id, row);
      this.byKey.set(key(callback, topic), row.id);
    }
    row.intent = { ...intent };
    return copy(row);
  }

  async get(id: string): Promise<Subscription | undefined> {
    const row = this.byId.get(id);
    return row && copy(row);
  }

  async find(callback: string, topic: string): Promise<Subscription | undefined> {
    const id = this.byKey.get(key(callback, topic));
    return id === undefined ? undefined : this.get(id);
  }

  async activate(id: string, token: string, now: number, cursor: number): Promise<boolean> {
    const row = this.byId.get(id);
    if (!row?.intent || row.intent.token !== token || row.intent.mode !== 'subscribe') return false;
    const live = row.state === 'active' && (row.expiresAt ?? 0) > now && row.cursor !== null;
    if (!live) row.cursor = cursor;
    row.state = 'active';
    row.secret = row.intent.secret;
    row.leaseSeconds = row.intent.leaseSeconds;
    row.expiresAt = now + row.intent.leaseSeconds * 1000;
    row.intent = null;
    return true;
  }

  async advance(id: string, offset: number): Promise<void> {
    const row = this.byId.get(id);
    if (row) row.cursor = Math.max(row.cursor ?? 0, offset);
  }

  async takeTurn(): Promise<boolean> {
    return true;
  }

  async endTurns(): Promise<void> {}

  async removeIfIntent(id: string, token: string): Promise<boolean> {
    const row = this.byId.get(id);
    if (!row?.intent || row.intent.token !== token) return false;
    return this.remove(id);
  }

  async dropIntent(id: string, token: string): Promise<void> {
    const row = this.byId.get(id);
    if (!row?.intent || row.intent.token !== token) return;
    if (row.state === 'pending') await this.remove(id);
    else row.intent = null;
  }

  async remove(id: string): Promise<boolean> {
    const row = this.byId.get(id);
    if (!row) return false;
    this.byId.delete(id);
    this.byKey.delete(key(row.callback, row.topic));
    return true;
  }

  async list(topic?: string): Promise<Subscription[]> {
    const rows = [...this.byId.values()].filter((s) => topic === undefined || s.topic === topic);
    return rows.map(copy);
  }

  async withIntent(): Promise<Subscription[]> {
    return [...this.byId.values()].filter((s) => s.intent !== null).map(copy);
  }

  async activeFor(topic: string, now: number): Promise<Subscription[]> {
    return [...this.byId.values()]
      .filter((s) => s.topic === topic && s.state === 'active' && (s.expiresAt ?? 0) > now)
      .map(copy);
  }

  async recordDelivery(id: string, result: DeliveryResult): Promise<void> {
    const row = this.byId.get(id);
    if (row) row.lastDelivery = { ...result };
  }

  async prune(before: number): Promise<number> {
    let n = 0;
    for (const row of [...this.byId.values()]) {
      if (row.state === 'active' && row.intent === null && (row.expiresAt ?? 0) <= before && (await this.remove(row.id))) n++;
    }
    return n;
  }

  async count(): Promise<number> {
    return this.byId.size;
  }
}
