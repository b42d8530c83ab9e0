// WebSub deliveries across nodes: one node at a time queues a topic's deliveries (each message reaches
// the subscriber once while no node fails), and when that node is killed with SIGKILL another takes the
// topic's turn over and queues what it still owed, from the topic log: every acknowledged message arrives.
import { describe, expect, it } from 'vitest';
import type { Hookhub } from '../../src/server.js';
import { spawnHub } from '../helpers/process.js';
import { REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { Subscriber } from '../helpers/websub.js';

const TOPIC = 'cluster-durable';
const PUBLISHERS = 8;
// What a takeover resumes comes from the topic's history: it must hold what is published meanwhile.
const HISTORY = 5000;

async function publishTo(base: string, body: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/api/topics/${TOPIC}/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    await res.arrayBuffer();
    return res.status === 202;
  } catch {
    return false; // the node is down
  }
}

const bodies = (sub: Subscriber): Map<string, number> => {
  const seen = new Map<string, number>();
  for (const n of sub.notifications) seen.set(n.body.toString(), (seen.get(n.body.toString()) ?? 0) + 1);
  return seen;
};

describe('cluster: durable WebSub deliveries', () => {
  it('one node queues each message once; after it is killed another resumes its backlog', async () => {
    const prefix = redisPrefix();
    const doomed = await spawnHub({
      HOOKHUB_STORE: 'redis',
      HOOKHUB_REDIS_URL: REDIS_URL,
      HOOKHUB_REDIS_PREFIX: prefix,
      HOOKHUB_ALLOW_PRIVATE_TARGETS: '1',
      HOOKHUB_HISTORY_SIZE: String(HISTORY),
    });
    const sub = await Subscriber.start();
    const form = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': TOPIC });
    expect((await fetch(`${doomed.url}/hub`, { method: 'POST', body: form })).status).toBe(202);
    await until(async () => {
      const list = (await (await fetch(`${doomed.url}/api/subscriptions`)).json()) as { subscriptions: Array<{ state: string }> };
      return list.subscriptions[0]?.state === 'active';
    }, 'the subscription to be active');
    // Alone, the doomed node takes the topic's turn with the first message.
    expect(await publishTo(doomed.url, 'first')).toBe(true);
    await sub.waitNotifications(1);
    const survivor: Hookhub = await startHub({ store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix, historySize: HISTORY });

    // Both alive: every message once, whichever node took it.
    const acknowledged = new Set<string>(['first']);
    let next = 0;
    await Promise.all(Array.from({ length: PUBLISHERS }, async (_, p) => {
      while (next < 200) {
        const body = `a-${next++}`;
        if (await publishTo(p % 2 ? doomed.url : survivor.url, body)) acknowledged.add(body);
      }
    }));
    expect(acknowledged.size).toBe(201);
    await sub.waitNotifications(201);
    expect([...bodies(sub).entries()].filter(([, n]) => n > 1)).toEqual([]);

    // The turn holder dies while messages keep coming on both nodes (then on the survivor only).
    let publishing = true;
    const publishers = Array.from({ length: PUBLISHERS }, async (_, p) => {
      while (publishing) {
        const body = `b-${next++}`;
        if (await publishTo(p % 2 ? doomed.url : survivor.url, body)) acknowledged.add(body);
      }
    });
    await until(() => acknowledged.size >= 400, '200 more acknowledged messages', 20_000, 5);
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    await until(() => acknowledged.size >= 600, '200 more acknowledged messages after the kill', 20_000, 5);
    publishing = false;
    await Promise.all(publishers);

    const missing = (): string[] => [...acknowledged].filter((b) => !bodies(sub).has(b));
    await until(() => missing().length === 0, `every acknowledged message at the subscriber (missing ${missing().length})`, 20_000, 100);
    expect(missing()).toEqual([]);
  }, 60_000);
});
