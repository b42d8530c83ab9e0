// Between a slot and its attempt, the endpoint's gate (endpoints.ts): a delivery goes, is parked (circuit
// open, endpoint disabled), or waits here for a flow-control permit (concurrency, rate). Waiting ones are
// held (claimed, lease renewed) in their endpoint's queue, in the order they came, and go back to their
// host's waiting list, first, when their turn to ask again comes. Without endpoint control, every delivery goes.
import type { FastifyBaseLogger } from 'fastify';
import type { DeliveryQueue, DeliveryRecord } from '../store/contracts/delivery-queue.js';
import type { AttemptRunner } from './attempt-runner.js';
import type { EndpointControl, GateAnswer } from './endpoints.js';
import type { HostSlots, PoolState } from './pool-state.js';

/** Deliveries of one endpoint waiting for a flow-control permit, in the order they came. */
interface Throttled {
  queue: Array<{ r: DeliveryRecord; host: string }>;
  timer: NodeJS.Timeout | undefined;
}

/** What the gates hand a delivery back to when its turn comes: the pool (pool.ts). */
export interface WaitingStarter {
  /** Starts waiting deliveries while the pool and their host have room; `preferred` host first. */
  startWaiting(preferred?: HostSlots): void;
}

export interface EndpointGateDeps {
  state: PoolState;
  store: DeliveryQueue;
  /** Endpoint control; undefined: no gates. */
  control: EndpointControl | undefined;
  attempts: AttemptRunner;
  parked: { inc(): void };
  log: FastifyBaseLogger;
}

export class EndpointGates {
  private readonly throttled = new Map<string, Throttled>();
  /** Throttled deliveries let through to ask for their permit again (the head of their endpoint's queue). */
  private readonly throttleTurn = new Set<string>();

  constructor(private readonly deps: EndpointGateDeps, private readonly pool: WaitingStarter) {}

  /** No more turns: the timers stop and the waiting ones are forgotten (stop() releases what is held). */
  stop(): void {
    for (const t of this.throttled.values()) clearTimeout(t.timer);
    this.throttled.clear();
  }

  /** Parks `r`, holds it for a permit (freeing its slot), or attempts it; `freeSlot` frees its host slot. */
  async gateThenAttempt(r: DeliveryRecord, s: HostSlots, freeSlot: () => void): Promise<void> {
    const { control, state, store } = this.deps;
    if (!control) return this.deps.attempts.attempt(r, freeSlot);
    const endpoint = control.endpointOf(r.url);
    // Behind others of its endpoint waiting for a permit: it waits behind them (no permit asked).
    const queue = this.throttled.get(endpoint);
    let gate: GateAnswer;
    try {
      gate = queue && queue.queue.length > 0 && !this.throttleTurn.has(r.id) ? { kind: 'wait', endpoint, ms: -1 }
        : control.quickGate(r) ?? await control.gate(r);
      this.throttleTurn.delete(r.id);
      if (gate.kind === 'park') {
        await store.park(r.id);
        state.held.delete(r.id);
        this.deps.parked.inc();
        return;
      }
    } catch (err) {
      // The store could not answer (Redis down): the delivery is given back unattempted, not held for ever.
      this.throttleTurn.delete(r.id);
      this.deps.log.error({ err, delivery: r.id, endpoint }, 'endpoint control failed; the delivery is released');
      state.held.delete(r.id);
      state.backlog.add(s.host); // given back due: new deliveries of its host queue behind it
      // No claim for a second: claimed again at once, it would meet the same failure in a hot loop.
      state.pausedUntil = Date.now() + 1000;
      await store.release([r.id]).catch((e: unknown) => this.deps.log.error({ err: e }, 'could not release a webhook claim'));
      return;
    }
    if (gate.kind === 'wait') {
      freeSlot();
      this.throttle(r, s.host, endpoint, gate.ms);
      return;
    }
    // Granted: the next one waiting for this endpoint may ask for its permit now.
    this.nextThrottled(endpoint, 0);
    try {
      await this.deps.attempts.attempt(r, freeSlot, endpoint);
    } finally {
      if (gate.slot) {
        control.release(endpoint, r.id);
        this.nextThrottled(endpoint, 0);
      }
    }
  }

  /** Holds a delivery (claimed, lease renewed) until its endpoint's permit may be granted. */
  private throttle(r: DeliveryRecord, host: string, endpoint: string, ms: number): void {
    const state = this.deps.state;
    let t = this.throttled.get(endpoint);
    if (!t) this.throttled.set(endpoint, (t = { queue: [], timer: undefined }));
    const s = state.slots(host);
    s.throttled++;
    state.throttledCount++;
    // The head asked and was refused: it stays first. Others join the end.
    if (ms >= 0) t.queue.unshift({ r, host });
    else t.queue.push({ r, host });
    if (ms >= 0) this.nextThrottled(endpoint, ms);
  }

  /** Lets the first delivery waiting for `endpoint` ask for its permit again in `ms`. */
  private nextThrottled(endpoint: string, ms: number): void {
    const t = this.throttled.get(endpoint);
    if (!t || t.queue.length === 0 || this.deps.state.stopping) return;
    if (t.timer !== undefined) {
      if (ms > 0) return; // a turn is already scheduled
      clearTimeout(t.timer);
    }
    t.timer = setTimeout(() => {
      t.timer = undefined;
      const head = t.queue.shift();
      if (!head) return;
      if (t.queue.length === 0) this.throttled.delete(endpoint);
      const state = this.deps.state;
      const s = state.slots(head.host);
      s.throttled--;
      state.throttledCount--;
      this.throttleTurn.add(head.r.id);
      s.waiting.unshift(head.r);
      state.waitingCount++;
      this.pool.startWaiting(s);
    }, ms).unref();
  }
}
