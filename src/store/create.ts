// Picks the store implementation named by --store.
import type { Config } from '../config.js';
import type { Store } from './interface.js';
import { createMemoryStore } from './memory.js';
import { createRedisStore } from './redis.js';
import { createSqliteStore } from './sqlite.js';

export async function createStore(config: Config): Promise<Store> {
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
