// Picks the store engine named by --store. The server passes its Config, which has these fields.
import type { Store } from './contracts/store.js';
import { createMemoryStore } from './memory/index.js';
import { createRedisStore } from './redis/index.js';
import { createSqliteStore } from './sqlite/index.js';

export type { Store } from './contracts/store.js';

/** What choosing and opening a store needs (the options of the same names). */
export interface StoreConfig {
  store: 'memory' | 'sqlite' | 'redis';
  historySize: number;
  dataDir: string;
  redisUrl: string;
  redisPrefix: string;
  redisWait: boolean;
}

export async function createStore(config: StoreConfig): Promise<Store> {
  const options = { historySize: config.historySize };
  switch (config.store) {
    case 'memory':
      return createMemoryStore(options);
    case 'sqlite':
      return createSqliteStore({ ...options, dataDir: config.dataDir });
    case 'redis':
      return createRedisStore({ ...options, url: config.redisUrl, prefix: config.redisPrefix, wait: config.redisWait });
  }
}
