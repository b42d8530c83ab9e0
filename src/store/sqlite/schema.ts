// Per-part schema migrations: each part of the sqlite store owns its tables and their version.
import type { Database } from 'better-sqlite3';

/** Applies `steps[version..]` for `part` in one transaction each; step i brings the part to version i + 1. */
export function migrate(db: Database, part: string, steps: readonly string[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_versions WHERE part = ?').get(part) as { version: number } | undefined;
  const current = row?.version ?? 0;
  for (let version = current; version < steps.length; version++) {
    db.transaction(() => {
      db.exec(steps[version] as string);
      db.prepare('INSERT INTO schema_versions (part, version) VALUES (?, ?) ON CONFLICT(part) DO UPDATE SET version = excluded.version')
        .run(part, version + 1);
    })();
  }
}
