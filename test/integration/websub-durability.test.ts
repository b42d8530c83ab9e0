// "Acknowledged means delivered" for WebSub: 16 publishers (the topic API and /dispatch _topic) keep
// publishing to a topic with one subscriber while a sqlite server is killed with SIGKILL three times
// and restarted on the same data dir. Every message answered 202 reaches the subscriber (at least once:
// attempts in flight at a kill are repeated, so arrivals are counted by body).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { closeAfterTest, freePort, killGroup, serveKillable } from '../helpers/killable-server.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub, tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { Subscriber, subscribeActive } from '../helpers/websub.js';

const PUBLISHERS = 16;
const KILLS = 3;
/** Acknowledged messages per run before its kill (publishing goes on while the kill lands). */
const PER_RUN = 200;
const TOPIC = 'orders-durable';
it('every message answered 202 reaches the WebSub subscriber across three kill -9 restarts', async () => {
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serverLog: string[] = [];

  // The subscriber: echoes verification challenges, records notification bodies.
  const received = new Map<string, number>();
  const rx = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.end(new URL(req.url ?? '/', 'http://x').searchParams.get('hub.challenge') ?? '');
        return;
      }
      const body = Buffer.concat(chunks).toString();
      received.set(body, (received.get(body) ?? 0) + 1);
      res.end('ok');
    });
  });
  closeAfterTest(rx);
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  const callback = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/cb`;

  let server = await serveKillable({ port, dataDir, retries: 20, logLevel: 'warn', log: serverLog });
  const sub = await fetch(`${base}/hub`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.callback': callback, 'hub.topic': TOPIC }).toString(),
  });
  expect(sub.status).toBe(202);
  await until(async () => {
    const list = (await (await fetch(`${base}/api/subscriptions?topic=${TOPIC}`)).json()) as { subscriptions: Array<{ state: string }> };
    return list.subscriptions[0]?.state === 'active';
  }, 'the subscription to be active');

  // Publishers: each message has a unique body; only a 202 counts as acknowledged. Half go through the
  // topic API, half through /dispatch _topic. Refused connections (the server is down) are tried later.
  const acknowledged = new Set<string>();
  let next = 0;
  let publishing = true;
  let run = 0;
  const publisher = async (p: number): Promise<void> => {
    while (publishing) {
      const body = `m-${next++}`;
      try {
        const res = p % 2 === 0
          ? await fetch(`${base}/api/topics/${TOPIC}/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })
          // A form whose one payload field is the bare `m-<n>`: the published body is exactly that.
          : await fetch(`${base}/dispatch`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `_topic=${TOPIC}&${body}`,
          });
        await res.arrayBuffer();
        if (res.status === 202) acknowledged.add(body);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const publishers = Array.from({ length: PUBLISHERS }, (_, p) => publisher(p));

  for (run = 0; run < KILLS; run++) {
    const target = acknowledged.size + PER_RUN;
    await until(() => acknowledged.size >= target, `${target} acknowledged messages`, 20_000, 5);
    killGroup(server); // down hard while the publishers keep going: no shutdown code runs
    const killed = server;
    await until(() => killed.exitCode !== null || killed.signalCode !== null, 'killed server to exit');
    server = await serveKillable({ port, dataDir, retries: 20, logLevel: 'warn', log: serverLog });
  }
  const target = acknowledged.size + PER_RUN / 4;
  await until(() => acknowledged.size >= target, `${target} acknowledged messages`, 20_000, 5);
  publishing = false;
  await Promise.all(publishers);

  const missing = (): string[] => [...acknowledged].filter((b) => !received.has(b));
  await until(() => missing().length === 0, `every acknowledged message at the subscriber (missing ${missing().length} of ${acknowledged.size})`, 20_000, 100);
  const duplicates = [...received.values()].reduce((sum, n) => sum + n - 1, 0);
  console.log(`websub durability: ${acknowledged.size} acknowledged, ${received.size} distinct bodies arrived, ${duplicates} repeated`);
  expect(serverLog.filter((l) => l.includes('no longer in the topic history'))).toEqual([]);
  expect(missing()).toEqual([]);
}, 90_000);

it('a message published while the webhook queue is full is delivered once the queue has room', async () => {
  const hub = await startHub({ maxQueueDepth: 2, retrySchedule: [0, 100] });
  const sub = await Subscriber.start();
  await subscribeActive(hub, `${sub.url}/cb`, 'full-queue');
  // Two /dispatch deliveries whose target holds its answer fill the queue.
  const held: Array<() => void> = [];
  const slow = await Receiver.start((_req, res) => {
    held.push(() => res.end('ok'));
  });
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${hub.url}/dispatch`, { method: 'POST', body: new URLSearchParams({ _url: `${slow.url}/hook`, i: String(i) }) });
    expect(res.status).toBe(202);
  }
  await slow.waitFor(2);
  const res = await fetch(`${hub.url}/api/topics/full-queue/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'owed' });
  expect(res.status).toBe(202);
  for (const answer of held) answer();
  const [n] = await sub.waitNotifications(1, 15_000);
  expect(n!.body.toString()).toBe('owed');
});
