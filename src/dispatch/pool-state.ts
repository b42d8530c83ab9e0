// What the dispatcher's pool holds, in one object: the per-host slots, the deliveries this process holds,
// the counters every wake-up reads (running, waiting, reserved, throttled) and the flags that say whether a
// claim is worth making. The claim pump (pool.ts), the endpoint gates (endpoint-gates.ts), the attempts
// (attempt-runner.ts) and enqueue's fast path (dispatcher.ts) all read and change this one object.
import type { DeliveryRecord } from '../store/contracts/delivery-queue.js';

/** One host:port's share of the pool. */
export interface HostSlots {
  host: string;
  running: number;
  waiting: DeliveryRecord[];
  /** Enqueued by this process, inserted already claimed, not committed yet. */
  reserved: number;
  /** Held here, waiting for a flow-control permit of their endpoint (not in `waiting`). */
  throttled: number;
}

export class PoolState {
  readonly hosts = new Map<string, HostSlots>();
  /** Deliveries this process holds (running, waiting for a host slot or for a permit). */
  readonly held = new Set<string>();
  runningCount = 0;
  waitingCount = 0;
  reservedCount = 0;
  throttledCount = 0;
  started = false;
  stopping = false;
  /** No claims before this time (endpoint control failed: the store is likely down). */
  pausedUntil = 0;
  /**
   * False once a claim came back empty, until something may have become claimable: a timer (due times,
   * leases, other nodes), new or resent work for a host with room, or a host that was skipped getting room.
   * An empty claim with a full host skipped scans that host's whole backlog; repeating it on every finished
   * attempt cost as much as the deliveries themselves.
   */
  mayClaim = true;
  /** Hosts skipped (full) by the last claim, or given work since while full: a claim is due when one has room. */
  lastSkip = new Set<string>();
  // Whether the store may hold due deliveries this process does not (see quiet()); used with stores whose
  // claims and writes run in the order asked (exhaustiveClaims). Flags are set and cleared as the store runs
  // the writes and claims (claimNow, onExhausted), so they follow the store's own order.
  /** Hosts with deliveries written unclaimed (due, or soon) since a claim last took all that was due of them. */
  readonly backlog = new Set<string>();
  /** Any host may have (at start: a previous process's; something became due by the clock, or was made due). */
  backlogAll = true;
  /** Nothing not held here becomes due before this (read from the store); 0: not read yet. */
  quietUntil = 0;
  /** Something made due (a retry, a report, a resend, the next of a lane) at this time, not yet seen by a read. */
  dueSince = Infinity;
  /** Such writes asked and not committed yet: a read of the store now would miss them. */
  duePending = 0;
  /** Such writes asked so far (a read that saw a change here while it ran is not used). */
  dueAsked = 0;

  /**
   * @param concurrency attempts in flight at most
   * @param perHost attempts in flight to one host:port at most
   */
  constructor(readonly concurrency: number, readonly perHost: number) {}

  /**
   * Room for claimed deliveries: the pool holds up to twice its concurrency (running + claimed and
   * waiting for a slot), so that finishing attempts start the next one without a store round trip.
   */
  get free(): number {
    return 2 * this.concurrency - this.runningCount - this.waitingCount - this.reservedCount - this.throttledCount;
  }

  /** Claims in batches (a quarter of the pool at least) unless the pool is idle. */
  get worthClaiming(): boolean {
    const batch = Math.max(1, Math.floor(this.concurrency / 2));
    return this.free >= batch || (this.free > 0 && this.runningCount + this.waitingCount === 0);
  }

  /** A host's slots, made on first use. */
  slots(host: string): HostSlots {
    let s = this.hosts.get(host);
    if (!s) this.hosts.set(host, (s = { host, running: 0, waiting: [], reserved: 0, throttled: 0 }));
    return s;
  }

  /** Drops a host's slots once nothing of it is held. */
  forgetIdle(host: string): void {
    const s = this.hosts.get(host);
    if (s && s.running === 0 && s.waiting.length === 0 && s.reserved === 0 && s.throttled === 0) this.hosts.delete(host);
  }

  heldFor(s: HostSlots): number {
    return s.running + s.waiting.length + s.reserved + s.throttled;
  }

  /**
   * The store holds nothing due that this process does not hold, and nothing that becomes due before
   * quietUntil: a new delivery may wait here for a slot (claimed as written) without passing older work.
   */
  quiet(now: number): boolean {
    return !this.backlogAll && this.backlog.size === 0 && now < this.quietUntil && now < this.dueSince;
  }

  /** A write that makes something due at `at` is asked; `dueSettled` once it committed (or failed). */
  dueSoon(at: number): void {
    if (at < this.dueSince) this.dueSince = at;
    this.duePending++;
    this.dueAsked++;
  }

  dueSettled(): void {
    this.duePending--;
  }

  /** Runs `write`, which makes something due at `at`, between dueSoon and dueSettled. */
  async makingDue<T>(at: number, write: () => Promise<T>): Promise<T> {
    this.dueSoon(at);
    try {
      return await write();
    } finally {
      this.dueSettled();
    }
  }

  /**
   * The store said nothing not held here becomes due after `now` before `next` (a read made with no
   * dueSoon write pending). What was due by then (made due, or due by the clock) needs a claim to clear.
   */
  learnQuiet(now: number, next: number | undefined): void {
    if (this.dueSince <= now || this.quietUntil <= now) this.backlogAll = true;
    this.dueSince = Infinity;
    this.quietUntil = next ?? Infinity;
  }

  /** A claim took all that was due outside `skipped`: their flags stay, the others' go. */
  claimedAllDue(skipped: ReadonlySet<string>): void {
    if (this.backlogAll) {
      this.backlog.clear();
      for (const host of skipped) this.backlog.add(host);
      this.backlogAll = false;
      return;
    }
    for (const host of this.backlog) if (!skipped.has(host)) this.backlog.delete(host);
  }

  /** A host the next claim would skip. */
  isFull(host: string): boolean {
    const s = this.hosts.get(host);
    return s !== undefined && this.heldFor(s) >= 2 * this.perHost;
  }
}
