// One machine, durable: a single SQLite file in --data-dir, WAL mode. Survives restarts and kill -9.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store, StoreOptions } from './interface.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { SqliteDeliveryQueue } from './sqlite-delivery-queue.js';
import { SqliteChannelStore } from './sqlite-channels.js';
import { LocalChannelHistories } from './local-channel-histories.js';
import { LocalChannelStates } from './local-channel-states.js';
import { LocalPresence } from './local-presence.js';
import { LocalUserRelay } from './local-user-relay.js';
import { SqliteTopicLog } from './sqlite-topic-log.js';
import { SqliteSubscriptions } from './sqlite-subscriptions.js';

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

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = openSqlite(options.dataDir);
  const checkpointer = startCheckpointer(db, (message) => process.emitWarning(message, 'HookhubStore'));
  return {
    kind: 'sqlite',
    topics: new SqliteTopicLog(db, options.historySize),
    subscriptions: new SqliteSubscriptions(db),
    deliveries: new SqliteDeliveryQueue(db),
    channels: new SqliteChannelStore(db),
    presence: new LocalPresence(),
    states: new LocalChannelStates(),
    histories: new LocalChannelHistories(),
    relay: new LocalUserRelay(),
    ping: async () => {
      db.prepare('SELECT 1').get();
    },
    close: async () => {
      await checkpointer.stop();
      if (db.open) db.close();
    },
  };
}
