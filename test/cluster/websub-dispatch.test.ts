// The shared queue across nodes: WebSub deliveries and /dispatch deliveries go out exactly once,
// whichever node took the request.
import { describe, expect, it } from 'vitest';
import { dispatchForm } from '../helpers/dispatch.js';
import { Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { Subscriber, subscribeActive } from '../helpers/websub.js';
import { getJson, publish, startNodes } from './nodes.js';

interface DeliveryView {
  id: string;
  url: string;
  status: string;
  attempts: unknown[];
}

async function deliveries(base: string, query = ''): Promise<DeliveryView[]> {
  const { status, body } = await getJson<{ deliveries: DeliveryView[] }>(`${base}/api/deliveries?limit=500${query}`);
  if (status !== 200) throw new Error(`GET /api/deliveries answered ${status}`);
  return body.deliveries;
}

describe('cluster: shared webhook queue', () => {
  it('a WebSub subscription made on node A gets messages published on node B exactly once', async () => {
    const { nodes: [a, b, c] } = await startNodes(3, { retrySchedule: [0, 200, 200] });
    const sub = await Subscriber.start();
    await subscribeActive(a!, `${sub.url}/cb`, 'cluster-news');
    for (let i = 1; i <= 5; i++) await publish(i % 2 ? b! : c!, 'cluster-news', `n${i}`);
    const notes = await sub.waitNotifications(5);
    // Every node sees the same log: one delivery per message, all done.
    const done = await until(async () => {
      const list = await deliveries(a!.url);
      return list.length === 5 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    }, 'five succeeded deliveries');
    expect(done.every((d) => d.attempts.length === 1)).toBe(true);
    expect(sub.notifications).toHaveLength(5);
    expect(notes.map((n) => n.body.toString()).sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect((await deliveries(c!.url)).map((d) => d.id).sort()).toEqual(done.map((d) => d.id).sort());
  });

  it('/dispatch deliveries enqueued on both nodes are each delivered exactly once', async () => {
    const { nodes: [a, b] } = await startNodes(2, { retrySchedule: [0, 200, 200] });
    const receiver = await Receiver.start();
    const ids = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const res = await dispatchForm((i % 2 ? a! : b!).url, { _url: `${receiver.url}/hook`, n: String(i) });
      expect(res.status).toBe(202);
      return res.json.id as string;
    }));
    await receiver.waitFor(30);
    await until(async () => {
      const list = await deliveries(b!.url, '&status=succeeded');
      return list.length === 30 ? list : undefined;
    }, 'thirty succeeded deliveries');
    const seen = receiver.received.map((r) => r.headers['webhook-id'] as string);
    expect(seen).toHaveLength(30);
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  it('retries due later are claimed by one node each: every delivery is attempted exactly twice', async () => {
    // Every first attempt fails: with the circuit breaker on, the endpoint would open and park the retries
    // (tested in endpoints.test.ts); here the claims are the subject.
    const { nodes } = await startNodes(3, { retrySchedule: [0, 300, 300], circuitFailures: 0, circuitFailureRate: 0 });
    const tries = new Map<string, number>();
    const receiver = await Receiver.start((req, res) => {
      const id = req.headers['webhook-id'] as string;
      tries.set(id, (tries.get(id) ?? 0) + 1);
      res.writeHead(tries.get(id) === 1 ? 503 : 200);
      res.end();
    });
    const ids = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await dispatchForm(nodes[i % 3]!.url, { _url: `${receiver.url}/r`, n: String(i) })).json.id as string));
    await until(async () => (await deliveries(nodes[0]!.url, '&status=succeeded')).length === 30, 'thirty succeeded deliveries');
    expect(receiver.received).toHaveLength(60);
    expect([...tries.keys()].sort()).toEqual([...ids].sort());
    expect([...tries.values()].every((n) => n === 2)).toBe(true);
  });
});
