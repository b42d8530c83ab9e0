// Redis for tests: the shared server at HOOKHUB_TEST_REDIS_URL (default 127.0.0.1:6379). Every test uses
// its own random key prefix; the keys under the prefixes a test file used are deleted after it (SCAN + DEL,
// never FLUSHDB).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import type { Store } from '../../src/store/interface.js';
import { createRedisStore } from '../../src/store/redis.js';

export const REDIS_URL = process.env.HOOKHUB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const used = new Set<string>();
let client: Redis | undefined;

/** A fresh key prefix, cleaned up after the file's tests. */
export function redisPrefix(): string {
  const prefix = `hookhub-test:${randomUUID()}:`;
  used.add(prefix);
  return prefix;
}

/** One connection shared by the file's tests (commands queue until it is up). */
export function testRedis(): Redis {
  client ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  return client;
}

export async function openRedisStore(historySize = 100, prefix = redisPrefix()): Promise<Store> {
  return createRedisStore({ url: REDIS_URL, prefix, historySize });
}

/** Keys under a prefix (for cleanup and for tests that look at what was written). */
export async function keysUnder(prefix: string): Promise<string[]> {
  const redis = testRedis();
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function deleteKeysUnder(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  for (let i = 0; i < keys.length; i += 500) await testRedis().del(...keys.slice(i, i + 500));
}

afterAll(async () => {
  if (used.size === 0 && !client) return;
  for (const prefix of used) await deleteKeysUnder(prefix);
  used.clear();
  await client?.quit();
  client = undefined;
});
