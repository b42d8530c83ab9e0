// In-process webhook queue and delivery log: the default for tests and ephemeral use.
import { HookhubError } from '../../core/errors.js';
import { HELD_BEHIND_EARLIER, PARKED, type ParkedDelivery, type AttemptOutcome, type ClaimRequest, type DeliveryLimits, type DeliveryQuery, type DeliveryQueue, type DeliveryRecord, type NewDelivery } from '../contracts/delivery-queue.js';
import { deliveryHost, matchesTarget } from '../contracts/delivery-target.js';

const copy = (r: DeliveryRecord): DeliveryRecord => ({ ...r, headers: { ...r.headers }, attempts: [...r.attempts] });
const unfinished = (r: DeliveryRecord): boolean => r.status === 'pending' || r.status === 'delivering';

export class MemoryDeliveryQueue implements DeliveryQueue {
  /** One process, and a claim looks at every due delivery. */
  readonly exhaustiveClaims = true;
  private readonly records = new Map<string, DeliveryRecord>();
  private readonly keys = new Map<string, { id: string; at: number }>();
  /** Pending and delivering records: what claims and due times look at. */
  private readonly live = new Map<string, DeliveryRecord>();
  /** Ordering key → its unfinished deliveries' ids, in order; the first is the one that may run. */
  private readonly lanes = new Map<string, string[]>();
  private seq = 0;

  /** Appends an (unfinished) ordered delivery to its lane; held unless it is the lane's first. */
  private joinLane(r: DeliveryRecord): void {
    if (r.orderKey === undefined) return;
    const lane = this.lanes.get(r.orderKey) ?? [];
    this.lanes.set(r.orderKey, lane);
    lane.push(r.id);
    if (lane.length > 1) r.nextAt = HELD_BEHIND_EARLIER;
  }

  /** A finished ordered delivery leaves its lane; the next one becomes due now. */
  private leaveLane(r: DeliveryRecord, now: number): void {
    if (r.orderKey === undefined) return;
    const lane = this.lanes.get(r.orderKey);
    const at = lane?.indexOf(r.id) ?? -1;
    if (!lane || at < 0) return;
    lane.splice(at, 1);
    if (lane.length === 0) {
      this.lanes.delete(r.orderKey);
      return;
    }
    const head = this.records.get(lane[0] as string);
    if (head && head.nextAt === HELD_BEHIND_EARLIER) head.nextAt = now;
  }

  async enqueue(d: NewDelivery, limits: DeliveryLimits): Promise<{ id: string; created: boolean }> {
    const now = Date.now();
    if (d.idempotencyKey !== undefined) {
      const seen = this.keys.get(d.idempotencyKey);
      if (seen && seen.at > now - limits.idempotencyWindowMs && this.records.has(seen.id)) return { id: seen.id, created: false };
    }
    if (this.live.size >= limits.maxDepth) throw new HookhubError('queue_full', `webhook queue is full (${limits.maxDepth} deliveries waiting)`);
    this.insert(d, now);
    if (d.idempotencyKey !== undefined) this.keys.set(d.idempotencyKey, { id: d.id, at: now });
    return { id: d.id, created: true };
  }

  private insert(d: NewDelivery, now: number): void {
    const { claimUntil: until, claimNow, ...rest } = d;
    const claimUntil = claimNow === undefined || claimNow() ? until : undefined;
    const r: DeliveryRecord = { ...rest, seq: ++this.seq, status: claimUntil === undefined ? 'pending' : 'delivering', attempts: [], createdAt: now, updatedAt: now };
    if (claimUntil !== undefined) r.leaseUntil = claimUntil;
    this.records.set(d.id, r);
    this.live.set(d.id, r);
    this.joinLane(r);
  }

  async claim(req: ClaimRequest): Promise<DeliveryRecord[]> {
    const skip = new Set(req.skipHosts);
    const due: DeliveryRecord[] = [];
    for (const r of this.live.values()) {
      const claimable = (r.status === 'pending' && r.nextAt <= req.now) || (r.status === 'delivering' && (r.leaseUntil ?? 0) <= req.now);
      if (claimable && !skip.has(deliveryHost(r.url))) due.push(r);
    }
    due.sort((a, b) => a.nextAt - b.nextAt || a.seq - b.seq);
    const perHost = new Map<string, number>();
    const out: DeliveryRecord[] = [];
    for (const r of due) {
      if (out.length >= req.limit) break;
      const host = deliveryHost(r.url);
      const n = perHost.get(host) ?? 0;
      if (n >= req.perHost) continue;
      perHost.set(host, n + 1);
      r.status = 'delivering';
      r.leaseUntil = req.now + req.leaseMs;
      out.push(copy(r));
    }
    if (req.onExhausted && out.length < req.limit && [...perHost.values()].every((n) => n < req.perHost)) req.onExhausted();
    return out;
  }

