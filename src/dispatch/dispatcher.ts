// The webhook dispatcher: a durable queue (store.deliveries) worked by a pool of attempts (attempt.ts)
// sent over undici (send/). Workers are woken on enqueue and sleep until the next due time; claims carry
// a renewed lease; a per-host limit keeps one slow host from taking every slot.
// Over 400 lines, knowingly: the claim pump, per-host slots, endpoint gates and lanes share one set of
// counters that every wake-up reads; splitting them needs those counters behind one object first (issue #11).
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import { timeOrderedId } from '../core/ids.js';
import { logUrl } from '../core/log-url.js';
import { atItem, HookhubError } from '../core/errors.js';
import { checkTargetUrl } from '../core/target-guard.js';
import type { AttemptEvent, OutgoingWebhook, WebhookQueue } from '../core/webhooks.js';
import { deliveryHost } from '../store/contracts/delivery-target.js';
import type { DeliveryQueue, DeliveryRecord, NewDelivery } from '../store/contracts/delivery-queue.js';
import type { EndpointBook, EndpointLimiter } from '../store/contracts/endpoints.js';
import { EndpointControl, type EndpointOptions, type GateAnswer } from './endpoints.js';
import { ALERT_ORIGIN, type EndpointEvent } from './events.js';
import { attemptEvent, attemptLogFields, attemptRequest, judgeAttempt, type AttemptSettings, type JudgedAttempt } from './attempt.js';
import { createDispatchMetrics, type DispatchMetrics } from './metrics.js';
import { delayBefore, retrySchedule, type RetrySchedule } from './retry-schedule.js';
import { inProcessSender, type AttemptSender } from './send/in-loop.js';
import { signingKey } from './signing.js';
import { threadSender } from './send/worker-threads.js';

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
// A dead node's claims lapse within LEASE_MS and are seen within MAX_SLEEP_MS: taken over in < 10 s.
const LEASE_MS = 6_000;
const RENEW_EVERY_MS = 2_000;
/** A woken worker with nothing due sleeps at most this long before looking again (other nodes' work). */
const MAX_SLEEP_MS = 3_000;
/** Target URLs remembered as checked. */
const CHECKED_URLS = 1024;

export interface DispatcherOptions {
  store: DeliveryQueue;
  registry: Registry;
  log: FastifyBaseLogger;
  allowPrivateTargets: boolean;
  signingSecret?: string;
  /** --retry-schedule in ms; the default Standard Webhooks schedule (with jitter) when absent. */
  schedule?: readonly number[];
  timeoutMs: number;
  concurrency: number;
  /** Attempts in flight to one host:port at most. */
  perHost?: number;
  maxQueueDepth: number;
  retentionMs: number;
  /** Finished deliveries kept at most (the last updated); 0: no cap. */
  retentionCount?: number;
  /** How long stop() waits for attempts in flight. */
  drainMs?: number;
  /** Delivery threads sending the attempts; 0 (default): this thread sends them. */
  threads?: number;
  /** Per-endpoint flow control, circuit breaker and parking; none when absent. */
  endpoints?: { book: EndpointBook; limiter: EndpointLimiter; options: EndpointOptions };
  /** Operational events (endpoint state changes, deliveries failed for good), on the node that saw them. */
  onEvent?: (e: EndpointEvent) => void;
}

/** Deliveries of one endpoint waiting for a flow-control permit, in the order they came. */
interface Throttled {
  queue: Array<{ r: DeliveryRecord; host: string }>;
  timer: NodeJS.Timeout | undefined;
}

interface HostSlots {
  host: string;
  running: number;
  waiting: DeliveryRecord[];
  /** Enqueued by this process, inserted already claimed, not committed yet. */
  reserved: number;
  /** Held here, waiting for a flow-control permit of their endpoint (not in `waiting`). */
  throttled: number;
}

