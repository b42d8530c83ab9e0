// The worker pool on its own: per-host limit, no hot loop while idle, shutdown with a drain deadline.
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookDispatcher, type DispatcherOptions } from '../../../src/dispatch/dispatcher.js';
import { MemoryDeliveryQueue } from '../../../src/store/memory/delivery-queue.js';
import type { EndpointLimiter } from '../../../src/store/contracts/endpoints.js';
import { LocalEndpointLimiter } from '../../../src/store/local/endpoint-limiter.js';
import { MemoryEndpointBook } from '../../../src/store/memory/endpoints.js';
import { Receiver } from '../../helpers/receiver.js';
import { sleep, until } from '../../helpers/wait.js';

const running: WebhookDispatcher[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

function dispatcher(over: Partial<DispatcherOptions> = {}): { d: WebhookDispatcher; store: MemoryDeliveryQueue; calls: { claim: number; nextDueAt: number } } {
  const store = new MemoryDeliveryQueue();
  const calls = { claim: 0, nextDueAt: 0 };
  const claim = store.claim.bind(store);
  const nextDueAt = store.nextDueAt.bind(store);
  store.claim = (req) => (calls.claim++, claim(req));
  store.nextDueAt = () => (calls.nextDueAt++, nextDueAt());
  const d = new WebhookDispatcher({
    store,
    registry: new Registry(),
    log: pino({ level: 'silent' }),
    allowPrivateTargets: true,
    timeoutMs: 5000,
    concurrency: 4,
    perHost: 2,
    maxQueueDepth: 10_000,
    retentionMs: 3_600_000,
    schedule: [0, 50],
    ...over,
  });
  running.push(d);
  return { d, store, calls };
}

describe('webhook dispatcher', () => {
  it('a slow host gets at most its per-host slots; other hosts keep flowing', async () => {
    const { d } = dispatcher();
    const release: Array<() => void> = [];
    const slow = await Receiver.start((_req, res) => {
      release.push(() => res.end());
    });
    const fast = await Receiver.start();
    await d.start();
    for (let i = 0; i < 10; i++) await d.enqueue({ url: slow.url, body: Buffer.from(String(i)) });
    await slow.waitFor(2);
    for (let i = 0; i < 6; i++) await d.enqueue({ url: fast.url, body: Buffer.from(String(i)) });
    await fast.waitFor(6);
    expect(slow.received).toHaveLength(2);
    while (slow.received.length < 10) {
      release.splice(0).forEach((fn) => fn());
      await until(() => release.length > 0 || slow.received.length >= 10, 'next slow request');
    }
    release.splice(0).forEach((fn) => fn());
    expect(slow.received.map((r) => r.body.toString()).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('sleeps until the next due time instead of polling the store', async () => {
    const { d, calls } = dispatcher({ schedule: [300] });
    const rx = await Receiver.start();
    await d.start();
    await d.enqueue({ url: rx.url, body: Buffer.from('x') });
    const before = { ...calls };
    await rx.waitFor(1);
    // Woken once by the enqueue and once by the timer at the due time (and once after the attempt).
    expect(calls.claim - before.claim).toBeLessThanOrEqual(4);
    const idle = { ...calls };
    await sleep(500);
    expect(calls.claim - idle.claim).toBeLessThanOrEqual(1);
    expect(calls.nextDueAt - idle.nextDueAt).toBeLessThanOrEqual(1);
  });

  it('stop waits for attempts in flight up to the deadline, then releases the claim unrecorded', async () => {
    const { d, store } = dispatcher({ drainMs: 200 });
    const rx = await Receiver.start(() => {});
    await d.start();
    const { id } = await d.enqueue({ url: rx.url, body: Buffer.from('x') });
    await rx.waitFor(1);
    expect((await store.get(id))!.status).toBe('delivering');
    const t0 = Date.now();
    await d.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const r = await store.get(id);
    expect(r!.status).toBe('pending');
    expect(r!.attempts).toEqual([]);
    expect(await store.depth()).toBe(1);
  });

  it('does not claim after stop; a restarted dispatcher delivers what was left', async () => {
    const { d, store } = dispatcher();
    const rx = await Receiver.start();
    await d.stop();
    await store.enqueue({ id: 'left', url: rx.url, method: 'POST', headers: {}, body: Buffer.from('x'), maxAttempts: 1, nextAt: Date.now() }, { maxDepth: 10, idempotencyWindowMs: 1 });
    await sleep(100);
    expect(rx.received).toHaveLength(0);
    const next = new WebhookDispatcher({ store, registry: new Registry(), log: pino({ level: 'silent' }), allowPrivateTargets: true, timeoutMs: 1000, concurrency: 2, maxQueueDepth: 10, retentionMs: 1000 });
    running.push(next);
    await next.start();
    await rx.waitFor(1);
    expect(rx.received[0]!.headers['webhook-id']).toBe('left');
  });
});

describe('webhook dispatcher: new deliveries for a busy host', () => {
  /** A receiver holding every request until `releaseAll`; bodies in `fail` are answered 500 the first time. */
  async function holdingReceiver(fail: string[] = []): Promise<{ rx: Receiver; releaseAll: () => void; answerAll: () => void }> {
    const held: Array<() => void> = [];
    const failed = new Set<string>();
    let holding = true;
    const rx = await Receiver.start((req, res) => {
      const body = req.body.toString();
      if (fail.includes(body) && !failed.has(body)) {
        failed.add(body);
        res.writeHead(500).end();
        return;
      }
      if (holding) held.push(() => res.end('ok'));
      else res.end('ok');
    });
    return { rx, releaseAll: () => held.splice(0).forEach((fn) => fn()), answerAll: () => (holding = false) };
  }
  const bodies = (rx: Receiver): string[] => rx.received.map((r) => r.body.toString());

  it('wait in memory, claimed as they are written, while the queue holds nothing else due; they go in the order queued', async () => {
    const { d, store } = dispatcher();
    const { rx, releaseAll } = await holdingReceiver();
    await d.start();
    for (const b of ['0', '1']) await d.enqueue({ url: rx.url, body: Buffer.from(b) });
    await rx.waitFor(2);
    const waiting = [];
    for (const b of ['2', '3']) waiting.push((await d.enqueue({ url: rx.url, body: Buffer.from(b) })).id);
    // No slot was free: claimed as written (no claim query needed to take them back).
    for (const id of waiting) expect((await store.get(id))!.status).toBe('delivering');
    while (rx.received.length < 4) {
      releaseAll();
      await until(() => rx.received.length >= 4 || rx.received.length > 2, 'the waiting ones');
    }
    releaseAll();
    expect(bodies(rx)).toEqual(['0', '1', '2', '3']);
  });

  it('queue behind a retry that came due in the store: it is attempted before them', async () => {
    const { d, store } = dispatcher({ schedule: [0, 100] });
    // Claims paused at will: the retry stays in the store, due and unclaimed, as new deliveries arrive.
    let paused = false;
    const claim = store.claim.bind(store);
    store.claim = (req) => (paused ? Promise.resolve([]) : claim(req));
    const { rx, releaseAll } = await holdingReceiver(['a']);
    await d.start();
    const a = (await d.enqueue({ url: rx.url, body: Buffer.from('a') })).id;
    await until(async () => (await store.get(a))!.attempts.length === 1, 'the first attempt of a recorded');
    paused = true;
    for (const b of ['b', 'c']) await d.enqueue({ url: rx.url, body: Buffer.from(b) });
    await rx.waitFor(3);
    const dueAt = (await store.get(a))!.nextAt;
    await until(() => Date.now() > dueAt, 'the retry due');
    const late = (await d.enqueue({ url: rx.url, body: Buffer.from('d') })).id;
    expect((await store.get(late))!.status).toBe('pending'); // written unclaimed, behind the retry
    paused = false;
    while (rx.received.length < 5) {
      releaseAll();
      await until(() => rx.received.length >= 5 || rx.received.length > 3, 'the retry and the late one');
    }
    releaseAll();
    expect(bodies(rx)).toEqual(['a', 'b', 'c', 'a', 'd']);
  });

  it('stop gives back the ones waiting in memory; the next dispatcher on the store delivers them', async () => {
    const { d, store } = dispatcher({ drainMs: 100 });
    const { rx, releaseAll, answerAll } = await holdingReceiver();
    await d.start();
    const ids: string[] = [];
    for (const b of ['0', '1']) ids.push((await d.enqueue({ url: rx.url, body: Buffer.from(b) })).id);
    await rx.waitFor(2);
    for (const b of ['2', '3']) ids.push((await d.enqueue({ url: rx.url, body: Buffer.from(b) })).id);
    expect((await store.get(ids[3] as string))!.status).toBe('delivering');
    await d.stop();
    for (const id of ids) expect(await store.get(id)).toMatchObject({ status: 'pending', attempts: [] });
    answerAll();
    releaseAll();
    const next = new WebhookDispatcher({ store, registry: new Registry(), log: pino({ level: 'silent' }), allowPrivateTargets: true, timeoutMs: 1000, concurrency: 4, maxQueueDepth: 10, retentionMs: 1000 });
    running.push(next);
    await next.start();
    await until(async () => (await Promise.all(ids.map((id) => store.get(id)))).every((r) => r!.status === 'succeeded'), 'every one delivered');
    expect(bodies(rx).slice(2).sort()).toEqual(['0', '1', '2', '3']);
  });
});

describe('webhook dispatcher: endpoint control', () => {
  it('when the permit store fails, a delivery is given back (pending, unattempted), not held; it goes once the store answers', async () => {
    let down = true;
    const limiter = new LocalEndpointLimiter();
    const failing: EndpointLimiter = {
      acquire: (...args) => (down ? Promise.reject(new Error('store down')) : limiter.acquire(...args)),
      release: (...args) => limiter.release(...args),
    };
    const { d, store } = dispatcher({
      endpoints: {
        book: new MemoryEndpointBook(),
        limiter: failing,
        options: { defaults: { concurrency: 1, rate: 0, burst: 0 }, circuit: { failures: 0, failureRate: 0, windowMs: 60_000, minAttempts: 1 }, cooldownMs: 1000, disableAfterMs: 0 },
      },
    });
    const receiver = await Receiver.start();
    await d.start();
    const { id } = await d.enqueue({ url: receiver.url, body: Buffer.from('x') });
    await until(async () => {
      const r = await store.get(id);
      return r?.status === 'pending' && r.attempts.length === 0 || undefined;
    }, 'the delivery given back');
    expect(receiver.received).toHaveLength(0);
    down = false;
    await receiver.waitFor(1);
    await until(async () => (await store.get(id))?.status === 'succeeded' || undefined, 'the delivery sent');
  });
});
