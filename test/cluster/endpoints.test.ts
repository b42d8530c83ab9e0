// Endpoint control across two nodes on one Redis: limits hold for both together, ordered lanes stay in
// order under them, and a state one node sets (disable) parks the other node's deliveries too.
import { describe, expect, it } from 'vitest';
import { dispatchForm, waitForStatus } from '../helpers/dispatch.js';
import { endpointAction, getEndpoint, putEndpoint, slowReceiver } from '../helpers/endpoints.js';
import { Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { startNodes } from './nodes.js';

async function dispatchAlternating(bases: string[], fields: (i: number) => Record<string, string>, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await dispatchForm(bases[i % bases.length] as string, fields(i));
    expect(r.status).toBe(202);
    ids.push(r.json.id as string);
  }
  return ids;
}

describe('cluster: endpoint control', () => {
  it('a concurrency limit set on one node holds across both', async () => {
    const { nodes: [a, b] } = await startNodes(2, { retrySchedule: [0] });
    const { receiver, maxInFlight } = await slowReceiver(40);
    await putEndpoint(a!.url, receiver.url, { concurrency: 1 });
    await until(async () => (await getEndpoint(b!.url, receiver.url)).json.limits?.concurrency === 1, 'node B to see the limit');
    const ids = await dispatchAlternating([a!.url, b!.url], (i) => ({ _url: `${receiver.url}/c`, n: String(i) }), 8);
    for (const id of ids) expect((await waitForStatus(a!.url, id, 'succeeded')).attempts).toHaveLength(1);
    expect(maxInFlight()).toBe(1);
  });

  it('a rate limit is one bucket for both nodes', async () => {
    const { nodes: [a, b] } = await startNodes(2, { retrySchedule: [0], endpointRate: 5, endpointBurst: 1 });
    const receiver = await Receiver.start();
    const start = Date.now();
    const ids = await dispatchAlternating([a!.url, b!.url], (i) => ({ _url: `${receiver.url}/r`, n: String(i) }), 6);
    for (const id of ids) await waitForStatus(a!.url, id, 'succeeded');
    // One at once, then one per 200 ms: the last permit comes five intervals after the first, which follows `start`.
    expect(Math.max(...receiver.received.map((r) => r.at)) - start).toBeGreaterThanOrEqual(990);
  });

  it('an ordered lane stays in order under limits, whichever node took each delivery', async () => {
    const { nodes: [a, b] } = await startNodes(2, { retrySchedule: [0], endpointRate: 20, endpointBurst: 1, endpointConcurrency: 1 });
    const receiver = await Receiver.start();
    const ids = await dispatchAlternating([a!.url, b!.url], (i) => ({ _url: `${receiver.url}/o`, _ordering_key: 'k', n: String(i) }), 6);
    for (const id of ids) await waitForStatus(b!.url, id, 'succeeded');
    expect(receiver.received.map((r) => r.body.toString())).toEqual(['n=0', 'n=1', 'n=2', 'n=3', 'n=4', 'n=5']);
  });

  it('disabled on one node: the other parks its deliveries; enabled on the other: they go; one event each', async () => {
    const { nodes: [a, b] } = await startNodes(2, { retrySchedule: [0] });
    const receiver = await Receiver.start();
    await endpointAction(a!.url, receiver.url, 'disable');
    await until(async () => (await getEndpoint(b!.url, receiver.url)).json.state === 'disabled', 'node B to see the endpoint disabled');
    const [id] = await dispatchAlternating([b!.url], () => ({ _url: `${receiver.url}/p` }), 1);
    await until(async () => {
      const res = await fetch(`${a!.url}/api/deliveries/${id}`);
      return ((await res.json()) as { parked?: boolean }).parked === true;
    }, 'the delivery to be parked');
    expect(receiver.received).toHaveLength(0);
    await endpointAction(b!.url, receiver.url, 'enable');
    await waitForStatus(a!.url, id as string, 'succeeded');
    const history = (await (await fetch(`${a!.url}/api/topics/hookhub.endpoints/history`)).json()) as { messages: Array<{ data: { type: string } }> };
    expect(history.messages.map((m) => m.data.type)).toEqual(['endpoint.disabled', 'endpoint.enabled']);
  });
});