export class WebhookDispatcher implements WebhookQueue {
  readonly schedule: RetrySchedule;
  readonly metrics: DispatchMetrics;
  readonly perHost: number;
  private readonly sender: AttemptSender;
  private readonly attemptSettings: AttemptSettings;
  private readonly listeners: Array<(e: AttemptEvent) => void> = [];
  private readonly hosts = new Map<string, HostSlots>();
  /** Deliveries this process holds (running or waiting for a host slot). */
  private readonly held = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  /** Abort functions of the attempts in flight, called when the shutdown deadline passes. */
  private readonly aborts = new Set<(reason: Error) => void>();
  private abandoned = false;
  /** One log line per attempt at info and below (the level is read once: a getter call per attempt shows in profiles). */
  private readonly logAttempts: boolean;
  /** Resends asked while an attempt of the delivery was in flight here. */
  private readonly resends = new Set<string>();
  private readonly attemptCounters = new Map<string, { inc(): void }>();
  /** Target URLs that passed checkTargetUrl (with this dispatcher's --allow-private-targets), at most CHECKED_URLS. */
  private readonly checkedUrls = new Set<string>();
  private readonly deliveryCounters = new Map<string, { inc(): void }>();
  /** Each endpoint's metric children, looked up once. */
  private readonly endpointMetrics = new Map<string, { success: { inc(): void }; failure: { inc(): void }; duration: { observe(v: number): void } }>();
  private runningCount = 0;
  private waitingCount = 0;
  private reservedCount = 0;
  private throttledCount = 0;
  private started = false;
  private stopping = false;
  private pumping = false;
  private pumpAgain = false;
  private wakeQueued = false;
  private lastClaimEmpty = false;
  private lastClaimAt = 0;
  /** No claims before this time (endpoint control failed: the store is likely down). */
  private pausedUntil = 0;
  /**
   * False once a claim came back empty, until something may have become claimable: a timer (due times,
   * leases, other nodes), new or resent work for a host with room, or a host that was skipped getting room.
   * An empty claim with a full host skipped scans that host's whole backlog; repeating it on every finished
   * attempt cost as much as the deliveries themselves.
   */
  private mayClaim = true;
  /** Hosts skipped (full) by the last claim, or given work since while full: a claim is due when one has room. */
  private lastSkip = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (0: none pending). */
  private timerAt = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Endpoint control (flow limits, circuit, parking); undefined without `options.endpoints`. */
  readonly endpoints: EndpointControl | undefined;
  private readonly throttled = new Map<string, Throttled>();
  /** Throttled deliveries let through to ask for their permit again (the head of their endpoint's queue). */
  private readonly throttleTurn = new Set<string>();

  constructor(private readonly options: DispatcherOptions) {
    this.logAttempts = ['trace', 'debug', 'info'].includes(options.log.level);
    this.schedule = retrySchedule(options.schedule);
    this.perHost = Math.max(1, Math.min(options.concurrency, options.perHost ?? Math.max(8, Math.ceil(options.concurrency / 2))));
    const senderOptions = { allowPrivateTargets: options.allowPrivateTargets, connections: this.perHost };
    this.sender = (options.threads ?? 0) > 0
      ? threadSender({ ...senderOptions, threads: options.threads as number, onError: (message) => options.log.error(message) })
      : inProcessSender(senderOptions);
    this.attemptSettings = { schedule: this.schedule, signingSecret: options.signingSecret, timeoutMs: options.timeoutMs };
    this.metrics = createDispatchMetrics(options.registry, () => options.store.depth(),
      () => (this.endpoints?.ids() ?? []).map((id) => [id, (this.endpoints as EndpointControl).view(id).state]));
    const ep = options.endpoints;
    this.endpoints = ep && new EndpointControl(ep.options, {
      book: ep.book,
      limiter: ep.limiter,
      queue: options.store,
      emit: (e) => this.emit(e),
      unparked: () => {
        this.mayClaim = true;
        this.wake();
      },
      slotHoldMs: (r) => (r.timeoutMs ?? options.timeoutMs) + LEASE_MS,
      onError: (err, what) => options.log.error({ err }, what),
    });
  }

  private emit(e: EndpointEvent): void {
    try {
      this.options.onEvent?.(e);
    } catch (err) {
      this.options.log.error({ err }, 'endpoint event listener failed');
    }
  }

