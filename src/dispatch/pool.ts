// The dispatcher's worker pool: the claim pump and its timers. Woken on enqueue, on finished attempts and
// on timers, it claims due deliveries in batches (skipping full hosts) with a lease it renews, and sleeps
// until the next due time (bounded, so other nodes' work and lapsed leases are seen). Claimed deliveries
// wait for a slot of their host (pool-state.ts), pass their endpoint's gate (endpoint-gates.ts) and are
// attempted (attempt-runner.ts). Stopping hands the waiting ones back and drains those in flight.
import type { FastifyBaseLogger } from 'fastify';
import { deliveryHost } from '../store/contracts/delivery-target.js';
import type { DeliveryQueue, DeliveryRecord } from '../store/contracts/delivery-queue.js';
import { EndpointGates, type EndpointGateDeps } from './endpoint-gates.js';
import type { HostSlots, PoolState } from './pool-state.js';

// A dead node's claims lapse within LEASE_MS and are seen within MAX_SLEEP_MS: taken over in < 10 s.
export const LEASE_MS = 6_000;
const RENEW_EVERY_MS = 2_000;
/** A woken worker with nothing due sleeps at most this long before looking again (other nodes' work). */
const MAX_SLEEP_MS = 3_000;

export interface PoolDeps {
  state: PoolState;
  store: DeliveryQueue;
  log: FastifyBaseLogger;
  retentionMs: number;
  /** Finished deliveries kept at most (the last updated); 0: no cap. */
  retentionCount?: number | undefined;
  /** What the endpoint gates need besides the pool's state, store and log. */
  gates: Pick<EndpointGateDeps, 'control' | 'attempts' | 'parked'>;
}