  async finish(id: string, outcome: AttemptOutcome, followUp?: NewDelivery): Promise<void> {
    const r = this.records.get(id);
    if (r) {
      const wasUnfinished = unfinished(r);
      r.attempts.push(outcome.attempt);
      r.status = outcome.status;
      r.updatedAt = Date.now();
      delete r.leaseUntil;
      if (outcome.status === 'pending') r.nextAt = outcome.nextAt ?? Date.now();
      if (wasUnfinished && !unfinished(r)) {
        this.live.delete(id);
        this.leaveLane(r, r.updatedAt);
      }
    }
    if (followUp) this.insert(followUp, Date.now());
  }

  async renew(ids: readonly string[], leaseUntil: number): Promise<void> {
    for (const id of ids) {
      const r = this.records.get(id);
      if (r?.status === 'delivering') r.leaseUntil = leaseUntil;
    }
  }

  async release(ids: readonly string[]): Promise<void> {
    const now = Date.now();
    for (const id of ids) {
      const r = this.records.get(id);
      if (r?.status !== 'delivering') continue;
      r.status = 'pending';
      r.nextAt = Math.min(r.nextAt, now);
      delete r.leaseUntil;
    }
  }

  async recover(): Promise<number> {
    const ids = [...this.live.values()].filter((r) => r.status === 'delivering').map((r) => r.id);
    await this.release(ids);
    return ids.length;
  }

  async nextDueAfter(now: number): Promise<number | undefined> {
    let next: number | undefined;
    for (const r of this.live.values()) if (r.status === 'pending' && r.nextAt > now && (next === undefined || r.nextAt < next)) next = r.nextAt;
    return next;
  }

  async nextDueAt(): Promise<number | undefined> {
    let next: number | undefined;
    for (const r of this.live.values()) {
      const at = r.status === 'pending' ? r.nextAt : r.status === 'delivering' ? r.leaseUntil : undefined;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const r = this.records.get(id);
    return r && copy(r);
  }

  async list(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const out: DeliveryRecord[] = [];
    const all = [...this.records.values()].sort((a, b) => b.seq - a.seq);
    for (const r of all) {
      if (out.length >= q.limit) break;
      if (q.before !== undefined && r.seq >= q.before) continue;
      if (q.status !== undefined && r.status !== q.status) continue;
      if (q.target !== undefined && !matchesTarget(r.url, q.target)) continue;
      out.push(copy(r));
    }
    return out;
  }

  async retry(id: string, now: number): Promise<'queued' | 'in_flight' | 'not_found'> {
    const r = this.records.get(id);
    if (!r) return 'not_found';
    if (r.status === 'delivering') return 'in_flight';
    const wasFinished = !unfinished(r);
    this.live.set(id, r);
    r.status = 'pending';
    if (r.nextAt !== HELD_BEHIND_EARLIER) r.nextAt = now;
    if (wasFinished) this.joinLane(r);
    r.maxAttempts = Math.max(r.maxAttempts, r.attempts.length + 1);
    r.updatedAt = now;
    return 'queued';
  }

  async park(id: string): Promise<void> {
    const r = this.live.get(id);
    if (!r) return;
    r.status = 'pending';
    r.nextAt = PARKED;
    delete r.leaseUntil;
  }

  async unpark(matches: (d: ParkedDelivery) => boolean, now: number, limit = Infinity): Promise<number> {
    const parked = [...this.live.values()].filter((r) => r.nextAt === PARKED && matches({ url: r.url, createdAt: r.createdAt })).sort((a, b) => a.seq - b.seq);
    const some = parked.slice(0, limit);
    for (const r of some) r.nextAt = now;
    return some.length;
  }

  async depth(): Promise<number> {
    return this.live.size;
  }

  async pruneBeyond(keep: number): Promise<number> {
    const finished = [...this.records.values()].filter((r) => !unfinished(r)).sort((a, b) => b.updatedAt - a.updatedAt || b.seq - a.seq);
    for (const r of finished.slice(keep)) this.records.delete(r.id);
    for (const [key, seen] of this.keys) if (!this.records.has(seen.id)) this.keys.delete(key);
    return Math.max(0, finished.length - keep);
  }

  async prune(before: number): Promise<number> {
    let n = 0;
    for (const [id, r] of this.records) {
      if (!unfinished(r) && r.updatedAt < before) {
        this.records.delete(id);
        n++;
      }
    }
    for (const [key, seen] of this.keys) if (!this.records.has(seen.id)) this.keys.delete(key);
    return n;
  }
}
