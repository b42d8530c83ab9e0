// One contract for every DeliveryQueue implementation (memory; sqlite on disk).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HookhubError } from '../../../src/core/errors.js';
import { HELD_BEHIND_EARLIER, PARKED, type DeliveryQueue, type NewDelivery } from '../../../src/store/contracts/delivery-queue.js';
import { MemoryDeliveryQueue } from '../../../src/store/memory/delivery-queue.js';
import { SqliteDeliveryQueue } from '../../../src/store/sqlite/delivery-queue.js';
import { openSqlite } from '../../../src/store/sqlite/index.js';
import { tempDir } from '../../helpers/server.js';
import { RedisDeliveryQueue } from '../../../src/store/redis/delivery-queue.js';
import { redisPrefix, testRedis } from '../../helpers/redis.js';

const LIMITS = { maxDepth: 1000, idempotencyWindowMs: 24 * 3600_000 };
const attempt = (status: number | null) => ({ at: new Date().toISOString(), status, duration_ms: 1, error: status === 200 ? null : 'x' });

function delivery(over: Partial<NewDelivery> = {}): NewDelivery {
  return { id: randomUUID(), url: 'http://a.example/hook', method: 'POST', headers: {}, body: Buffer.from('x=1'), contentType: 'application/x-www-form-urlencoded', maxAttempts: 3, nextAt: Date.now(), ...over };
}

/**
 * reopen: the same queue as the next process sees it. Claims outlive it on redis (other nodes' claims are
 * alive); on sqlite they were the closed process's own (in memory) and are gone with it.
 */
type Made = { q: DeliveryQueue; reopen?: () => DeliveryQueue; claimsSurviveReopen?: boolean };
const factories: Array<[string, () => Made]> = [
  ['memory', () => ({ q: new MemoryDeliveryQueue() })],
  ['sqlite', () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    return { q: new SqliteDeliveryQueue(db), reopen: () => { db.close(); return new SqliteDeliveryQueue(openSqlite(dir)); }, claimsSurviveReopen: false };
  }],
  ['redis', () => {
    const prefix = redisPrefix();
    return { q: new RedisDeliveryQueue(testRedis(), prefix), reopen: () => new RedisDeliveryQueue(testRedis(), prefix), claimsSurviveReopen: true };
  }],
];

