// Control over each receiving endpoint: flow limits (a delivery over them waits), the circuit breaker
// (consecutive failures or a failure rate open it; after a cooldown one probe decides), auto-disable
// after a failing period, manual disable and enable. Deliveries to an open or disabled endpoint are parked
// in the store and unparked when it comes back. State changes are compare-and-set writes to the shared
// EndpointBook, so exactly one node makes each change and publishes its event.
import { HookhubError } from '../core/errors.js';
import type { EndpointBook, EndpointLimiter, EndpointRecord, EndpointSettings, FlowLimits } from '../store/contracts/endpoints.js';
import type { DeliveryQueue, DeliveryRecord } from '../store/contracts/delivery-queue.js';
import { AttemptWindow, type CircuitThresholds } from './circuit.js';
import { EndpointResolver, isOrigin } from './endpoint-id.js';
import type { EndpointEvent, EndpointEventBody } from './events.js';

/** How often a node reads the shared endpoint records (other nodes' changes are seen within this). */
export const ENDPOINT_REFRESH_MS = 1000;
/** Endpoints stored with settings or a state, at most (every node reads them all each second). */
export const MAX_STORED_ENDPOINTS = 10_000;
/** Writes retried this often when another node changed the record meanwhile. */
const CAS_TRIES = 5;
/**
 * A run of failures is written to the store (failing since) once it lasted this long (or half of
 * --endpoint-disable-after when shorter): an endpoint failing now and then costs no write per attempt.
 */
const STREAK_PERSIST_MS = 60_000;

export interface EndpointOptions {
  /** --endpoint-concurrency, --endpoint-rate, --endpoint-burst (0: none). */
  defaults: FlowLimits;
  circuit: CircuitThresholds;
  /** Open → half-open after this long (--circuit-cooldown). */
  cooldownMs: number;
  /** Failing without a success this long disables the endpoint (0: never). */
  disableAfterMs: number;
}

/** What the gate decides for a delivery about to be sent. */
export type GateAnswer =
  | { kind: 'go'; endpoint: string; slot: boolean }
  | { kind: 'park'; endpoint: string }
  | { kind: 'wait'; endpoint: string; ms: number };

export type EndpointView = ReturnType<EndpointControl['view']>;

const blank = (id: string): EndpointRecord => ({ id, settings: {}, circuit: 'closed', version: 0 });

