// POST /dispatch with a JSON array: a batch of webhooks, checked as a whole, committed together.
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { getDelivery, listDeliveries, waitForStatus } from '../helpers/dispatch.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub, stopHub, tempDir } from '../helpers/server.js';

const SECRET = 'whsec_' + Buffer.from('batch signing key, long enough').toString('base64');

async function post(base: string, body: unknown): Promise<{ status: number; json: { ids?: string[]; error?: string } }> {
  const res = await fetch(`${base}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { ids?: string[]; error?: string } };
}

describe('dispatch: batches', () => {
  it('queues every item durably, answers the ids in order, delivers each signed with its own control fields', async () => {
    const dataDir = tempDir();
    const hub = await startHub({ store: 'sqlite', dataDir, signingSecret: SECRET });
    const rx = await Receiver.start();
    const items = [
      { _url: `${rx.url}/a`, n: 1 },
      { _url: `${rx.url}/b`, _method: 'PUT', _headers: { 'x-tenant': 't1' }, n: 2 },
      { _url: `${rx.url}/c`, _ordering_key: 'k', n: 3 },
    ];
    const { status, json } = await post(hub.url, items);
    expect(status).toBe(202);
    expect(json.ids).toHaveLength(3);
    for (const id of json.ids!) await waitForStatus(hub.url, id, 'succeeded');
    const byPath = new Map(rx.received.map((r) => [r.url, r]));
    expect(byPath.get('/b')!.method).toBe('PUT');
    expect(byPath.get('/b')!.headers['x-tenant']).toBe('t1');
    json.ids!.forEach((id, i) => {
      const req = byPath.get(['/a', '/b', '/c'][i]!)!;
      expect(req.headers['webhook-id']).toBe(id);
      expect(new Webhook(SECRET).verify(req.body.toString(), req.headers as Record<string, string>)).toEqual({ n: i + 1 });
    });
    expect((await getDelivery(hub.url, json.ids![2]!)).json.ordering_key).toBe('k');
    await stopHub(hub);
  });

  it('a bad item refuses the whole batch with its index, and nothing is queued', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const cases: Array<[unknown, RegExp]> = [
      [[{ _url: rx.url }, { _url: 'ftp://x/' }], /item 1: .*http/],
      [[{ _url: rx.url }, { n: 1 }], /item 1: a batch queues webhooks: _url is required/],
      [[{ _url: rx.url }, { _url: rx.url, _topic: 't' }], /item 1: give _url or _topic/],
      [[{ _url: rx.url, _headers: 'nope' }], /item 0: _headers must be a JSON object/],
      [[{ _url: rx.url }, 7], /item 1: must be an object/],
      [[{ _url: { nested: true } }], /item 0: _url must be text/],
      [[], /the batch is empty/],
      [Array.from({ length: 1001 }, () => ({ _url: rx.url })), /at most 1000 items/],
    ];
    for (const [body, error] of cases) {
      const res = await post(hub.url, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.json.error).toMatch(error);
    }
    const private_ = await startHub({ allowPrivateTargets: false });
    const refused = await post(private_.url, [{ _url: 'https://example.com/' }, { _url: rx.url }]);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/item 1: /);
    expect((await listDeliveries(hub.url)).json.deliveries).toEqual([]);
    expect((await listDeliveries(private_.url)).json.deliveries).toEqual([]);
    expect(rx.received).toHaveLength(0);
  });

  it('refuses a batch that would pass --max-queue-depth (503), queuing none of it', async () => {
    const hub = await startHub({ maxQueueDepth: 3, retrySchedule: [60_000] });
    const res = await post(hub.url, Array.from({ length: 4 }, (_, n) => ({ _url: 'http://127.0.0.1:9/', n })));
    expect(res.status).toBe(503);
    expect((await listDeliveries(hub.url)).json.deliveries).toEqual([]);
  });
});
