// The webhook dispatcher: a durable queue (store.deliveries) worked by a pool (pool.ts) of attempts
// (attempt-runner.ts, judged by attempt.ts) sent over undici (send/). This file is the WebhookQueue others
// see: it checks and commits deliveries (running one at once when its host has a free slot), resends,
// reports attempts to listeners, and starts and stops the pool. What the pool holds, its per-host slots
// and counters, is one object (pool-state.ts); endpoint flow control sits in endpoint-gates.ts.
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import { timeOrderedId } from '../core/ids.js';
import { atItem, HookhubError } from '../core/errors.js';
import { checkTargetUrl } from '../core/target-guard.js';
import type { AttemptEvent, OutgoingWebhook, WebhookQueue } from '../core/webhooks.js';
import { fixedPart } from '../store/contracts/delivery-fixed-part.js';
import { deliveryHost } from '../store/contracts/delivery-target.js';
import type { DeliveryQueue, DeliveryRecord, NewDelivery, ParkedDelivery } from '../store/contracts/delivery-queue.js';
import type { EndpointBook, EndpointLimiter } from '../store/contracts/endpoints.js';
import { AttemptRunner } from './attempt-runner.js';
import { EndpointControl, type EndpointOptions } from './endpoints.js';
import type { EndpointEvent } from './events.js';
import { createDispatchMetrics, type DispatchMetrics } from './metrics.js';
import { LEASE_MS, WorkerPool } from './pool.js';
import { PoolState, type HostSlots } from './pool-state.js';
import { delayBefore, retrySchedule, type RetrySchedule } from './retry-schedule.js';
import { inProcessSender } from './send/in-loop.js';
import { signingKey } from './signing.js';
import { threadSender } from './send/worker-threads.js';

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
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

export class WebhookDispatcher implements WebhookQueue {
  readonly schedule: RetrySchedule;
  readonly metrics: DispatchMetrics;
  readonly perHost: number;
  /** Endpoint control (flow limits, circuit, parking); undefined without `options.endpoints`. */
  readonly endpoints: EndpointControl | undefined;
  private readonly state: PoolState;
  private readonly attempts: AttemptRunner;
  private readonly pool: WorkerPool;
  /** Target URLs that passed checkTargetUrl (with this dispatcher's --allow-private-targets), at most CHECKED_URLS. */
  private readonly checkedUrls = new Set<string>();