  get store(): DeliveryQueue {
    return this.options.store;
  }

  /** Hands back claims a crashed process left, then starts working the queue. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.endpoints?.start();
    const recovered = await this.store.recover(Date.now());
    if (recovered > 0) this.options.log.warn({ recovered }, 'webhook deliveries claimed by a previous process are pending again');
    this.renewTimer = setInterval(() => void this.renewLeases(), RENEW_EVERY_MS).unref();
    const pruneEvery = Math.max(1000, Math.min(this.options.retentionMs / 10, 3_600_000));
    this.pruneTimer = setInterval(() => void this.prune(), pruneEvery).unref();
    void this.prune();
    this.wake();
  }

  /** Stops claiming, lets attempts in flight finish up to the drain deadline, gives the rest back. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    clearInterval(this.pruneTimer);
    this.endpoints?.stop();
    for (const t of this.throttled.values()) clearTimeout(t.timer);
    this.throttled.clear();
    const waiting: string[] = [];
    for (const slots of this.hosts.values()) waiting.push(...slots.waiting.splice(0).map((r) => r.id));
    this.waitingCount = 0;
    for (const id of waiting) this.held.delete(id);
    const inFlight = [...this.running.values()];
    let deadline: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.allSettled(inFlight).then(() => true),
      new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(false), this.options.drainMs ?? 10_000))),
    ]);
    clearTimeout(deadline);
    if (!drained) {
      // Abandoned attempts are released, not recorded: the next process tries them again.
      this.abandoned = true;
      for (const abort of [...this.aborts]) abort(new Error('attempt abandoned (shutdown)'));
      await Promise.allSettled([...this.running.values()]);
    }
    try {
      await this.store.release([...waiting, ...this.held]);
    } catch (err) {
      this.options.log.error({ err }, 'could not release webhook claims');
    }
    await this.sender.close();
  }

  onAttempt(fn: (e: AttemptEvent) => void): void {
    this.listeners.push(fn);
  }

  /**
   * A batch: every webhook is checked before any is queued (a bad one refuses the batch, its index in the
   * message); then they are queued together (one commit on sqlite). Ids in the order given.
   */
  async enqueueAll(ws: readonly OutgoingWebhook[]): Promise<Array<{ id: string; created: boolean }>> {
    ws.forEach((w, i) => atItem(i, () => this.check(w)));
    const depth = await this.store.depth();
    if (depth + ws.length > this.options.maxQueueDepth) {
      throw new HookhubError('queue_full', `webhook queue is full (${this.options.maxQueueDepth} deliveries waiting)`);
    }
    return Promise.all(ws.map((w) => this.commit(w)));
  }

  /** The checks enqueue makes before anything is written. */
  private check(w: OutgoingWebhook): void {
    this.checkUrl(w.url, '_url');
    if (typeof w.secret === 'string') signingKey(w.secret);
    if (w.errback !== undefined) this.checkUrl(w.errback, '_errback');
    if (w.callback !== undefined) this.checkUrl(w.callback, '_callback');
  }

  /** checkTargetUrl, remembered for URLs that passed lately: a target is queued to many times, and the check parses it. */
  private checkUrl(url: string, what: string): void {
    if (this.checkedUrls.has(url)) return;
    checkTargetUrl(url, this.options.allowPrivateTargets, what);
    if (this.checkedUrls.size >= CHECKED_URLS) this.checkedUrls.clear();
    this.checkedUrls.add(url);
  }

  /** Validates and commits a delivery; resolves once it is durable. Throws HookhubError (bad_url, forbidden_target, queue_full). */
  async enqueue(w: OutgoingWebhook): Promise<{ id: string; created: boolean }> {
    // URLs are checked here and kept as given (the log and the reports echo them verbatim).
    this.check(w);
    return this.commit(w);
  }

