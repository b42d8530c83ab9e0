// Several nodes, one Redis: fan-out between nodes (pub/sub), history (streams), the shared webhook
// queue, WebSub subscriptions, channel records (persistent ones, and which channels exist with their options), and browser channels' presence, state, history and
// private messages. Every key and pub/sub channel starts with --redis-prefix.
import { Redis } from 'ioredis';
import { storeUnavailable } from '../../core/store-down.js';
import type { Store, StoreOptions } from '../contracts/store.js';
import { RedisChannelHistories } from './channel-histories.js';
import { RedisChannelRegistry } from './channel-registry.js';
import { RedisChannelStates } from './channel-states.js';
import { RedisChannelStore } from './channel-store.js';
import { RedisDeliveryQueue } from './delivery-queue.js';
import { RedisEndpointBook, RedisEndpointLimiter } from './endpoints.js';
import { NodeLeases } from './node-leases.js';
import { RedisPresence } from './presence.js';
import { RedisSubscriptions } from './subscriptions.js';
import { RedisTopicLog } from './topic-log.js';
import { RedisUserRelay } from './user-relay.js';
import { RedisPusherRoster } from './pusher-roster.js';

export interface RedisStoreOptions extends StoreOptions {
  /** redis://[user:pass@]host:port[/db] (rediss:// for TLS); the DB number is honoured. */
  url: string;
  /** Prefix of every key and pub/sub channel. */
  prefix: string;
  /** Retry until Redis answers instead of failing at once. */
  wait?: boolean;
  /** Where --redis-wait reports that it is waiting (one line per change of reason). */
  onWait?: (line: string) => void;
  connectTimeoutMs?: number;
}

/** The URL without its password, for messages. */
export function showRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable --redis-url)';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a connection: once (clear error) or, with `wait`, until Redis answers. Reconnects forever afterwards. */
async function open(options: RedisStoreOptions, role: string): Promise<Redis> {
  const shown = showRedisUrl(options.url);
  let started = false;
  let lastError: Error | undefined;
  const client = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    // A command issued while Redis is away fails after a couple of reconnect attempts rather than hanging.
    maxRetriesPerRequest: 2,
    // Until the first connection: no automatic retry (we decide). Then: back off up to 1 s, forever.
    retryStrategy: (times) => (started ? Math.min(times * 100, 1000) : null),
    connectionName: `hookhub-${role}`,
  });
  // Errors surface through the commands and ping(); this keeps them from becoming unhandled events.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  let reported = '';
  for (;;) {
    try {
      await client.connect();
      started = true;
      return client;
    } catch (err) {
      const reason = (lastError ?? (err as Error)).message;
      lastError = undefined;
      if (!options.wait) {
        client.disconnect();
        throw new Error(`cannot connect to Redis at ${shown} (--redis-url): ${reason}`);
      }
      if (reason !== reported) {
        reported = reason;
        (options.onWait ?? ((line) => process.stderr.write(`${line}\n`)))(`hookhub: waiting for Redis at ${shown} (--redis-wait): ${reason}`);
      }
      client.disconnect();
      await sleep(1000);
    }
  }
}

function quit(client: Redis): Promise<unknown> {
  if (client.status === 'ready') return client.quit().catch(() => client.disconnect());
  client.disconnect();
  return Promise.resolve();
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const client = await open(options, 'commands');
  let subscriber: Redis;
  try {
    subscriber = await open(options, 'subscriber');
  } catch (err) {
    client.disconnect();
    throw err;
  }
  const prefix = options.prefix;
  const topics = new RedisTopicLog(client, subscriber, prefix, options.historySize);
  // One lease per node for every part that keeps entries per node (presence, the Pusher roster).
  const leases = new NodeLeases(client, prefix);
  const presence = new RedisPresence(client, subscriber, prefix, leases);
  const states = new RedisChannelStates(client, subscriber, prefix);
  const histories = new RedisChannelHistories(client, subscriber, prefix);
  const relay = new RedisUserRelay(client, subscriber, prefix, presence.node);
  const registry = new RedisChannelRegistry(client, subscriber, prefix);
  const pusher = new RedisPusherRoster(client, subscriber, prefix, leases);
  leases.add(presence);
  leases.add(pusher);
  try {
    await topics.start();
    await presence.start();
    await states.start();
    await histories.start();
    await relay.start();
    await registry.start();
    await pusher.start();
    await leases.start();
  } catch (err) {
    client.disconnect();
    subscriber.disconnect();
    throw err;
  }
  return {
    kind: 'redis',
    topics,
    subscriptions: new RedisSubscriptions(client, prefix),
    deliveries: new RedisDeliveryQueue(client, prefix),
    endpoints: new RedisEndpointBook(client, prefix),
    limiter: new RedisEndpointLimiter(client, prefix),
    channels: new RedisChannelStore(client, prefix),
    registry,
    presence,
    states,
    histories,
    relay,
    pusher,
    assertWritable: () => {
      // No address in the reason: browsers and WebSub publishers see it (/readyz and the logs name it).
      if (client.status !== 'ready') throw storeUnavailable(`Redis is unreachable (connection ${client.status})`);
    },
    ping: async () => {
      for (const [role, c] of [['commands', client], ['subscriber', subscriber]] as const) {
        if (c.status !== 'ready') throw new Error(`Redis ${role} connection is ${c.status}`);
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 1 s')), 1000);
      });
      try {
        await Promise.race([client.ping(), timeout]);
      } catch (err) {
        throw new Error(`Redis did not answer PING: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      topics.close();
      await presence.close();
      await pusher.close();
      // Ends the lease: the survivors reap what this node still holds (presence says 'gone' at once).
      await leases.close();
      await Promise.all([quit(client), quit(subscriber)]);
    },
  };
}
