// WebSub subscriptions on disk: they, and requests awaiting verification, survive restarts.
import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { migrate } from './schema.js';
import type { DeliveryResult, Subscription, SubscriptionIntent, SubscriptionState, Subscriptions } from '../contracts/subscriptions.js';

const SCHEMA = [
  `CREATE TABLE websub_subscriptions (
     id TEXT PRIMARY KEY,
     callback TEXT NOT NULL,
     topic TEXT NOT NULL,
     state TEXT NOT NULL,
     secret TEXT,
     lease_seconds INTEGER NOT NULL,
     expires_at INTEGER,
     created_at INTEGER NOT NULL,
     last_delivery TEXT,
     intent TEXT,
     UNIQUE (callback, topic)
   );
   CREATE INDEX websub_subscriptions_topic ON websub_subscriptions (topic, state, expires_at);`,
  `ALTER TABLE websub_subscriptions ADD COLUMN cursor INTEGER;`,
];

interface Row {
  id: string;
  callback: string;
  topic: string;
  state: SubscriptionState;
  secret: string | null;
  lease_seconds: number;
  expires_at: number | null;
  created_at: number;
  last_delivery: string | null;
  intent: string | null;
  cursor: number | null;
}

const fromRow = (r: Row): Subscription => ({
  id: r.id,
  callback: r.callback,
  topic: r.topic,
  state: r.state,
  secret: r.secret,
  leaseSeconds: r.lease_seconds,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  lastDelivery: r.last_delivery ? (JSON.parse(r.last_delivery) as DeliveryResult) : null,
  intent: r.intent ? (JSON.parse(r.intent) as SubscriptionIntent) : null,
  cursor: r.cursor,
});

export class SqliteSubscriptions implements Subscriptions {
  private readonly byId: Statement;
  private readonly byKey: Statement;
  private readonly insert: Statement;
  private readonly setIntent: Statement;
  private readonly deleteById: Statement;
  private readonly advanceStmt: Statement;
  private readonly requestTx: (callback: string, topic: string, intent: SubscriptionIntent) => Subscription | null;

  constructor(private readonly db: Database) {
    migrate(db, 'websub', SCHEMA);
    this.byId = db.prepare('SELECT * FROM websub_subscriptions WHERE id = ?');
    this.byKey = db.prepare('SELECT * FROM websub_subscriptions WHERE callback = ? AND topic = ?');
    this.insert = db.prepare(
      `INSERT INTO websub_subscriptions (id, callback, topic, state, secret, lease_seconds, created_at)
       VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
    );
    this.setIntent = db.prepare('UPDATE websub_subscriptions SET intent = ? WHERE id = ?');
    this.deleteById = db.prepare('DELETE FROM websub_subscriptions WHERE id = ?');
    this.advanceStmt = db.prepare('UPDATE websub_subscriptions SET cursor = ? WHERE id = ? AND (cursor IS NULL OR cursor < ?)');
    this.requestTx = db.transaction((callback: string, topic: string, intent: SubscriptionIntent) => {
      let row = this.byKey.get(callback, topic) as Row | undefined;
      if (!row) {
        if (intent.mode === 'unsubscribe') return null;
        const id = randomUUID();
        this.insert.run(id, callback, topic, intent.secret, intent.leaseSeconds, intent.requestedAt);
        row = this.byId.get(id) as Row;
      }
      this.setIntent.run(JSON.stringify(intent), row.id);
      return fromRow({ ...row, intent: JSON.stringify(intent) });
    });
  }

  private row(id: string): Subscription | undefined {
    const r = this.byId.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  async request(callback: string, topic: string, intent: SubscriptionIntent): Promise<Subscription | null> {
    return this.requestTx(callback, topic, intent);
  }

  async get(id: string): Promise<Subscription | undefined> {
    return this.row(id);
  }

  async find(callback: string, topic: string): Promise<Subscription | undefined> {
    const r = this.byKey.get(callback, topic) as Row | undefined;
    return r && fromRow(r);
  }

  async activate(id: string, token: string, now: number, cursor: number): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.row(id);
      if (!row?.intent || row.intent.token !== token || row.intent.mode !== 'subscribe') return false;
      const { secret, leaseSeconds } = row.intent;
      const live = row.state === 'active' && (row.expiresAt ?? 0) > now && row.cursor !== null;
      this.db.prepare(
        `UPDATE websub_subscriptions SET state = 'active', secret = ?, lease_seconds = ?, expires_at = ?, intent = NULL, cursor = ? WHERE id = ?`,
      ).run(secret, leaseSeconds, now + leaseSeconds * 1000, live ? row.cursor : cursor, id);
      return true;
    })();
  }

  async advance(id: string, offset: number): Promise<void> {
    this.advanceStmt.run(offset, id, offset);
  }

  async takeTurn(): Promise<boolean> {
    return true; // one process per data directory (lockDataDir)
  }

  async endTurns(): Promise<void> {}

  async removeIfIntent(id: string, token: string): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.row(id);
      if (!row?.intent || row.intent.token !== token) return false;
      return this.deleteById.run(id).changes > 0;
    })();
  }

  async dropIntent(id: string, token: string): Promise<void> {
    this.db.transaction(() => {
      const row = this.row(id);
      if (!row?.intent || row.intent.token !== token) return;
      if (row.state === 'pending') this.deleteById.run(id);
      else this.setIntent.run(null, id);
    })();
  }

  async remove(id: string): Promise<boolean> {
    return this.deleteById.run(id).changes > 0;
  }

  async list(topic?: string): Promise<Subscription[]> {
    const rows = (topic === undefined
      ? this.db.prepare('SELECT * FROM websub_subscriptions ORDER BY created_at, rowid').all()
      : this.db.prepare('SELECT * FROM websub_subscriptions WHERE topic = ? ORDER BY created_at, rowid').all(topic)) as Row[];
    return rows.map(fromRow);
  }

  async withIntent(): Promise<Subscription[]> {
    return (this.db.prepare('SELECT * FROM websub_subscriptions WHERE intent IS NOT NULL ORDER BY rowid').all() as Row[]).map(fromRow);
  }

  async activeFor(topic: string, now: number): Promise<Subscription[]> {
    return (this.db.prepare(
      `SELECT * FROM websub_subscriptions WHERE topic = ? AND state = 'active' AND expires_at > ? ORDER BY rowid`,
    ).all(topic, now) as Row[]).map(fromRow);
  }

  async recordDelivery(id: string, result: DeliveryResult): Promise<void> {
    this.db.prepare('UPDATE websub_subscriptions SET last_delivery = ? WHERE id = ?').run(JSON.stringify(result), id);
  }

  async prune(before: number): Promise<number> {
    return this.db.prepare(`DELETE FROM websub_subscriptions WHERE state = 'active' AND expires_at <= ? AND intent IS NULL`).run(before).changes;
  }

  async count(): Promise<number> {
    return this.db.prepare('SELECT COUNT(*) FROM websub_subscriptions').pluck().get() as number;
  }
}