  /** Commits a checked delivery (and runs it at once when a slot is free). */
  private async commit(w: OutgoingWebhook): Promise<{ id: string; created: boolean }> {
    const url = w.url;
    const headers = { ...(w.headers ?? {}) };
    const now = Date.now();
    const firstDelay = delayBefore(this.schedule, 0);
    const d: NewDelivery = {
      id: timeOrderedId(),
      url,
      method: (w.method ?? 'POST').toUpperCase(),
      headers,
      body: w.body,
      maxAttempts: this.schedule.delays.length,
      nextAt: now + firstDelay,
    };
    if (w.contentType !== undefined) d.contentType = w.contentType;
    if (w.secret !== undefined) d.secret = w.secret;
    if (w.timeoutMs !== undefined) d.timeoutMs = w.timeoutMs;
    if (w.errback !== undefined) d.errback = w.errback;
    if (w.callback !== undefined) d.callback = w.callback;
    if (w.origin !== undefined) d.origin = w.origin;
    if (w.idempotencyKey !== undefined) d.idempotencyKey = w.idempotencyKey;
    if (w.orderKey !== undefined) d.orderKey = w.orderKey;
    // Fast path: due now and a slot is free — insert it already claimed by us and run it, no claim query.
    // Not for an ordered delivery: only the store knows whether an earlier one of its lane is unfinished.
    const host = deliveryHost(url);
    const canRun = w.orderKey === undefined && this.runningCount + this.reservedCount < this.options.concurrency;
    const slots = firstDelay === 0 && this.started && !this.stopping && canRun ? this.slots(host) : undefined;
    const fast = slots !== undefined && slots.running + slots.waiting.length + slots.reserved < this.perHost;
    if (fast) {
      d.claimUntil = now + LEASE_MS;
      slots.reserved++;
      this.reservedCount++;
    }
    let result: { id: string; created: boolean };
    try {
      result = await this.store.enqueue(d, { maxDepth: this.options.maxQueueDepth, idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS });
    } finally {
      if (fast) {
        slots.reserved--;
        this.reservedCount--;
        this.forgetIdle(host);
      }
    }
    if (fast && result.created) {
      const { claimUntil, ...rest } = d;
      const record: DeliveryRecord = { ...rest, seq: 0, status: 'delivering', attempts: [], createdAt: now, updatedAt: now, leaseUntil: claimUntil as number };
      this.admit(record);
    } else if (result.created) {
      // For a full host it waits until the host has room (then a claim is made), as its backlog does.
      if (this.isFull(host)) this.lastSkip.add(host);
      else this.mayClaim = true;
      this.wake();
    }
    return result;
  }

  private forgetIdle(host: string): void {
    const s = this.hosts.get(host);
    if (s && s.running === 0 && s.waiting.length === 0 && s.reserved === 0 && s.throttled === 0) this.hosts.delete(host);
  }

  /** One more attempt of a delivery (same id), due now. */
  async retry(id: string): Promise<'queued' | 'in_flight' | 'not_found'> {
    const result = await this.store.retry(id, Date.now());
    if (result === 'queued') {
      this.mayClaim = true;
      this.wake();
    }
    if (result === 'in_flight' && this.held.has(id)) {
      // Ours and in flight: one more attempt once this one is recorded.
      this.resends.add(id);
      return 'queued';
    }
    return result;
  }

  // ---- the worker pool ----

  private wake(): void {
    if (this.stopping || !this.started || this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.stopping) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    let failed = false;
    try {
      let claimed = false;
      do {
        this.pumpAgain = false;
        if (this.mayClaim) {
          claimed = true;
          await this.fill();
        }
      } while (this.pumpAgain && !this.stopping);
      // No claim this time: the timer armed after the last claim stands unless something is due sooner.
      await this.arm(!claimed);
    } catch (err) {
      failed = true;
      this.mayClaim = true;
      this.options.log.error({ err }, 'webhook queue: claiming failed; trying again in 1 s');
    } finally {
      this.pumping = false;
    }
    if (failed) this.sleep(1000);
  }

