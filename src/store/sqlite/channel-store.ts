// Persistent channels on disk: options and state survive restarts and kill -9.
import type { Database, Statement } from 'better-sqlite3';
import type { ChannelRecord, ChannelStore } from '../contracts/channel-store.js';
import { migrate } from './schema.js';

const SCHEMA = [
  `CREATE TABLE channels (
     name TEXT PRIMARY KEY,
     options TEXT NOT NULL,
     state TEXT NOT NULL
   );`,
];

export class SqliteChannelStore implements ChannelStore {
  private readonly upsert: Statement;
  private readonly remove: Statement;
  private readonly all: Statement;

  constructor(db: Database) {
    migrate(db, 'channels', SCHEMA);
    this.upsert = db.prepare(
      `INSERT INTO channels (name, options, state) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET options = excluded.options, state = excluded.state`,
    );
    this.remove = db.prepare('DELETE FROM channels WHERE name = ?');
    this.all = db.prepare('SELECT name, options, state FROM channels ORDER BY name');
  }

  async put(record: ChannelRecord): Promise<void> {
    this.upsert.run(record.name, JSON.stringify(record.options), JSON.stringify(record.state));
  }

  async delete(name: string): Promise<void> {
    this.remove.run(name);
  }

  async list(): Promise<ChannelRecord[]> {
    return (this.all.all() as Array<{ name: string; options: string; state: string }>).map((r) => ({
      name: r.name,
      options: JSON.parse(r.options) as Record<string, unknown>,
      state: JSON.parse(r.state) as Record<string, unknown>,
    }));
  }
}
