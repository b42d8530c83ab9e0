// Ordered delivery (`_ordered`, `_ordering_key`): one at a time per lane, in the order queued, with retries
// holding the lane, while unordered deliveries to the same receiver are not held up. Every store engine.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { dispatchForm, dispatchJson, getDelivery, waitForStatus } from '../helpers/dispatch.js';
import { Receiver, type Received } from '../helpers/receiver.js';
import { redisPrefix } from '../helpers/redis.js';
import { startHub, tempDir } from '../helpers/server.js';

const engines: Array<[string, () => Partial<Config>]> = [
  ['memory', () => ({ store: 'memory' })],
  ['sqlite', () => ({ store: 'sqlite', dataDir: tempDir() })],
  ['redis', () => ({ store: 'redis', redisPrefix: redisPrefix() })],
];

const n = (r: Received): string => new URLSearchParams(r.body.toString()).get('n') ?? '?';

describe.each(engines)('ordered deliveries (%s)', (_name, engine) => {
  it('_ordered=1: one at a time in the order queued; a retried one holds the lane; unordered ones pass', async () => {
    const hub = await startHub({ ...engine(), retrySchedule: [0, 300, 300] });
    let inFlight = 0;
    let overlapped = false;
    let firstTries = 0;
    const rx = await Receiver.start(async (req, res) => {
      const which = n(req);
      if (which.startsWith('free')) return void res.end('ok');
      inFlight++;
      if (inFlight > 1) overlapped = true;
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      // The lane's first delivery fails twice before it succeeds.
      if (which === '1' && ++firstTries < 3) {
        res.writeHead(503);
        return void res.end('busy');
      }
      res.end('ok');
    });
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const { status, json } = await dispatchForm(hub.url, { _url: `${rx.url}/hook`, _ordered: '1', n: String(i) });
      expect(status).toBe(202);
      ids.push(json.id as string);
    }
    const free = await dispatchForm(hub.url, { _url: `${rx.url}/hook`, n: 'free' });
    // The unordered delivery goes out while the lane's first waits for its retry.
    await waitForStatus(hub.url, free.json.id as string, 'succeeded');
    const waiting = (await getDelivery(hub.url, ids[4] as string)).json;
    expect(waiting).toMatchObject({ status: 'pending', held: true, ordering_key: `url:${rx.url}/hook` });
    expect(waiting.next_attempt_at).toBeUndefined();
    for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');
    const order = rx.received.map(n).filter((x) => !x.startsWith('free'));
    expect(order).toEqual(['1', '1', '1', '2', '3', '4', '5']);
    expect(overlapped).toBe(false);
    expect((await getDelivery(hub.url, ids[0] as string)).json.attempts.map((a) => a.status)).toEqual([503, 503, 200]);
  });

  it('_ordering_key orders across targets; a final failure lets the next one go; separate keys do not wait', async () => {
    const hub = await startHub({ ...engine(), retrySchedule: [0, 200] });
    const a = await Receiver.start((req, res) => {
      res.writeHead((JSON.parse(req.body.toString()) as { n: string }).n === 'a1' ? 500 : 200);
      res.end();
    });
    const b = await Receiver.start();
    const first = await dispatchJson(hub.url, { _url: `${a.url}/x`, _ordering_key: 'customer-7', n: 'a1' });
    const second = await dispatchJson(hub.url, { _url: `${b.url}/y`, _ordering_key: 'customer-7', n: 'b2' });
    const other = await dispatchJson(hub.url, { _url: `${b.url}/y`, _ordering_key: 'customer-8', n: 'b-other' });
    await waitForStatus(hub.url, other.json.id as string, 'succeeded');
    expect((await getDelivery(hub.url, second.json.id as string)).json.status).toBe('pending');
    const failed = await waitForStatus(hub.url, first.json.id as string, 'failed');
    await waitForStatus(hub.url, second.json.id as string, 'succeeded');
    const got = b.received.find((r) => JSON.parse(r.body.toString()).n === 'b2');
    expect(got!.at).toBeGreaterThanOrEqual(Date.parse(failed.attempts[1]!.at));
    expect(JSON.parse(got!.body.toString())).toEqual({ n: 'b2' });
  });
});

describe('ordered deliveries: bad input', () => {
  it('refuses an _ordered that is not a boolean and an over-long _ordering_key, queuing nothing', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const bad = await dispatchForm(hub.url, { _url: rx.url, _ordered: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/_ordered must be true or false/);
    const long = await dispatchJson(hub.url, { _url: rx.url, _ordering_key: 'k'.repeat(256) });
    expect(long.status).toBe(400);
    expect(long.json.error).toMatch(/_ordering_key is longer than 255/);
    const list = await fetch(`${hub.url}/api/deliveries`).then((r) => r.json() as Promise<{ deliveries: unknown[] }>);
    expect(list.deliveries).toHaveLength(0);
  });
});