  /**
   * Room for claimed deliveries: the pool holds up to twice its concurrency (running + claimed and
   * waiting for a slot), so that finishing attempts start the next one without a store round trip.
   */
  private get free(): number {
    return 2 * this.options.concurrency - this.runningCount - this.waitingCount - this.reservedCount - this.throttledCount;
  }

  /** Claims in batches (a quarter of the pool at least) unless the pool is idle. */
  private get worthClaiming(): boolean {
    const batch = Math.max(1, Math.floor(this.options.concurrency / 2));
    return this.free >= batch || (this.free > 0 && this.runningCount + this.waitingCount === 0);
  }

  private async fill(): Promise<void> {
    while (this.worthClaiming && !this.stopping && Date.now() >= this.pausedUntil) {
      const limit = Math.min(this.free, 512);
      const skipHosts: string[] = [];
      for (const [h, s] of this.hosts) if (this.heldFor(s) >= 2 * this.perHost) skipHosts.push(h);
      this.lastClaimAt = Date.now();
      this.lastSkip = new Set(skipHosts);
      const batch = await this.store.claim({ now: this.lastClaimAt, limit, leaseMs: LEASE_MS, perHost: this.perHost, skipHosts });
      this.lastClaimEmpty = batch.length === 0;
      if (batch.length === 0) this.mayClaim = false;
      for (const r of batch) this.admit(r);
      if (batch.length < limit) return;
    }
  }

