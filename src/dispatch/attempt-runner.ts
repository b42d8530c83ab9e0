// Runs one attempt for the pool: sends it (send/), has attempt.ts judge the answer, records the outcome
// in the store, frees the slot as soon as the target answered, then tells the others: metrics, the log
// line, the endpoint's health, the `delivery.failed` event and the onAttempt listeners.
import type { FastifyBaseLogger } from 'fastify';
import { logUrl } from '../core/log-url.js';
import type { AttemptEvent } from '../core/webhooks.js';
import type { DeliveryQueue, DeliveryRecord } from '../store/contracts/delivery-queue.js';
import { attemptEvent, attemptLogFields, attemptRequest, judgeAttempt, type AttemptSettings, type JudgedAttempt } from './attempt.js';
import type { EndpointControl } from './endpoints.js';
import { ALERT_ORIGIN, type EndpointEvent } from './events.js';
import type { DispatchMetrics } from './metrics.js';
import type { PoolState } from './pool-state.js';
import type { AttemptSender } from './send/in-loop.js';

export interface AttemptRunnerDeps {
  state: PoolState;
  store: DeliveryQueue;
  sender: AttemptSender;
  settings: AttemptSettings;
  metrics: DispatchMetrics;
  log: FastifyBaseLogger;
  endpoints: EndpointControl | undefined;
  emit: (e: EndpointEvent) => void;
}

export class AttemptRunner {
  private readonly listeners: Array<(e: AttemptEvent) => void> = [];
  /** Abort functions of the attempts in flight, called when the shutdown deadline passes. */
  private readonly aborts = new Set<(reason: Error) => void>();
  private abandoned = false;
  /** One log line per attempt at info and below (the level is read once: a getter call per attempt shows in profiles). */
  private readonly logAttempts: boolean;
  /** Resends asked while an attempt of the delivery was in flight here. */
  private readonly resends = new Set<string>();
  /** Each endpoint's duration histogram child, looked up once. */
  private readonly endpointDurations = new Map<string, { observe(v: number): void }>();

  constructor(private readonly deps: AttemptRunnerDeps) {
    this.logAttempts = ['trace', 'debug', 'info'].includes(deps.log.level);
  }

  onAttempt(fn: (e: AttemptEvent) => void): void {
    this.listeners.push(fn);
  }

  /** One more attempt of `id` once the one in flight here is recorded. */
  resendAfter(id: string): void {
    this.resends.add(id);
  }

  /** The shutdown deadline passed: attempts in flight are aborted and released by stop(), not recorded. */
  abandon(): void {
    this.abandoned = true;
    for (const abort of [...this.aborts]) abort(new Error('attempt abandoned (shutdown)'));
  }

  close(): Promise<void> {
    return this.deps.sender.close();
  }

  /** Sends one attempt, calls `answered` once the target answered (or failed), then records it. */
  async attempt(r: DeliveryRecord, answered: () => void, endpoint?: string): Promise<void> {
    const { state, store, metrics } = this.deps;
    const startedAt = Date.now();
    const res = await this.deps.sender.send(attemptRequest(r, startedAt, this.deps.settings, this.aborts));
    if (this.abandoned) return; // shutdown deadline passed: released by stop(), not recorded
    const judged = judgeAttempt(r, res, startedAt, this.deps.settings.schedule);
    const { attempt, label, outcome, followUp } = judged;
    // What the record makes due (a retry, a report, the next of an ordered lane) is work in the store: a
    // lone retry at its own time, a report or the next of a lane at once.
    const makesDue = outcome.status === 'pending' || followUp !== undefined || r.orderKey !== undefined;
    const loneRetry = followUp === undefined && r.orderKey === undefined;
    if (makesDue) state.dueSoon(loneRetry ? outcome.nextAt ?? startedAt : startedAt);
    const recorded = store.finish(r.id, outcome, followUp);
    answered();
    try {
      await recorded;
    } finally {
      if (makesDue) state.dueSettled();
    }
    state.held.delete(r.id);
    // A retry or a report was queued, or the next delivery of an ordered lane became due: claimable.
    if (makesDue) state.mayClaim = true;
    if (this.resends.delete(r.id) && outcome.status !== 'pending') {
      const now = Date.now();
      await state.makingDue(now, () => store.retry(r.id, now));
      state.mayClaim = true;
    }

    metrics.tallies.attempts.add(label);
    metrics.attemptDuration.observe(attempt.duration_ms / 1000);
    if (outcome.status !== 'pending') metrics.tallies.deliveries.add(outcome.status);
    if (outcome.status === 'succeeded') metrics.latency.observe((Date.now() - r.createdAt) / 1000);
    if (this.logAttempts) this.deps.log.info(attemptLogFields(r, judged), 'webhook attempt');
    if (endpoint !== undefined) this.endpointOutcome(r, endpoint, judged);
    const event = attemptEvent(r, judged);
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch (err) {
        this.deps.log.error({ err }, 'webhook attempt listener failed');
      }
    }
  }

  /** The endpoint's health and metrics learn of the attempt; a delivery failed for good is an event. */
  private endpointOutcome(r: DeliveryRecord, endpoint: string, judged: JudgedAttempt): void {
    const ok = judged.label === 'success';
    const { tallies, endpointAttemptDuration } = this.deps.metrics;
    (ok ? tallies.endpointSuccess : tallies.endpointFailure).add(endpoint);
    let duration = this.endpointDurations.get(endpoint);
    if (!duration) {
      if (this.endpointDurations.size >= 10_000) this.endpointDurations.clear();
      this.endpointDurations.set(endpoint, (duration = endpointAttemptDuration.labels(endpoint)));
    }
    duration.observe(judged.attempt.duration_ms / 1000);
    this.deps.endpoints?.recordAttempt(endpoint, r.id, ok, judged.attempt.duration_ms)
      ?.catch((err: unknown) => this.deps.log.error({ err, endpoint }, 'recording an endpoint outcome failed'));
    if (judged.outcome.status === 'failed' && r.origin?.kind !== ALERT_ORIGIN) {
      const a = judged.attempt;
      this.deps.emit({
        type: 'delivery.failed',
        endpoint,
        at: new Date().toISOString(),
        // The topic's readers are a wider audience than the errback: the URL without its query string.
        delivery: { id: r.id, url: logUrl(r.url), attempts: r.attempts.length + 1, status: a.status, error: a.error },
      });
    }
  }
}
