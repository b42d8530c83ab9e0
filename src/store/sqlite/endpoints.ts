// Endpoint settings and health on disk: one row per endpoint, its record as JSON (read rarely, written on
// state changes only).
import type { Database, Statement } from 'better-sqlite3';
import type { EndpointBook, EndpointRecord } from '../contracts/endpoints.js';
import { migrate } from './schema.js';

const ENDPOINTS_SCHEMA = [
  `CREATE TABLE endpoints (id TEXT PRIMARY KEY, record TEXT NOT NULL, version INTEGER NOT NULL)`,
];

const parse = (row: { record: string; version: number }): EndpointRecord => ({ ...(JSON.parse(row.record) as EndpointRecord), version: row.version });

export class SqliteEndpointBook implements EndpointBook {
  private readonly all: Statement;
  private readonly one: Statement;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly del: Statement;

  constructor(db: Database) {
    migrate(db, 'endpoints', ENDPOINTS_SCHEMA);
    this.all = db.prepare('SELECT record, version FROM endpoints ORDER BY id');
    this.one = db.prepare('SELECT record, version FROM endpoints WHERE id = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO endpoints (id, record, version) VALUES (?, ?, 1)');
    this.update = db.prepare('UPDATE endpoints SET record = ?, version = version + 1 WHERE id = ? AND version = ?');
    this.del = db.prepare('DELETE FROM endpoints WHERE id = ?');
  }

  async list(): Promise<EndpointRecord[]> {
    return (this.all.all() as Array<{ record: string; version: number }>).map(parse);
  }

  async get(id: string): Promise<EndpointRecord | undefined> {
    const row = this.one.get(id) as { record: string; version: number } | undefined;
    return row && parse(row);
  }

  async put(record: EndpointRecord): Promise<boolean> {
    const { version, ...rest } = record;
    const json = JSON.stringify(rest);
    return (version === 0 ? this.insert.run(record.id, json) : this.update.run(json, record.id, version)).changes === 1;
  }

  async remove(id: string): Promise<void> {
    this.del.run(id);
  }
}