  /** Sleeps until the next due delivery (bounded); attempts finishing wake the pool anyway. */
  private async arm(keepEarlier = false): Promise<void> {
    if (this.stopping) return;
    if (!this.worthClaiming) {
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
    this.sleep(Math.max(delay, this.pausedUntil - now));
  }

  private sleep(ms: number): void {
    clearTimeout(this.timer);
    this.timerAt = 0;
    if (this.stopping) return;
    this.timerAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timerAt = 0;
      this.mayClaim = true;
      this.wake();
    }, ms).unref();
  }

  private heldFor(s: HostSlots): number {
    return s.running + s.waiting.length + s.reserved + s.throttled;
  }

  /** A host the next claim would skip. */
  private isFull(host: string): boolean {
    const s = this.hosts.get(host);
    return s !== undefined && this.heldFor(s) >= 2 * this.perHost;
  }

  private slots(host: string): HostSlots {
    let s = this.hosts.get(host);
    if (!s) this.hosts.set(host, (s = { host, running: 0, waiting: [], reserved: 0, throttled: 0 }));
    return s;
  }

  private admit(r: DeliveryRecord): void {
    if (this.held.has(r.id)) return; // already ours (a lease renewed late): never run twice
    if (this.stopping) {
      // Claimed while shutting down: give it back at once.
      this.store.release([r.id]).catch((err: unknown) => this.options.log.error({ err }, 'could not release a webhook claim'));
      return;
    }
    this.held.add(r.id);
    const s = this.slots(deliveryHost(r.url));
    s.waiting.push(r);
    this.waitingCount++;
    this.startWaiting(s);
  }

  /** Starts waiting deliveries while the pool and their host have room; `preferred` host first. */
  private startWaiting(preferred?: HostSlots): void {
    while (!this.stopping && this.runningCount < this.options.concurrency) {
      let pick = preferred && preferred.waiting.length > 0 && preferred.running < this.perHost ? preferred : undefined;
      if (!pick) {
        for (const s of this.hosts.values()) {
          if (s.waiting.length > 0 && s.running < this.perHost) {
            pick = s;
            break;
          }
        }
      }
      if (!pick) return;
      const r = pick.waiting.shift() as DeliveryRecord;
      this.waitingCount--;
      this.run(r, pick);
    }
  }

  private run(r: DeliveryRecord, s: HostSlots): void {
    s.running++;
    this.runningCount++;
    let answered = false;
    // The slot is free once the target answered: the attempt's record commits meanwhile (held until then).
    const freeSlot = (): void => {
      if (answered) return;
      answered = true;
      s.running--;
      this.runningCount--;
      // A host the last (empty) claim skipped has room again: its backlog may be claimable now.
      if (!this.mayClaim && this.lastSkip.has(s.host) && this.heldFor(s) < 2 * this.perHost) this.mayClaim = true;
      this.startWaiting(s);
      this.forgetIdle(s.host);
      this.wake();
    };
    const done = this.gateThenAttempt(r, s, freeSlot)
      .catch((err: unknown) => this.options.log.error({ err, delivery: r.id }, 'webhook attempt failed unexpectedly'))
      .finally(() => {
        this.running.delete(r.id);
        freeSlot();
      });
    this.running.set(r.id, done);
  }

  /** A counter's child for one label value, looked up once. */
  private counter(cache: Map<string, { inc(): void }>, metric: { labels(value: string): { inc(): void } }, value: string): { inc(): void } {
    let child = cache.get(value);
    if (!child) cache.set(value, (child = metric.labels(value)));
    return child;
  }

  private async renewLeases(): Promise<void> {
    if (this.held.size === 0 || this.stopping) return;
    try {
      await this.store.renew([...this.held], Date.now() + LEASE_MS);
    } catch (err) {
      this.options.log.error({ err }, 'could not renew webhook leases');
    }
  }

  private async prune(): Promise<void> {
    try {
      let pruned = await this.store.prune(Date.now() - this.options.retentionMs);
      if ((this.options.retentionCount ?? 0) > 0) pruned += await this.store.pruneBeyond(this.options.retentionCount as number);
      if (pruned > 0) this.options.log.info({ pruned }, 'pruned finished webhook deliveries');
    } catch (err) {
      this.options.log.error({ err }, 'pruning webhook deliveries failed');
    }
  }

  // ---- endpoint control: park, wait for a permit, or go ----

  private async gateThenAttempt(r: DeliveryRecord, s: HostSlots, freeSlot: () => void): Promise<void> {
    const control = this.endpoints;
    if (!control) return this.attempt(r, freeSlot);
    const endpoint = control.endpointOf(r.url);
    // Behind others of its endpoint waiting for a permit: it waits behind them (no permit asked).
    const queue = this.throttled.get(endpoint);
    let gate: GateAnswer;
    try {
      gate = queue && queue.queue.length > 0 && !this.throttleTurn.has(r.id) ? { kind: 'wait', endpoint, ms: -1 }
        : control.quickGate(r) ?? await control.gate(r);
      this.throttleTurn.delete(r.id);
      if (gate.kind === 'park') {
        await this.store.park(r.id);
        this.held.delete(r.id);
        this.metrics.parked.inc();
        return;
      }
    } catch (err) {
      // The store could not answer (Redis down): the delivery is given back unattempted, not held for ever.
      this.throttleTurn.delete(r.id);
      this.options.log.error({ err, delivery: r.id, endpoint }, 'endpoint control failed; the delivery is released');
      this.held.delete(r.id);
      // No claim for a second: claimed again at once, it would meet the same failure in a hot loop.
      this.pausedUntil = Date.now() + 1000;
      await this.store.release([r.id]).catch((e: unknown) => this.options.log.error({ err: e }, 'could not release a webhook claim'));
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
      await this.attempt(r, freeSlot, endpoint);
    } finally {
      if (gate.slot) {
        control.release(endpoint, r.id);
        this.nextThrottled(endpoint, 0);
      }
    }
  }

  /** Holds a delivery (claimed, lease renewed) until its endpoint's permit may be granted. */
  private throttle(r: DeliveryRecord, host: string, endpoint: string, ms: number): void {
    let t = this.throttled.get(endpoint);
    if (!t) this.throttled.set(endpoint, (t = { queue: [], timer: undefined }));
    const s = this.slots(host);
    s.throttled++;
    this.throttledCount++;
    // The head asked and was refused: it stays first. Others join the end.
    if (ms >= 0) t.queue.unshift({ r, host });
    else t.queue.push({ r, host });
    if (ms >= 0) this.nextThrottled(endpoint, ms);
  }

  /** Lets the first delivery waiting for `endpoint` ask for its permit again in `ms`. */
  private nextThrottled(endpoint: string, ms: number): void {
    const t = this.throttled.get(endpoint);
    if (!t || t.queue.length === 0 || this.stopping) return;
    if (t.timer !== undefined) {
      if (ms > 0) return; // a turn is already scheduled
      clearTimeout(t.timer);
    }
    t.timer = setTimeout(() => {
      t.timer = undefined;
      const head = t.queue.shift();
      if (!head) return;
      if (t.queue.length === 0) this.throttled.delete(endpoint);
      const s = this.slots(head.host);
      s.throttled--;
      this.throttledCount--;
      this.throttleTurn.add(head.r.id);
      s.waiting.unshift(head.r);
      this.waitingCount++;
      this.startWaiting(s);
    }, ms).unref();
  }

  // ---- one attempt (attempt.ts judges it; the pool records it and frees its slot) ----

  /** Sends one attempt, calls `answered` once the target answered (or failed), then records it. */
  private async attempt(r: DeliveryRecord, answered: () => void, endpoint?: string): Promise<void> {
    const startedAt = Date.now();
    const res = await this.sender.send(attemptRequest(r, startedAt, this.attemptSettings, this.aborts));
    if (this.abandoned) return; // shutdown deadline passed: released by stop(), not recorded
    const judged = judgeAttempt(r, res, startedAt, this.schedule);
    const { attempt, label, outcome, followUp } = judged;
    const recorded = this.store.finish(r.id, outcome, followUp);
    answered();
    await recorded;
    this.held.delete(r.id);
    // A retry or a report was queued, or the next delivery of an ordered lane became due: claimable.
    if (outcome.status === 'pending' || followUp || r.orderKey !== undefined) this.mayClaim = true;
    if (this.resends.delete(r.id) && outcome.status !== 'pending') {
      await this.store.retry(r.id, Date.now());
      this.mayClaim = true;
    }

    this.counter(this.attemptCounters, this.metrics.attempts, label).inc();
    this.metrics.attemptDuration.observe(attempt.duration_ms / 1000);
    if (outcome.status !== 'pending') this.counter(this.deliveryCounters, this.metrics.deliveries, outcome.status).inc();
    if (outcome.status === 'succeeded') this.metrics.latency.observe((Date.now() - r.createdAt) / 1000);
    if (this.logAttempts) this.options.log.info(attemptLogFields(r, judged), 'webhook attempt');
    if (endpoint !== undefined) this.endpointOutcome(r, endpoint, judged);
    const event = attemptEvent(r, judged);
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (err) {
        this.options.log.error({ err }, 'webhook attempt listener failed');
      }
    }
  }

  /** The endpoint's health and metrics learn of the attempt; a delivery failed for good is an event. */
  private endpointOutcome(r: DeliveryRecord, endpoint: string, judged: JudgedAttempt): void {
    const ok = judged.label === 'success';
    let m = this.endpointMetrics.get(endpoint);
    if (!m) {
      if (this.endpointMetrics.size >= 10_000) this.endpointMetrics.clear();
      m = {
        success: this.metrics.endpointAttempts.labels(endpoint, 'success'),
        failure: this.metrics.endpointAttempts.labels(endpoint, 'failure'),
        duration: this.metrics.endpointAttemptDuration.labels(endpoint),
      };
      this.endpointMetrics.set(endpoint, m);
    }
    (ok ? m.success : m.failure).inc();
    m.duration.observe(judged.attempt.duration_ms / 1000);
    this.endpoints?.recordAttempt(endpoint, r.id, ok, judged.attempt.duration_ms)
      .catch((err: unknown) => this.options.log.error({ err, endpoint }, 'recording an endpoint outcome failed'));
    if (judged.outcome.status === 'failed' && r.origin?.kind !== ALERT_ORIGIN) {
      const a = judged.attempt;
      this.emit({
        type: 'delivery.failed',
        endpoint,
        at: new Date().toISOString(),
        // The topic's readers are a wider audience than the errback: the URL without its query string.
        delivery: { id: r.id, url: logUrl(r.url), attempts: r.attempts.length + 1, status: a.status, error: a.error },
      });
    }
  }
}