describe.each(factories)('DeliveryQueue contract: %s', (_name, make) => {
  it('keeps every field of a delivery, and claims it once until finished', async () => {
    const { q } = make();
    const d = delivery({ headers: { 'x-a': '1' }, secret: 'whsec_AAAA', timeoutMs: 500, errback: 'http://e.example/', callback: 'http://c.example/', origin: { kind: 'websub', ref: 's1' }, idempotencyKey: 'k' });
    expect(await q.enqueue(d, LIMITS)).toEqual({ id: d.id, created: true });
    const got = await q.get(d.id);
    expect(got).toMatchObject({ id: d.id, url: d.url, method: 'POST', headers: { 'x-a': '1' }, secret: 'whsec_AAAA', timeoutMs: 500, errback: d.errback, callback: d.callback, origin: d.origin, idempotencyKey: 'k', status: 'pending', attempts: [], maxAttempts: 3 });
    expect(got!.body.equals(d.body)).toBe(true);
    const now = Date.now();
    const claimed = await q.claim({ now, limit: 10, leaseMs: 1000, perHost: 10, skipHosts: [] });
    expect(claimed.map((c) => c.id)).toEqual([d.id]);
    expect(claimed[0]!.status).toBe('delivering');
    expect(await q.claim({ now, limit: 10, leaseMs: 1000, perHost: 10, skipHosts: [] })).toEqual([]);
    await q.finish(d.id, { attempt: attempt(200), status: 'succeeded' });
    const done = await q.get(d.id);
    expect(done!.status).toBe('succeeded');
    expect(done!.attempts).toHaveLength(1);
    expect(await q.depth()).toBe(0);
  });

  it('enqueues of the same turn past maxDepth: the refused one rejects queue_full, the others are kept', async () => {
    const { q } = make();
    const [a, b, c] = [delivery(), delivery(), delivery()];
    const limits = { ...LIMITS, maxDepth: 2 };
    const results = await Promise.allSettled([q.enqueue(a, limits), q.enqueue(b, limits), q.enqueue(c, limits)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { id: a.id, created: true } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: { id: b.id, created: true } });
    expect(results[2]!.status).toBe('rejected');
    const err = (results[2] as PromiseRejectedResult).reason as HookhubError;
    expect(err).toBeInstanceOf(HookhubError);
    expect(err.code).toBe('queue_full');
    expect(await q.get(a.id)).toBeDefined();
    expect(await q.get(b.id)).toBeDefined();
    expect(await q.get(c.id)).toBeUndefined();
    expect(await q.depth()).toBe(2);
  });

  it('null secret stays null (unsigned) and absent stays absent (default key)', async () => {
    const { q } = make();
    const a = delivery({ secret: null });
    const b = delivery();
    await q.enqueue(a, LIMITS);
    await q.enqueue(b, LIMITS);
    expect((await q.get(a.id))!.secret).toBeNull();
    expect((await q.get(b.id))!.secret).toBeUndefined();
  });

  it('answers the first id for a repeated idempotency key and refuses past maxDepth', async () => {
    const { q } = make();
    const first = delivery({ idempotencyKey: 'same' });
    await q.enqueue(first, LIMITS);
    expect(await q.enqueue(delivery({ idempotencyKey: 'same' }), LIMITS)).toEqual({ id: first.id, created: false });
    expect(await q.depth()).toBe(1);
    await expect(q.enqueue(delivery(), { ...LIMITS, maxDepth: 1 })).rejects.toBeInstanceOf(HookhubError);
    expect(await q.depth()).toBe(1);
    // Outside the window the key is new again.
    expect((await q.enqueue(delivery({ idempotencyKey: 'same' }), { ...LIMITS, idempotencyWindowMs: -1 })).created).toBe(true);
  });

  it('claims due deliveries oldest first, at most perHost per host, skipping full hosts', async () => {
    const { q } = make();
    const now = Date.now();
    const slow = Array.from({ length: 5 }, (_, i) => delivery({ url: 'http://slow.example/', nextAt: now - 100 + i }));
    const fast = Array.from({ length: 3 }, (_, i) => delivery({ url: 'http://fast.example:8080/', nextAt: now - 50 + i }));
    const later = delivery({ nextAt: now + 60_000 });
    for (const d of [...slow, ...fast, later]) await q.enqueue(d, LIMITS);
    const claimed = await q.claim({ now, limit: 10, leaseMs: 1000, perHost: 2, skipHosts: [] });
    expect(claimed.map((c) => c.id)).toEqual([slow[0]!.id, slow[1]!.id, fast[0]!.id, fast[1]!.id]);
    const next = await q.claim({ now, limit: 10, leaseMs: 1000, perHost: 2, skipHosts: ['slow.example'] });
    expect(next.map((c) => c.id)).toEqual([fast[2]!.id]);
    expect(await q.nextDueAt()).toBe(slow[2]!.nextAt);
  });

  it('claims a lone host past a full one: oldest due first, at most limit and perHost, nothing when only the full host waits', async () => {
    const { q } = make();
    const now = Date.now();
    const full = Array.from({ length: 4 }, (_, i) => delivery({ url: 'http://full.example/', nextAt: now - 200 + i }));
    const lone = Array.from({ length: 5 }, (_, i) => delivery({ url: 'http://Lone.example/x', nextAt: now - 100 + i }));
    const notDue = delivery({ url: 'http://lone.example/', nextAt: now + 60_000 });
    for (const d of [notDue, ...lone.slice().reverse(), ...full]) await q.enqueue(d, LIMITS);
    const skip = ['full.example'];
    const ids = async (limit: number, perHost: number, skipHosts: string[], at = now) =>
      (await q.claim({ now: at, limit, leaseMs: 1000, perHost, skipHosts })).map((r) => r.id);
    expect(await ids(2, 3, skip)).toEqual([lone[0]!.id, lone[1]!.id]);
    expect(await ids(10, 2, skip)).toEqual([lone[2]!.id, lone[3]!.id]);
    expect(await ids(10, 10, skip)).toEqual([lone[4]!.id]);
    expect(await ids(10, 10, skip)).toEqual([]);
    // Lapsed leases are claimed again, at most perHost of the host; the full host's backlog stays put.
    expect(await ids(10, 3, skip, now + 1001)).toHaveLength(3);
    expect(await ids(2, 5, [])).toEqual([full[0]!.id, full[1]!.id]);
  });

  it('reclaims a delivery whose lease lapsed; renew extends it; release and recover hand claims back', async () => {
    const { q } = make();
    const d = delivery();
    await q.enqueue(d, LIMITS);
    const t0 = Date.now();
    expect(await q.claim({ now: t0, limit: 1, leaseMs: 100, perHost: 1, skipHosts: [] })).toHaveLength(1);
    await q.renew([d.id], t0 + 1000);
    expect(await q.claim({ now: t0 + 500, limit: 1, leaseMs: 100, perHost: 1, skipHosts: [] })).toHaveLength(0);
    expect(await q.claim({ now: t0 + 1001, limit: 1, leaseMs: 100, perHost: 1, skipHosts: [] })).toHaveLength(1);
    await q.release([d.id]);
    expect((await q.get(d.id))!.status).toBe('pending');
    expect(await q.claim({ now: Date.now(), limit: 1, leaseMs: 60_000, perHost: 1, skipHosts: [] })).toHaveLength(1);
    // At a time past the lease: a shared store (redis) hands back only claims whose lease lapsed.
    expect(await q.recover(Date.now() + 60_000)).toBe(1);
    expect((await q.get(d.id))!.status).toBe('pending');
  });

  it('survives a reopen (sqlite) with its attempts, and retry grants exactly one more attempt', async () => {
    const made = make();
    let q = made.q;
    const d = delivery({ maxAttempts: 1 });
    await q.enqueue(d, LIMITS);
    await q.claim({ now: Date.now(), limit: 1, leaseMs: 1000, perHost: 1, skipHosts: [] });
    await q.finish(d.id, { attempt: attempt(500), status: 'failed' });
    if (made.reopen) q = made.reopen();
    expect((await q.get(d.id))!.attempts.map((a) => a.status)).toEqual([500]);
    expect(await q.retry(d.id, Date.now())).toBe('queued');
    expect(await q.depth()).toBe(1);
    const r = await q.get(d.id);
    expect(r).toMatchObject({ status: 'pending', maxAttempts: 2 });
    expect(await q.retry('nope', Date.now())).toBe('not_found');
    await q.claim({ now: Date.now(), limit: 1, leaseMs: 1000, perHost: 1, skipHosts: [] });
    expect(await q.retry(d.id, Date.now())).toBe('in_flight');
  });

  it('exhaustiveClaims: claimNow decides as the delivery is written, onExhausted says a claim took all that was due, both in the order asked', async () => {
    const { q } = make();
    if (!q.exhaustiveClaims) return; // a shared store (redis): claims scan a window, other nodes write
    const now = Date.now();
    const order: string[] = [];
    const kept = delivery({ nextAt: now, claimUntil: now + 60_000, claimNow: () => (order.push('kept'), true) });
    const queued = delivery({ nextAt: now, claimUntil: now + 60_000, claimNow: () => (order.push('queued'), false) });
    const other = delivery({ nextAt: now, url: 'http://b.example/hook', claimNow: () => (order.push('other'), true) });
    let exhausted = 0;
    const claimAll = (limit: number, perHost: number) =>
      q.claim({ now: now + 1, limit, leaseMs: 1000, perHost, skipHosts: [], onExhausted: () => (order.push('exhausted'), exhausted++) });
    // Asked together: run in the order asked (a claim between writes sees the ones before it only).
    const [, , first] = await Promise.all([q.enqueue(kept, LIMITS), q.enqueue(queued, LIMITS), claimAll(10, 2), q.enqueue(other, LIMITS)]);
    expect(order).toEqual(['kept', 'queued', 'exhausted', 'other']);
    expect(first.map((r) => r.id)).toEqual([queued.id]); // kept is claimed as written; other came after
    expect((await q.get(kept.id))!.status).toBe('delivering');
    expect(exhausted).toBe(1); // fewer than perHost of its host, fewer than limit: all that was due
    // `other` has no claimUntil: written unclaimed whatever claimNow says.
    const third = delivery({ nextAt: now });
    await q.enqueue(third, LIMITS);
    expect((await claimAll(1, 10)).map((r) => r.id)).toEqual([other.id]); // the limit taken: maybe more
    expect(exhausted).toBe(1);
    expect((await claimAll(10, 1)).map((r) => r.id)).toEqual([third.id]); // its host's share taken: maybe more
    expect(exhausted).toBe(1);
    expect(await claimAll(10, 10)).toEqual([]);
    expect(exhausted).toBe(2);
    expect(await q.nextDueAfter!(now)).toBeUndefined();
    const later = delivery({ nextAt: now + 60_000 });
    await q.enqueue(later, LIMITS);
    expect(await q.nextDueAfter!(now)).toBe(now + 60_000);
  });

  it('a delivery inserted already claimed (claimUntil) is not claimable until its lease lapses', async () => {
    const { q } = make();
    const now = Date.now();
    const d = delivery({ claimUntil: now + 1000 });
    await q.enqueue(d, LIMITS);
    expect((await q.get(d.id))).toMatchObject({ status: 'delivering', leaseUntil: now + 1000 });
    expect(await q.claim({ now, limit: 5, leaseMs: 1000, perHost: 5, skipHosts: [] })).toEqual([]);
    expect((await q.claim({ now: now + 1000, limit: 5, leaseMs: 1000, perHost: 5, skipHosts: [] })).map((r) => r.id)).toEqual([d.id]);
    expect(await q.depth()).toBe(1);
  });

  it('finish enqueues a follow-up in the same commit; lists newest first with filters and cursor; prunes finished', async () => {
    const { q } = make();
    const ds = Array.from({ length: 5 }, (_, i) => delivery({ url: i % 2 ? 'http://odd.example/p' : 'http://even.example/q' }));
    for (const d of ds) await q.enqueue(d, LIMITS);
    await q.claim({ now: Date.now(), limit: 10, leaseMs: 1000, perHost: 10, skipHosts: [] });
    const report = delivery({ url: 'http://errback.example/' });
    await q.finish(ds[0]!.id, { attempt: attempt(410), status: 'failed' }, report);
    expect((await q.get(report.id))!.status).toBe('pending');
    const page1 = await q.list({ limit: 3 });
    expect(page1.map((d) => d.id)).toEqual([report.id, ds[4]!.id, ds[3]!.id]);
    const page2 = await q.list({ limit: 3, before: page1[2]!.seq });
    expect(page2.map((d) => d.id)).toEqual([ds[2]!.id, ds[1]!.id, ds[0]!.id]);
    expect((await q.list({ limit: 10, status: 'failed' })).map((d) => d.id)).toEqual([ds[0]!.id]);
    expect((await q.list({ limit: 10, target: 'odd.example' })).map((d) => d.id)).toEqual([ds[3]!.id, ds[1]!.id]);
    expect((await q.list({ limit: 10, target: 'http://even.example/' })).map((d) => d.id)).toEqual([ds[4]!.id, ds[2]!.id, ds[0]!.id]);
    expect(await q.prune(Date.now() + 1)).toBe(1);
    expect(await q.get(ds[0]!.id)).toBeUndefined();
    expect(await q.get(ds[1]!.id)).toBeDefined();
  });

  it('runs an ordering lane one at a time, in order, past retries, final failures and a resend', async () => {
    const made = make();
    let q = made.q;
    const [a, b, c] = [1, 2, 3].map(() => delivery({ orderKey: 'lane-1' }));
    const free = delivery();
    for (const d of [a!, b!, c!, free]) await q.enqueue(d, LIMITS);
    const t0 = Date.now();
    const claim = async (now: number): Promise<string[]> =>
      (await q.claim({ now, limit: 10, leaseMs: 60_000, perHost: 10, skipHosts: [] })).map((r) => r.id);
    // Only the lane's first and the unordered one are claimable; the others are held, yet counted.
    expect(await claim(t0)).toEqual([a!.id, free.id]);
    expect((await q.get(b!.id))!).toMatchObject({ status: 'pending', nextAt: HELD_BEHIND_EARLIER, orderKey: 'lane-1' });
    expect(await q.depth()).toBe(4);
    expect(await q.nextDueAt()).toBeGreaterThanOrEqual(t0 + 60_000);
    // A retry keeps its place at the head: the next one waits for it.
    await q.finish(a!.id, { attempt: attempt(503), status: 'pending', nextAt: t0 + 5_000 });
    expect(await claim(t0 + 1_000)).toEqual([]);
    expect(await q.retry(b!.id, t0)).toBe('queued'); // a resend of a held one leaves it held
    expect(await claim(t0 + 1_000)).toEqual([]);
    if (made.reopen) q = made.reopen();
    // `free`, claimed (not finished) before the reopen, is claimable again where claims die with the process.
    expect(await claim(t0 + 5_000)).toEqual(made.claimsSurviveReopen === false ? [free.id, a!.id] : [a!.id]);
    // A final failure lets the next one go, due at once.
    await q.finish(a!.id, { attempt: attempt(500), status: 'failed' });
    expect(await claim(Date.now())).toEqual([b!.id]);
    await q.finish(b!.id, { attempt: attempt(200), status: 'succeeded' });
    // A resend of a finished one queues at the end of the lane, behind c.
    expect(await q.retry(a!.id, Date.now())).toBe('queued');
    expect((await q.get(a!.id))!.nextAt).toBe(HELD_BEHIND_EARLIER);
    expect(await claim(Date.now())).toEqual([c!.id]);
    await q.finish(c!.id, { attempt: attempt(200), status: 'succeeded' });
    expect(await claim(Date.now())).toEqual([a!.id]);
    await q.finish(a!.id, { attempt: attempt(200), status: 'succeeded' });
    await q.finish(free.id, { attempt: attempt(200), status: 'succeeded' });
    expect(await q.depth()).toBe(0);
    // An emptied lane starts again: the next ordered delivery is due at once.
    const d = delivery({ orderKey: 'lane-1' });
    await q.enqueue(d, LIMITS);
    expect(await claim(Date.now())).toEqual([d.id]);
  });

  it('pruneBeyond keeps the last updated finished deliveries, never unfinished ones', async () => {
    const { q } = make();
    const ds = Array.from({ length: 4 }, (_, i) => delivery({ url: `http://a.example/${i}` }));
    const open = delivery();
    for (const d of [...ds, open]) await q.enqueue(d, LIMITS);
    for (const d of ds) {
      await q.finish(d.id, { attempt: attempt(200), status: 'succeeded' });
      await new Promise((r) => setTimeout(r, 2)); // distinct update times
    }
    expect(await q.pruneBeyond(2)).toBe(2);
    const left = (await q.list({ limit: 10 })).map((d) => d.id);
    expect(left.sort()).toEqual([open.id, ds[2]!.id, ds[3]!.id].sort());
    expect(await q.pruneBeyond(2)).toBe(0);
  });

  it('parks a claimed delivery (never due, survives a reopen) and unparks by URL, oldest first; a parked lane head keeps its lane held', async () => {
    const made = make();
    const claim = async (q: DeliveryQueue, now: number) => (await q.claim({ now, limit: 10, leaseMs: 1000, perHost: 10, skipHosts: [] })).map((c) => c.id);
    const a = delivery({ url: 'http://down.example/a' });
    const b = delivery({ url: 'http://down.example/b', orderKey: 'lane-p' });
    const c = delivery({ url: 'http://down.example/c', orderKey: 'lane-p' });
    const other = delivery({ url: 'http://up.example/x' });
    for (const d of [a, b, c]) await made.q.enqueue(d, LIMITS);
    expect(await claim(made.q, Date.now())).toEqual([a.id, b.id]);
    await made.q.park(a.id);
    await made.q.park(b.id);
    await made.q.enqueue(other, LIMITS);
    const parked = await made.q.get(a.id);
    expect(parked).toMatchObject({ status: 'pending', nextAt: PARKED, attempts: [] });
    expect(parked!.leaseUntil).toBeUndefined();
    expect(await made.q.depth()).toBe(4);
    const q = made.reopen?.() ?? made.q;
    expect(await claim(q, Date.now() + 3_600_000)).toEqual([other.id]);
    expect(await q.unpark((p) => p.url.startsWith('http://nowhere.example/'), Date.now())).toBe(0);
    expect(await q.unpark((p) => p.url.startsWith('http://down.example/') && p.createdAt <= Date.now(), Date.now(), 1)).toBe(1);
    expect(await claim(q, Date.now())).toEqual([a.id]);
    expect(await q.unpark((p) => p.createdAt > Date.now() + 60_000, Date.now())).toBe(0);
    expect(await q.unpark((p) => p.url.startsWith('http://down.example/'), Date.now())).toBe(1);
    expect(await claim(q, Date.now())).toEqual([b.id]);
    await q.finish(b.id, { attempt: attempt(200), status: 'succeeded' });
    expect(await claim(q, Date.now())).toEqual([c.id]);
  });
});