export class WorkerPool {
  private readonly state: PoolState;
  private readonly store: DeliveryQueue;
  private readonly gates: EndpointGates;
  private readonly running = new Map<string, Promise<void>>();
  private pumping = false;
  private pumpAgain = false;
  private wakeQueued = false;
  private lastClaimEmpty = false;
  private lastClaimAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (0: none pending). */
  private timerAt = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: PoolDeps) {
    this.state = deps.state;
    this.store = deps.store;
    this.gates = new EndpointGates({ ...deps.gates, state: deps.state, store: deps.store, log: deps.log }, this);
  }

  /** Starts renewing leases and pruning, and looks for work (the state is started already). */
  start(): void {
    this.renewTimer = setInterval(() => void this.renewLeases(), RENEW_EVERY_MS).unref();
    const pruneEvery = Math.max(1000, Math.min(this.deps.retentionMs / 10, 3_600_000));
    this.pruneTimer = setInterval(() => void this.prune(), pruneEvery).unref();
    void this.prune();
    this.wake();
  }

  /** Stops the timers and the gates' turns; returns the ids of the deliveries that were waiting (no longer held). */
  halt(): string[] {
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    clearInterval(this.pruneTimer);
    this.gates.stop();
    const waiting: string[] = [];
    for (const slots of this.state.hosts.values()) waiting.push(...slots.waiting.splice(0).map((r) => r.id));
    this.state.waitingCount = 0;
    for (const id of waiting) this.state.held.delete(id);
    return waiting;
  }

  /** True once the attempts in flight finished, false when `ms` passed first. */
  async drain(ms: number): Promise<boolean> {
    const inFlight = [...this.running.values()];
    let deadline: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.allSettled(inFlight).then(() => true),
      new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(deadline);
    return drained;
  }

  /** Resolves once every attempt in flight settled (after they were aborted). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  wake(): void {
    const state = this.state;
    if (state.stopping || !state.started || this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    const state = this.state;
    if (state.stopping) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    let failed = false;
    try {
      await this.readQuiet();
      let claimed = false;
      do {
        this.pumpAgain = false;
        if (state.mayClaim) {
          claimed = true;
          await this.fill();
        }
      } while (this.pumpAgain && !state.stopping);
      // No claim this time: the timer armed after the last claim stands unless something is due sooner.
      await this.arm(!claimed);
    } catch (err) {
      failed = true;
      state.mayClaim = true;
      state.backlogAll = true; // a claim that failed took nothing, whatever it said as it ran
      this.deps.log.error({ err }, 'webhook queue: claiming failed; trying again in 1 s');
    } finally {
      this.pumping = false;
    }
    if (failed) this.sleep(1000);
  }

  private async fill(): Promise<void> {
    const state = this.state;
    while (state.worthClaiming && !state.stopping && Date.now() >= state.pausedUntil) {
      const limit = Math.min(state.free, 512);
      const skipHosts: string[] = [];
      for (const [h, s] of state.hosts) if (state.heldFor(s) >= 2 * state.perHost) skipHosts.push(h);
      this.lastClaimAt = Date.now();
      const skipped = new Set(skipHosts);
      state.lastSkip = skipped;
      const batch = await this.store.claim({
        now: this.lastClaimAt, limit, leaseMs: LEASE_MS, perHost: state.perHost, skipHosts,
        onExhausted: () => state.claimedAllDue(skipped),
      });
      this.lastClaimEmpty = batch.length === 0;
      if (batch.length === 0) state.mayClaim = false;
      for (const r of batch) this.admit(r);
      if (batch.length < limit) return;
    }
  }

  /**
   * Reads when the store next has something due (stores with exhaustiveClaims), when that is unknown or
   * passed, or something was made due since, and no such write is pending (the read would miss it).
   */
  private async readQuiet(): Promise<void> {
    const state = this.state;
    const now = Date.now();
    if (!this.store.exhaustiveClaims || !this.store.nextDueAfter || state.duePending > 0) return;
    if (state.quietUntil > now && state.dueSince === Infinity) return;
    const asked = state.dueAsked;
    const next = await this.store.nextDueAfter(now);
    if (state.dueAsked !== asked) return; // made due meanwhile: the read may have missed it
    state.learnQuiet(now, next);
    // What became due needs a claim to be seen: it may be claimable now.
    if (state.backlogAll) state.mayClaim = true;
  }

  /** Sleeps until the next due delivery (bounded); attempts finishing wake the pool anyway. */
  private async arm(keepEarlier = false): Promise<void> {
    const state = this.state;
    if (state.stopping) return;
    if (!state.worthClaiming) {
      clearTimeout(this.timer);
      this.timerAt = 0;
      return;
    }
    // No claim since the timer was armed: whatever could be due sooner (new work for a host with room, a
    // retry, a report, a full host with room again) allows a claim and re-arms it. Other nodes' work and
    // lapsed leases wait for the timer, at most MAX_SLEEP_MS, as on an idle node.
    if (keepEarlier && this.timerAt !== 0) return;
    const next = await this.store.nextDueAt();
    const now = Date.now();
    let delay = next === undefined ? MAX_SLEEP_MS : Math.min(Math.max(next - now, 0), MAX_SLEEP_MS);
    // Something was already due when the last claim came back empty (its host is full, or another node
    // holds it): no hot loop. What became due after that claim is claimed at once.
    if (delay === 0 && this.lastClaimEmpty && next !== undefined && next <= this.lastClaimAt) delay = 1000;
    this.sleep(Math.max(delay, state.pausedUntil - now));
  }

  private sleep(ms: number): void {
    clearTimeout(this.timer);
    this.timerAt = 0;
    if (this.state.stopping) return;
    this.timerAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timerAt = 0;
      this.state.mayClaim = true;
      this.wake();
    }, ms).unref();
  }

  /** Takes a claimed delivery in: it waits for a slot of its host (or runs at once). */
  admit(r: DeliveryRecord): void {
    const state = this.state;
    if (state.held.has(r.id)) return; // already ours (a lease renewed late): never run twice
    if (state.stopping) {
      // Claimed while shutting down: give it back at once.
      this.store.release([r.id]).catch((err: unknown) => this.deps.log.error({ err }, 'could not release a webhook claim'));
      return;
    }
    state.held.add(r.id);
    const s = state.slots(deliveryHost(r.url));
    s.waiting.push(r);
    state.waitingCount++;
    this.startWaiting(s);
  }

  /** Starts waiting deliveries while the pool and their host have room; `preferred` host first. */
  startWaiting(preferred?: HostSlots): void {
    const state = this.state;
    const perHost = state.perHost;
    while (!state.stopping && state.runningCount < state.concurrency) {
      let pick = preferred && preferred.waiting.length > 0 && preferred.running < perHost ? preferred : undefined;
      if (!pick) {
        for (const s of state.hosts.values()) {
          if (s.waiting.length > 0 && s.running < perHost) {
            pick = s;
            break;
          }
        }
      }
      if (!pick) return;
      const r = pick.waiting.shift() as DeliveryRecord;
      state.waitingCount--;
      this.run(r, pick);
    }
  }

  private run(r: DeliveryRecord, s: HostSlots): void {
    const state = this.state;
    s.running++;
    state.runningCount++;
    const freeSlot = this.slotRelease(s);
    // One promise per attempt for the pool's bookkeeping (a catch and a finally would make two).
    const done = this.gates.gateThenAttempt(r, s, freeSlot).then(() => {
      this.running.delete(r.id);
      freeSlot();
    }, (err: unknown) => {
      this.deps.log.error({ err, delivery: r.id }, 'webhook attempt failed unexpectedly');
      this.running.delete(r.id);
      freeSlot();
    });
    this.running.set(r.id, done);
  }

  /**
   * Frees a running attempt's host slot, once: when the target answered (the attempt's record commits
   * meanwhile, held until then) or when the attempt ended, whichever comes first. Returned unnamed: under
   * tsx (npm start, the benchmarks) a named closure costs a defineProperty each time it is made.
   */
  private slotRelease(s: HostSlots): () => void {
    const state = this.state;
    let answered = false;
    return () => {
      if (answered) return;
      answered = true;
      s.running--;
      state.runningCount--;
      // A host the last (empty) claim skipped has room again: its backlog may be claimable now.
      if (!state.mayClaim && state.lastSkip.has(s.host) && state.heldFor(s) < 2 * state.perHost) state.mayClaim = true;
      this.startWaiting(s);
      state.forgetIdle(s.host);
      this.wake();
    };
  }

  private async renewLeases(): Promise<void> {
    const state = this.state;
    if (state.held.size === 0 || state.stopping) return;
    try {
      await this.store.renew([...state.held], Date.now() + LEASE_MS);
    } catch (err) {
      this.deps.log.error({ err }, 'could not renew webhook leases');
    }
  }

  private async prune(): Promise<void> {
    try {
      let pruned = await this.store.prune(Date.now() - this.deps.retentionMs);
      if ((this.deps.retentionCount ?? 0) > 0) pruned += await this.store.pruneBeyond(this.deps.retentionCount as number);
      if (pruned > 0) this.deps.log.info({ pruned }, 'pruned finished webhook deliveries');
    } catch (err) {
      this.deps.log.error({ err }, 'pruning webhook deliveries failed');
    }
  }
}