export class EndpointControl {
  readonly resolver = new EndpointResolver();
  private records = new Map<string, EndpointRecord>();
  private readonly windows = new Map<string, AttemptWindow>();
  /** Start of this node's current run of failures per endpoint, and whether it was written as failingSince. */
  private readonly streaks = new Map<string, { since: number; written: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly options: EndpointOptions,
    private readonly deps: {
      book: EndpointBook;
      limiter: EndpointLimiter;
      queue: Pick<DeliveryQueue, 'unpark'>;
      /** A state change this node made. */
      emit: (e: EndpointEvent) => void;
      /** Parked deliveries became due: the pool should claim. */
      unparked: () => void;
      /** How long a concurrency slot may be held (an attempt's timeout and then some). */
      slotHoldMs: (r: DeliveryRecord) => number;
      onError: (err: unknown, what: string) => void;
    },
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.tick(), ENDPOINT_REFRESH_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  endpointOf(url: string): string {
    return this.resolver.endpointOf(url);
  }

  /** Reads every record again (the shared state other nodes change). */
  refresh(): Promise<void> {
    this.refreshing ??= this.deps.book.list().then((list) => {
      // A change this node wrote while the list was read is newer than the list: it stays.
      const records = new Map(list.map((r) => [r.id, r]));
      for (const [id, mine] of this.records) if (mine.version > (records.get(id)?.version ?? 0)) records.set(id, mine);
      this.records = records;
      this.resolver.setPrefixes(list.filter((r) => !isOrigin(r.id)).map((r) => r.id));
    }).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Every second: other nodes' changes, and open circuits whose cooldown is over get a probe. */
  private async tick(): Promise<void> {
    try {
      await this.refresh();
      const now = Date.now();
      for (const [id, w] of this.windows) if (w.idle(now) && !this.streaks.has(id)) this.windows.delete(id);
      for (const r of this.records.values()) {
        const cooled = r.circuit === 'open' ? now >= (r.openedAt ?? 0) + this.options.cooldownMs
          // A probe whose node died: another one after the cooldown.
          : r.circuit === 'half_open' && (r.probe === undefined || now >= r.probe.at + this.options.cooldownMs);
        if (r.disabled === undefined && cooled) {
          // One parked delivery becomes due; whichever node claims it makes it the probe (gate).
          if (await this.deps.queue.unpark((d) => this.endpointOf(d.url) === r.id, now, 1)) this.deps.unparked();
        }
      }
    } catch (err) {
      this.deps.onError(err, 'endpoint state refresh failed');
    }
  }

  limitsOf(id: string): FlowLimits {
    const s = this.records.get(id)?.settings ?? {};
    const d = this.options.defaults;
    const rate = s.rate ?? d.rate;
    return { concurrency: s.concurrency ?? d.concurrency, rate, burst: s.burst ?? (d.burst > 0 ? d.burst : Math.max(1, Math.ceil(rate))) };
  }

  /** The gate's answer without a store round trip when there is nothing to check (closed, no limits). */
  quickGate(r: DeliveryRecord): GateAnswer | undefined {
    const endpoint = this.endpointOf(r.url);
    const rec = this.records.get(endpoint);
    if (rec && (rec.disabled !== undefined || rec.circuit !== 'closed')) return undefined;
    const s = rec?.settings;
    const d = this.options.defaults;
    return (s?.concurrency ?? d.concurrency) === 0 && (s?.rate ?? d.rate) === 0 ? { kind: 'go', endpoint, slot: false } : undefined;
  }

  /** Whether a delivery may go now, waits (flow limits), or is parked (circuit open, endpoint disabled). */
  async gate(r: DeliveryRecord): Promise<GateAnswer> {
    const endpoint = this.endpointOf(r.url);
    const rec = this.records.get(endpoint);
    if (rec && (rec.disabled !== undefined || rec.circuit !== 'closed') && !(await this.mayProbe(rec, r.id))) return { kind: 'park', endpoint };
    const limits = this.limitsOf(endpoint);
    if (limits.concurrency === 0 && limits.rate === 0) return { kind: 'go', endpoint, slot: false };
    const answer = await this.deps.limiter.acquire(endpoint, r.id, limits, Date.now(), this.deps.slotHoldMs(r));
    return answer.granted ? { kind: 'go', endpoint, slot: limits.concurrency > 0 } : { kind: 'wait', endpoint, ms: answer.retryInMs };
  }

  /** Open after its cooldown, or half-open without a live probe: this delivery becomes the probe. */
  private async mayProbe(rec: EndpointRecord, deliveryId: string): Promise<boolean> {
    if (rec.disabled !== undefined) return false;
    const now = Date.now();
    if (rec.probe?.id === deliveryId) return true;
    return this.change(rec.id, (r) => {
      if (r.disabled !== undefined || r.circuit === 'closed') return undefined;
      if (r.circuit === 'open' && now < (r.openedAt ?? 0) + this.options.cooldownMs) return undefined;
      // A probe whose node died is given up after the cooldown.
      if (r.circuit === 'half_open' && r.probe && now < r.probe.at + this.options.cooldownMs) return undefined;
      return { ...r, circuit: 'half_open', probe: { id: deliveryId, at: now } };
    }).then((changed) => {
      if (changed && rec.circuit === 'open') this.emit({ type: 'endpoint.half_open', endpoint: rec.id });
      return changed;
    });
  }

  release(endpoint: string, deliveryId: string): void {
    this.deps.limiter.release(endpoint, deliveryId).catch((err: unknown) => this.deps.onError(err, 'releasing an endpoint slot failed'));
  }

  private window(id: string): AttemptWindow {
    let w = this.windows.get(id);
    if (!w) this.windows.set(id, (w = new AttemptWindow(this.options.circuit.windowMs)));
    return w;
  }

  /**
   * An attempt's outcome: counted, and the circuit and auto-disable judged. Undefined when that took no
   * store write (a success on a healthy endpoint, most attempts): no promise made per attempt then.
   */
  recordAttempt(endpoint: string, deliveryId: string, ok: boolean, latencyMs: number): Promise<void> | undefined {
    const now = Date.now();
    const w = this.window(endpoint);
    w.record(ok, latencyMs, now);
    const rec = this.records.get(endpoint);
    if (!ok) return this.recordFailure(endpoint, deliveryId, rec, w, now);
    this.streaks.delete(endpoint);
    if (!rec || (rec.circuit === 'closed' && rec.failingSince === undefined)) return undefined;
    return this.recordRecovery(endpoint, rec, w);
  }

  /** A success on an endpoint that was failing: its circuit closes (and its parked deliveries come back). */
  private async recordRecovery(endpoint: string, rec: EndpointRecord, w: AttemptWindow): Promise<void> {
    const wasClosed = rec.circuit === 'closed';
    const closed = await this.change(endpoint, (r) => {
      if (r.circuit === 'closed' && r.failingSince === undefined) return undefined;
      const { failingSince: _f, probe: _p, openedAt: _o, ...rest } = r;
      return { ...rest, circuit: 'closed' };
    });
    if (closed && !wasClosed) {
      w.reset();
      this.emit({ type: 'endpoint.closed', endpoint });
      await this.unparkAll(endpoint);
    }
  }

  /** A failure: the circuit may open, the endpoint be disabled, the run of failures be written. */
  private async recordFailure(endpoint: string, deliveryId: string, rec: EndpointRecord | undefined, w: AttemptWindow, now: number): Promise<void> {
    const reason = rec?.probe?.id === deliveryId ? 'the probe failed' : rec?.circuit === 'closed' || !rec ? w.trips(this.options.circuit, now) : undefined;
    const since = this.failingSince(endpoint, rec, now);
    const disableAfter = this.options.disableAfterMs;
    const disable = disableAfter > 0 && rec?.disabled === undefined && now >= since + disableAfter;
    const persist = rec?.failingSince === undefined && now - since >= Math.min(STREAK_PERSIST_MS, disableAfter > 0 ? disableAfter / 2 : STREAK_PERSIST_MS);
    if (reason === undefined && !disable && !persist) return;
    let events: EndpointEventBody[] = [];
    await this.change(endpoint, (r) => {
      events = [];
      const next: EndpointRecord = { ...r, failingSince: r.failingSince ?? since };
      if (reason !== undefined && (r.circuit === 'closed' || r.probe?.id === deliveryId)) {
        next.circuit = 'open';
        next.openedAt = now;
        delete next.probe;
        events.push({ type: 'endpoint.opened', endpoint, reason });
      }
      if (next.disabled === undefined && disableAfter > 0 && now >= (next.failingSince as number) + disableAfter) {
        next.disabled = { at: now, reason: 'failing' };
        events.push({ type: 'endpoint.disabled', endpoint, reason: `failing since ${new Date(next.failingSince as number).toISOString()}` });
      }
      return next.failingSince === r.failingSince && events.length === 0 ? undefined : next;
    });
    const streak = this.streaks.get(endpoint);
    if (streak) streak.written = true;
    for (const e of events) this.emit(e);
  }

  /**
   * When the endpoint's run of failures began: the stored time, else this node's. A stored time this node
   * wrote and another node cleared (it had a success) starts the run again.
   */
  private failingSince(endpoint: string, rec: EndpointRecord | undefined, now: number): number {
    let streak = this.streaks.get(endpoint);
    if (streak?.written && rec?.failingSince === undefined) streak = undefined;
    if (!streak) this.streaks.set(endpoint, (streak = { since: now, written: false }));
    return rec?.failingSince ?? streak.since;
  }

  /** Manual disable: its deliveries are parked until it is enabled. */
  async disable(id: string): Promise<boolean> {
    const changed = await this.change(id, (r) => (r.disabled?.reason === 'manual' ? undefined : { ...r, disabled: { at: Date.now(), reason: 'manual' } }));
    if (changed) this.emit({ type: 'endpoint.disabled', endpoint: id, reason: 'manual' });
    return changed;
  }

  /** Enable (also after an auto-disable): circuit closed, failures forgotten, parked deliveries due now. */
  async enable(id: string): Promise<boolean> {
    const changed = await this.change(id, (r) => {
      if (r.disabled === undefined && r.circuit === 'closed' && r.failingSince === undefined) return undefined;
      return { id: r.id, settings: r.settings, circuit: 'closed', version: r.version };
    });
    if (changed) {
      this.windows.get(id)?.reset();
      this.emit({ type: 'endpoint.enabled', endpoint: id });
      await this.unparkAll(id);
    }
    return changed;
  }

  async setSettings(id: string, settings: EndpointSettings): Promise<void> {
    if (!this.records.has(id) && this.records.size >= MAX_STORED_ENDPOINTS) {
      throw new HookhubError('bad_request', `at most ${MAX_STORED_ENDPOINTS} endpoints are stored; delete some first`);
    }
    await this.change(id, (r) => ({ ...r, settings }), true);
    await this.refresh();
  }

  /** Forgets an endpoint's settings and state; a defined prefix stops being an endpoint. */
  async remove(id: string): Promise<void> {
    await this.deps.book.remove(id);
    await this.refresh();
    await this.unparkAll(id);
  }

  /** Parked deliveries were made due from outside (a replay): the pool should claim. */
  unparked(): void {
    this.deps.unparked();
  }

  private async unparkAll(id: string): Promise<void> {
    const n = await this.deps.queue.unpark((d) => this.endpointOf(d.url) === id, Date.now());
    if (n > 0) this.deps.unparked();
  }

  /**
   * Applies `fn` to the endpoint's record (a blank one when none is stored) by compare-and-set, reading
   * again when another node wrote first. `fn` answers undefined when there is nothing to change.
   */
  private async change(id: string, fn: (r: EndpointRecord) => EndpointRecord | undefined, always = false): Promise<boolean> {
    let current = this.records.get(id) ?? blank(id);
    for (let i = 0; i < CAS_TRIES; i++) {
      const next = fn(structuredClone(current));
      if (next === undefined) return always;
      const written = { ...next, id, version: current.version };
      if (await this.deps.book.put(written)) {
        this.records.set(id, { ...written, version: current.version + 1 });
        return true;
      }
      current = (await this.deps.book.get(id)) ?? blank(id);
      this.records.set(id, current);
    }
    throw new Error(`endpoint ${id}: too many concurrent changes`);
  }

  private emit(e: EndpointEventBody): void {
    this.deps.emit({ ...e, at: new Date().toISOString() } as EndpointEvent);
  }

  /** Endpoints known here: stored ones and those this node sent to recently. */
  ids(): string[] {
    return [...new Set([...this.records.keys(), ...this.windows.keys()])].sort();
  }

  record(id: string): EndpointRecord | undefined {
    return this.records.get(id);
  }

  /** The public shape of an endpoint (settings, effective limits, state, this node's recent attempts). */
  view(id: string) {
    const rec = this.records.get(id) ?? blank(id);
    const totals = this.windows.get(id)?.totals(Date.now()) ?? { attempts: 0, ok: 0, meanLatencyMs: 0 };
    const limits = this.limitsOf(id);
    return {
      id,
      kind: isOrigin(id) ? 'origin' as const : 'prefix' as const,
      state: rec.disabled !== undefined ? 'disabled' as const : rec.circuit,
      circuit: rec.circuit,
      ...(rec.disabled !== undefined ? { disabled: { at: new Date(rec.disabled.at).toISOString(), reason: rec.disabled.reason } } : {}),
      ...(rec.openedAt !== undefined ? { opened_at: new Date(rec.openedAt).toISOString() } : {}),
      ...(rec.failingSince !== undefined ? { failing_since: new Date(rec.failingSince).toISOString() } : {}),
      settings: rec.settings,
      limits,
      recent: {
        window_seconds: this.options.circuit.windowMs / 1000,
        attempts: totals.attempts,
        success_rate: totals.attempts === 0 ? null : totals.ok / totals.attempts,
        mean_latency_ms: Math.round(totals.meanLatencyMs * 10) / 10,
      },
    };
  }
}