describe('SqliteDeliveryQueue schema', () => {
  it('upgrades a first-version database in place and keeps its deliveries', async () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    const { migrate } = await import('../../../src/store/sqlite/schema.js');
    const { DELIVERIES_SCHEMA } = await import('../../../src/store/sqlite/delivery-queue.js');
    migrate(db, 'deliveries', DELIVERIES_SCHEMA.slice(0, 1));
    db.prepare(`INSERT INTO deliveries (id, url, host, method, headers, body, secret_mode, max_attempts, status, next_at, created_at, updated_at)
      VALUES ('old', 'http://a.example/', 'a.example', 'POST', '{}', x'', 0, 3, 'pending', 0, 0, 0)`).run();
    const q = new SqliteDeliveryQueue(db);
    expect(db.prepare(`SELECT version FROM schema_versions WHERE part = 'deliveries'`).pluck().get()).toBe(DELIVERIES_SCHEMA.length);
    expect((await q.claim({ now: Date.now(), limit: 5, leaseMs: 1000, perHost: 5, skipHosts: [] })).map((r) => r.id)).toEqual(['old']);
    expect(await q.nextDueAt()).toBeGreaterThan(Date.now());
  });
});

describe('SqliteDeliveryQueue claims (one process per data directory)', () => {
  it('keeps claims in memory: pending on disk, delivering in the log, claimable at once by the next process', async () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    const q = new SqliteDeliveryQueue(db);
    const [a, b] = [delivery(), delivery()];
    await q.enqueue(a!, LIMITS);
    await q.enqueue(b!, LIMITS);
    const now = Date.now();
    expect((await q.claim({ now, limit: 1, leaseMs: 60_000, perHost: 1, skipHosts: [] })).map((r) => r.id)).toEqual([a!.id]);
    expect(db.prepare('SELECT status FROM deliveries WHERE id = ?').pluck().get(a!.id)).toBe('pending');
    expect(await q.get(a!.id)).toMatchObject({ status: 'delivering', leaseUntil: now + 60_000 });
    expect((await q.list({ limit: 10, status: 'delivering' })).map((r) => r.id)).toEqual([a!.id]);
    expect((await q.list({ limit: 10, status: 'pending' })).map((r) => r.id)).toEqual([b!.id]);
    expect(await q.nextDueAt()).toBe(b!.nextAt);
    // Two attempts recorded through claims append to the attempts column as claimed.
    await q.finish(a!.id, { attempt: attempt(503), status: 'pending', nextAt: now });
    await q.claim({ now, limit: 2, leaseMs: 60_000, perHost: 2, skipHosts: [] });
    await q.finish(a!.id, { attempt: attempt(200), status: 'succeeded' });
    expect((await q.get(a!.id))!.attempts.map((x) => x.status)).toEqual([503, 200]);
    expect(await q.depth()).toBe(1);
    // The process dies with b claimed: the next one claims it without waiting for the lease.
    db.close();
    const next = new SqliteDeliveryQueue(openSqlite(dir));
    expect(await next.recover(Date.now())).toBe(0);
    expect((await next.claim({ now: Date.now(), limit: 5, leaseMs: 1000, perHost: 5, skipHosts: [] })).map((r) => r.id)).toEqual([b!.id]);
  });

  it('hands back on recover the deliveries an older version left claimed on disk', async () => {
    const db = openSqlite(tempDir());
    const q = new SqliteDeliveryQueue(db);
    const d = delivery();
    await q.enqueue(d, LIMITS);
    db.prepare(`UPDATE deliveries SET status = 'delivering', lease_until = ? WHERE id = ?`).run(Date.now() + 60_000, d.id);
    expect((await q.get(d.id))!.status).toBe('delivering');
    expect(await q.recover(Date.now())).toBe(1);
    expect((await q.claim({ now: Date.now(), limit: 5, leaseMs: 1000, perHost: 5, skipHosts: [] })).map((r) => r.id)).toEqual([d.id]);
  });

  it('claims the same record whether the fixed part of its row was kept or the row is read whole', async () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    const q = new SqliteDeliveryQueue(db);
    const full = delivery({
      headers: { 'x-a': '1' }, secret: 'whsec_x', timeoutMs: 1500, errback: 'http://e.example/', callback: 'http://c.example/',
      origin: { kind: 'websub', ref: 'sub-1' }, idempotencyKey: 'k-1',
    });
    const bare = delivery({ url: 'http://b.example/hook', secret: null, contentType: undefined, body: Buffer.alloc(0) });
    const ordered = delivery({ url: 'http://c.example/hook', orderKey: 'lane-1' });
    for (const d of [full, bare, ordered]) await q.enqueue(d, LIMITS);
    const now = Date.now();
    const req = { now, limit: 10, leaseMs: 60_000, perHost: 10, skipHosts: [] };
    const kept = await q.claim(req);
    // The next process has kept nothing: it reads every row whole.
    db.close();
    const read = await new SqliteDeliveryQueue(openSqlite(dir)).claim(req);
    expect(kept.map((r) => r.id).sort()).toEqual([full.id, bare.id, ordered.id].sort());
    expect(kept.sort((a, b) => a.seq - b.seq)).toEqual(read.sort((a, b) => a.seq - b.seq));
  });

  it('forgets the rows of a commit that rolled back (their seqs are given again)', async () => {
    const db = openSqlite(tempDir());
    const q = new SqliteDeliveryQueue(db);
    const lost = delivery();
    // A failing insert rolls back its whole group commit: both rows and their seqs are gone.
    db.exec(`CREATE TRIGGER fail_once BEFORE INSERT ON deliveries WHEN NEW.url = '${lost.url}x' BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    const refused = delivery({ url: `${lost.url}x` });
    await expect(Promise.all([q.enqueue(lost, LIMITS), q.enqueue(refused, LIMITS)])).rejects.toThrow('refused');
    const next = delivery({ url: 'http://b.example/other' });
    await q.enqueue(next, LIMITS);
    const claimed = await q.claim({ now: Date.now(), limit: 10, leaseMs: 60_000, perHost: 10, skipHosts: [] });
    expect(claimed.map((r) => [r.id, r.url])).toEqual([[next.id, next.url]]);
  });
});