  constructor(private readonly options: DispatcherOptions) {
    this.schedule = retrySchedule(options.schedule);
    this.perHost = Math.max(1, Math.min(options.concurrency, options.perHost ?? Math.max(8, Math.ceil(options.concurrency / 2))));
    this.state = new PoolState(options.concurrency, this.perHost);
    const senderOptions = { allowPrivateTargets: options.allowPrivateTargets, connections: this.perHost };
    const sender = (options.threads ?? 0) > 0
      ? threadSender({ ...senderOptions, threads: options.threads as number, onError: (message) => options.log.error(message) })
      : inProcessSender(senderOptions);
    this.metrics = createDispatchMetrics(options.registry, () => options.store.depth(),
      () => (this.endpoints?.ids() ?? []).map((id) => [id, (this.endpoints as EndpointControl).view(id).state]));
    const ep = options.endpoints;
    this.endpoints = ep && new EndpointControl(ep.options, {
      book: ep.book,
      limiter: ep.limiter,
      queue: { unpark: (matches, now, limit) => this.unpark(matches, now, limit) },
      emit: (e) => this.emit(e),
      unparked: () => {
        this.state.mayClaim = true;
        this.pool.wake();
      },
      slotHoldMs: (r) => (r.timeoutMs ?? options.timeoutMs) + LEASE_MS,
      onError: (err, what) => options.log.error({ err }, what),
    });
    this.attempts = new AttemptRunner({
      state: this.state,
      store: options.store,
      sender,
      settings: { schedule: this.schedule, signingSecret: options.signingSecret, timeoutMs: options.timeoutMs },
      metrics: this.metrics,
      log: options.log,
      endpoints: this.endpoints,
      emit: (e) => this.emit(e),
    });
    this.pool = new WorkerPool({
      state: this.state,
      store: options.store,
      log: options.log,
      retentionMs: options.retentionMs,
      retentionCount: options.retentionCount,
      gates: { control: this.endpoints, attempts: this.attempts, parked: this.metrics.parked },
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
    if (this.state.started) return;
    this.state.started = true;
    await this.endpoints?.start();
    const recovered = await this.store.recover(Date.now());
    if (recovered > 0) this.options.log.warn({ recovered }, 'webhook deliveries claimed by a previous process are pending again');
    this.pool.start();
  }

  /** Stops claiming, lets attempts in flight finish up to the drain deadline, gives the rest back. */
  async stop(): Promise<void> {
    if (this.state.stopping) return;
    this.state.stopping = true;
    this.endpoints?.stop();
    const waiting = this.pool.halt();
    if (!(await this.pool.drain(this.options.drainMs ?? 10_000))) {
      // Abandoned attempts are released, not recorded: the next process tries them again.
      this.attempts.abandon();
      await this.pool.settled();
    }
    try {
      await this.store.release([...waiting, ...this.state.held]);
    } catch (err) {
      this.options.log.error({ err }, 'could not release webhook claims');
    }
    await this.attempts.close();
  }

  onAttempt(fn: (e: AttemptEvent) => void): void {
    this.attempts.onAttempt(fn);
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
    const state = this.state;
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
    const canRun = w.orderKey === undefined && state.runningCount + state.reservedCount < state.concurrency;
    const slots = firstDelay === 0 && state.started && !state.stopping && w.orderKey === undefined ? state.slots(host) : undefined;
    const fast = canRun && slots !== undefined && slots.running + slots.waiting.length + slots.reserved < state.perHost;
    // No slot, but the pool has room: with a store that runs writes and claims in order, the delivery is
    // written claimed and waits here for a slot, as a claim would have taken it, when at its place in that
    // order the store holds nothing else due (PoolState.quiet); otherwise it is written unclaimed, behind them.
    const ordered = this.options.store.exhaustiveClaims === true;
    const mayWait = !fast && ordered && slots !== undefined && state.free > 0 && state.heldFor(slots) < 2 * state.perHost;
    let claimed = fast;
    if (fast || mayWait) {
      d.claimUntil = now + LEASE_MS;
      (slots as HostSlots).reserved++;
      state.reservedCount++;
    } else if (slots !== undefined) state.forgetIdle(host);
    if (mayWait) {
      d.claimNow = () => {
        claimed = state.quiet(Date.now());
        if (!claimed) state.backlog.add(host);
        return claimed;
      };
    } else if (!fast && ordered) {
      d.claimNow = () => {
        state.backlog.add(host);
        return false;
      };
    }
    // Due later (a first delay): the store is read for it before new deliveries may stay in memory again.
    const later = ordered && firstDelay > 0;
    if (later) state.dueSoon(d.nextAt);
    let result: { id: string; created: boolean };
    try {
      result = await this.store.enqueue(d, { maxDepth: this.options.maxQueueDepth, idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS });
    } finally {
      if (later) state.dueSettled();
      if (fast || mayWait) {
        (slots as HostSlots).reserved--;
        state.reservedCount--;
        state.forgetIdle(host);
      }
    }
    if (claimed && result.created) {
      this.pool.admit(claimedRecord(d, now));
    } else if (result.created) {
      // For a full host it waits until the host has room (then a claim is made), as its backlog does.
      if (state.isFull(host)) state.lastSkip.add(host);
      else state.mayClaim = true;
      this.pool.wake();
    }
    return result;
  }

  /** Makes parked deliveries due (store.unpark); new ones of their hosts queue behind them until claimed. */
  async unpark(matches: (d: ParkedDelivery) => boolean, now: number, limit?: number): Promise<number> {
    return this.state.makingDue(now, () => this.store.unpark(matches, now, limit));
  }

  /** One more attempt of a delivery (same id), due now. */
  async retry(id: string): Promise<'queued' | 'in_flight' | 'not_found'> {
    const now = Date.now();
    const result = await this.state.makingDue(now, () => this.store.retry(id, now));
    if (result === 'queued') {
      this.state.mayClaim = true;
      this.pool.wake();
    }
    if (result === 'in_flight' && this.state.held.has(id)) {
      // Ours and in flight: one more attempt once this one is recorded.
      this.attempts.resendAfter(id);
      return 'queued';
    }
    return result;
  }
}

/** The record of a delivery written claimed by commit(), as a claim would have read it. */
function claimedRecord(d: NewDelivery, now: number): DeliveryRecord {
  return Object.assign(fixedPart(d, now), {
    maxAttempts: d.maxAttempts, nextAt: d.nextAt, seq: 0, status: 'delivering' as const, attempts: [], updatedAt: now, leaseUntil: d.claimUntil as number,
  });
}
