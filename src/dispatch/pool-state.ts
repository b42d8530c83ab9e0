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

  /** A host the next claim would skip. */
  isFull(host: string): boolean {
    const s = this.hosts.get(host);
    return s !== undefined && this.heldFor(s) >= 2 * this.perHost;
  }
}
