// One machine, durable: a single SQLite file in --data-dir, WAL mode. Survives restarts and kill -9.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store, StoreOptions } from '../contracts/store.js';
import { startCheckpointer } from './checkpointer.js';
import { SqliteDeliveryQueue } from './delivery-queue.js';
import { SqliteChannelStore } from './channel-store.js';
import { SqliteEndpointBook } from './endpoints.js';
import { LocalEndpointLimiter } from '../local/endpoint-limiter.js';
import { LocalChannelHistories } from '../local/channel-histories.js';
import { LocalChannelRegistry } from '../local/channel-registry.js';
import { LocalChannelStates } from '../local/channel-states.js';
import { LocalPresence } from '../local/presence.js';
import { LocalUserRelay } from '../local/user-relay.js';
import { LocalPusherRoster } from '../local/pusher-roster.js';
import { SqliteTopicLog } from './topic-log.js';
import { SqliteSubscriptions } from './subscriptions.js';

export interface SqliteStoreOptions extends StoreOptions {
  dataDir: string;
}

export function openSqlite(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'hookhub.db'));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL: a commit survives a process crash (kill -9); only an OS crash may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Holds the data directory for this process until `close`: the delivery queue keeps its claims in memory,
 * so a second process on the same files would send the same deliveries. An exclusive lock on a file of its
 * own, which the OS drops with the process (kill -9 included); a second process waits up to `waitMs` for
 * it (a killed predecessor may still be exiting), then is refused.
 */
export function lockDataDir(dataDir: string, waitMs = 3000): { close(): void } {
  mkdirSync(dataDir, { recursive: true });
  const lock = new Database(join(dataDir, 'hookhub.lock'));
  try {
    lock.pragma(`busy_timeout = ${waitMs}`);
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, which exclusive locking mode keeps until the connection closes.
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
    lock.transaction(() => {
      lock.exec('DELETE FROM holder');
      lock.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
    })();
  } catch (err) {
    lock.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new Error(`the data directory ${dataDir} is in use by another Hookhub process (one process per --data-dir; use --store redis for several)`);
    }
    throw err;
  }
  return { close: () => lock.close() };
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const lock = lockDataDir(options.dataDir);
  let db: Database.Database;
  try {
    db = openSqlite(options.dataDir);
  } catch (err) {
    lock.close();
    throw err;
  }
  const checkpointer = startCheckpointer(db, (message) => process.emitWarning(message, 'HookhubStore'));
  return {
    kind: 'sqlite',
    topics: new SqliteTopicLog(db, options.historySize),
    subscriptions: new SqliteSubscriptions(db),
    deliveries: new SqliteDeliveryQueue(db),
    endpoints: new SqliteEndpointBook(db),
    limiter: new LocalEndpointLimiter(),
    channels: new SqliteChannelStore(db),
    registry: new LocalChannelRegistry(),
    presence: new LocalPresence(),
    states: new LocalChannelStates(),
    histories: new LocalChannelHistories(),
    relay: new LocalUserRelay(),
    pusher: new LocalPusherRoster(),
    ping: async () => {
      db.prepare('SELECT 1').get();
    },
    assertWritable: () => {},
    close: async () => {
      await checkpointer.stop();
      if (db.open) db.close();
      lock.close();
    },
  };
}
