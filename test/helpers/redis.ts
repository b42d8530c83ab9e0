// Redis for tests: the shared server at HOOKHUB_TEST_REDIS_URL (default 127.0.0.1:6379). Every test uses
// its own random key prefix; the keys under the prefixes a test file used are deleted after it (SCAN + DEL,
// never FLUSHDB).
import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach } from 'vitest';
import type { Store } from '../../src/store/contracts/store.js';
import { createRedisStore } from '../../src/store/redis/index.js';

export const REDIS_URL = process.env.HOOKHUB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * REDIS_URL pointed at another local port (a proxy in front of it, or a port nothing listens on yet),
 * keeping everything else it says — the DB number above all, so that keys go where the run was told.
 */
export function redisUrlAt(port: number): string {
  const url = new URL(REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString().replace(/\/$/, '');
}

/** `text` matched literally inside a RegExp. */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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

/**
 * A TCP proxy in front of the shared Redis: a node connected through it can lose Redis (cut) and get
 * it back (restore) without the shared server being touched.
 */
export class RedisProxy {
  private readonly sockets = new Set<Socket>();
  /** Client-side sockets in the order they were accepted. */
  readonly accepted: Socket[] = [];
  private server: Server | undefined;

  private constructor(readonly port: number) {}

  static async start(port = 0): Promise<RedisProxy> {
    const proxy = new RedisProxy(port);
    await proxy.listen();
    return proxy;
  }

  /** A port nothing listens on yet (the proxy can be started there later). */
  static async freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  get url(): string {
    return redisUrlAt(this.port);
  }

  private async listen(): Promise<void> {
    const target = new URL(REDIS_URL);
    const server = createServer((client) => {
      this.accepted.push(client);
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    (this as { port: number }).port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Drops every connection and stops accepting. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops accepting and drops only the `index`-th connection accepted (the others keep working). */
  drop(index: number): void {
    const server = this.server;
    this.server = undefined;
    this.accepted[index]?.destroy();
    // Not waiting for close(): its callback comes only once the other connections end too.
    server?.close();
  }

  async restore(): Promise<void> {
    if (!this.server) await this.listen();
  }
}

const proxies = new Set<RedisProxy>();
afterEach(async () => {
  for (const p of proxies) await p.cut();
  proxies.clear();
});

/** A proxy cut after the test. */
export async function redisProxy(port = 0): Promise<RedisProxy> {
  const p = await RedisProxy.start(port);
  proxies.add(p);
  return p;
}
