// The store engines the browser-channel contracts (presence, states, histories, user relay) run on: the
// single-node ones (memory and sqlite, both on store/local) and Redis. `join` opens another node on the same
// shared data; single-node engines have none (a store there is the only node there is).
import { afterEach } from 'vitest';
import type { Store } from '../../../src/store/contracts/store.js';
import { createMemoryStore } from '../../../src/store/memory/index.js';
import { createSqliteStore } from '../../../src/store/sqlite/index.js';
import { tempDir } from '../../helpers/server.js';
import { openRedisStore, redisPrefix } from '../../helpers/redis.js';

export interface Opened {
  store: Store;
  /** Another node on the same shared store (shared engines only). */
  join?: () => Promise<Store>;
}

export interface ChannelEngine {
  name: string;
  /** Whether the engine keeps state, history and presence for other nodes (single-node ones read back nothing). */
  shared: boolean;
  open(): Promise<Opened>;
}

const open: Store[] = [];
const track = (store: Store): Store => {
  open.push(store);
  return store;
};

afterEach(async () => {
  for (const store of open.splice(0).reverse()) await store.close();
});

/** A store closed by the test (or after it, when the test left it open). */
export async function closeNode(store: Store): Promise<void> {
  const i = open.indexOf(store);
  if (i >= 0) open.splice(i, 1);
  await store.close();
}

export const channelEngines: ChannelEngine[] = [
  { name: 'memory', shared: false, open: async () => ({ store: track(createMemoryStore({ historySize: 100 })) }) },
  { name: 'sqlite', shared: false, open: async () => ({ store: track(createSqliteStore({ historySize: 100, dataDir: tempDir() })) }) },
  {
    name: 'redis',
    shared: true,
    open: async () => {
      const prefix = redisPrefix();
      return { store: track(await openRedisStore(100, prefix)), join: async () => track(await openRedisStore(100, prefix)) };
    },
  },
];
