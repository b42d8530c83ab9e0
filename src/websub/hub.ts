// The WebSub hub (W3C Recommendation): subscription requests verified asynchronously, leases,
// denial notices, publish pings that fetch the topic, and deliveries through the webhook queue.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { Agent } from 'undici';
import { isHookhubError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { createOutgoingAgent } from '../core/target-guard.js';
import type { Topics } from '../core/topics.js';
import { logUrl } from '../core/log-url.js';
import type { AttemptEvent, OutgoingWebhook, WebhookQueue } from '../core/webhooks.js';
import type { Subscription, Subscriptions } from '../store/contracts/subscriptions.js';
import { DeliveryFeed } from './delivery-feed.js';
import { websubLink } from './link.js';
import { createWebSubMetrics, type WebSubMetrics } from './metrics.js';
import { BodyTooLarge, httpGet } from './outgoing.js';
import { HubAccess, type HubAccessOptions, type HubCredential } from './access.js';
import { PendingVerifications } from './pending-verifications.js';
import { withHubParams, type HubRequest } from './request.js';

export interface WebSubOptions {
  subscriptions: Subscriptions;
  topics: Topics;
  log: FastifyBaseLogger;
  registry: Registry;
  allowPrivate: boolean;
  requireHttps: boolean;
  /** Who may subscribe and publish: --websub-allow and the keys (websub/access.ts). */
  access: HubAccessOptions;
  leaseMinMs: number;
  leaseMaxMs: number;
  leaseDefaultMs: number;
  /** Timeout of verification GETs and topic fetches. */
  timeoutMs: number;
  /** Largest topic body fetched. */
  maxBody: number;
  /** Delays before each attempt to fetch a published topic URL. */
  fetchSchedule: readonly number[];
  /** How clients reach this server, read lazily (known once listening). */
  publicUrl: () => string;
  /** How often expired leases are pruned (default: from --lease-min, 250 ms – 60 s). */
  sweepMs?: number;
  /** --websub-pending-max / --websub-pending-per-host: verifications waiting at once (no cap when unset). */
  pendingMax?: number;
  pendingPerHost?: number;
  /** How often deliveries owed after a crash (or a failed enqueue) are looked for (default 3 s). */
  resumeEveryMs?: number;
}

/** What /hub answers: 202 (work continues asynchronously) or a refusal. */
export type HubAnswer = { status: 202 } | { status: 401 | 403 | 429 | 503; reason: string };

const MAX_CHALLENGE_REPLY = 4096;
const WEBSUB = 'websub';

export const hubSignature = (secret: string, body: Buffer): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export class WebSubHub {
  readonly metrics: WebSubMetrics;
  private readonly agent: Agent;
  readonly access: HubAccess;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();
  private readonly feed: DeliveryFeed;
  private queue: WebhookQueue | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly pending: PendingVerifications;

  constructor(private readonly o: WebSubOptions) {
    this.agent = createOutgoingAgent({ allowPrivate: o.allowPrivate });
    this.access = new HubAccess(o.access);
    this.pending = new PendingVerifications(o.pendingMax ?? Infinity, o.pendingPerHost ?? Infinity);
    this.metrics = createWebSubMetrics(o.registry, o.subscriptions);
    this.feed = new DeliveryFeed({
      topics: o.topics,
      subscriptions: o.subscriptions,
      log: o.log,
      queue: () => this.queue,
      delivery: (sub, m) => this.delivery(sub, m),
      onQueued: () => this.metrics.queued.inc(),
      ...(o.resumeEveryMs !== undefined ? { resumeEveryMs: o.resumeEveryMs } : {}),
    });
  }

  get subscriptions(): Subscriptions {
    return this.o.subscriptions;
  }

  /** Connects the webhook queue that carries deliveries (the dispatcher). */
  useQueue(queue: WebhookQueue): void {
    this.queue = queue;
    queue.onAttempt((e) => {
      if (e.origin?.kind === WEBSUB) this.track(this.attempted(e, e.origin.ref));
    });
  }

  /** Resumes verifications and deliveries left by a previous run and starts the lease sweep. */
  async start(): Promise<void> {
    for (const sub of await this.o.subscriptions.withIntent()) this.scheduleVerification(sub.id, sub.callback);
    await this.feed.start();
    const every = this.o.sweepMs ?? Math.min(60_000, Math.max(250, this.o.leaseMinMs));
    this.sweepTimer = setInterval(() => this.track(this.sweep()), every);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.closing.abort();
    await Promise.allSettled([this.feed.close(), ...this.background, ...this.chains.values()]);
    await this.agent.close();
  }

  /** Granted lease in whole seconds: asked value within --lease-min/--lease-max, else --lease-default. */
  grantLease(asked: number | undefined): number {
    const min = Math.max(1, Math.ceil(this.o.leaseMinMs / 1000));
    const max = Math.max(min, Math.floor(this.o.leaseMaxMs / 1000));
    const value = asked ?? Math.round(this.o.leaseDefaultMs / 1000);
    return Math.min(max, Math.max(min, value));
  }

  /** Handles a validated request carrying `credential`. Durable work is committed before this resolves (the 202). */
  async handle(req: HubRequest, credential: HubCredential = 'none'): Promise<HubAnswer> {
    if (req.mode === 'publish') {
      for (const url of req.urls) {
        const verdict = this.access.verdict('publish', url, credential);
        if (verdict === 'deny') return { status: 403, reason: `topic not allowed by this hub: ${url}` };
        if (verdict !== 'accept') return verdict;
      }
      for (const url of req.urls) this.track(this.fetchAndPublish(url));
      return { status: 202 };
    }
    let denied = false;
    if (req.mode === 'subscribe') {
      const verdict = this.access.verdict('subscribe', req.topic, credential);
      // A request without the key it needs is answered at once: nothing is sent to its callback.
      if (verdict !== 'accept' && verdict !== 'deny') return verdict;
      denied = verdict === 'deny';
    }
    // Every accepted request below sends a GET to the callback: refused while too many are waiting.
    const refusal = this.pending.refusal(req.callback);
    if (refusal) return refusal;
    if (denied) {
      // W3C WebSub 5.2: the request is accepted, then validation denies it with a GET to the callback.
      const release = this.pending.add(req.callback);
      this.track(this.deny(req.callback, req.topic, 'topic not allowed by this hub').finally(release));
      return { status: 202 };
    }
    const intent = {
      mode: req.mode,
      leaseSeconds: req.mode === 'subscribe' ? this.grantLease(req.leaseSeconds) : 0,
      secret: req.secret,
      requestedAt: Date.now(),
      token: randomUUID(),
    };
    const sub = await this.o.subscriptions.request(req.callback, req.topic, intent);
    if (sub) this.scheduleVerification(sub.id, sub.callback);
    else this.o.log.info({ callback: logUrl(req.callback), topic: logUrl(req.topic) }, 'websub unsubscribe for no subscription: nothing to do');
    return { status: 202 };
  }

  /** Verifications of one subscription run one after another, always on its current intent. */
  private scheduleVerification(id: string, callback: string): void {
    const release = this.pending.add(callback);
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous
      .then(() => this.verify(id))
      .catch((err: unknown) => {
        if (!this.closing.signal.aborted) this.o.log.error({ err, subscription: id }, 'websub verification failed');
      })
      .finally(() => {
        release();
        if (this.chains.get(id) === next) this.chains.delete(id);
      });
    this.chains.set(id, next);
  }

  private async verify(id: string): Promise<void> {
    if (this.closing.signal.aborted) return;
    const sub = await this.o.subscriptions.get(id);
    const intent = sub?.intent;
    if (!sub || !intent) return;
    const challenge = randomBytes(24).toString('hex');
    const params: Record<string, string> = { 'hub.mode': intent.mode, 'hub.topic': sub.topic, 'hub.challenge': challenge };
    if (intent.mode === 'subscribe') params['hub.lease_seconds'] = String(intent.leaseSeconds);
    let outcome: 'verified' | 'refused' | 'error';
    let detail: string;
    try {
      const res = await httpGet(withHubParams(sub.callback, params), this.getOptions(MAX_CHALLENGE_REPLY));
      const echoed = res.body.toString('utf8');
      const ok = res.status >= 200 && res.status < 300 && (echoed === challenge || echoed.trim() === challenge);
      outcome = ok ? 'verified' : 'refused';
      detail = ok ? 'challenge echoed' : res.status >= 300 || res.status < 200 ? `callback answered ${res.status}` : 'callback did not echo the challenge';
    } catch (err) {
      if (this.closing.signal.aborted) return; // resumed at the next start
      outcome = 'error';
      detail = err instanceof BodyTooLarge ? 'challenge reply too large' : (err as Error).message;
    }
    this.metrics.verifications.labels(intent.mode, outcome).inc();
    const fields = { subscription: id, callback: logUrl(sub.callback), topic: logUrl(sub.topic), mode: intent.mode, outcome, detail };
    if (outcome !== 'verified') {
      await this.o.subscriptions.dropIntent(id, intent.token);
      this.o.log.info(fields, 'websub verification of intent failed');
      return;
    }
    // Deliveries start after the topic's current head: messages committed from now on are owed to it.
    const applied = intent.mode === 'subscribe'
      ? await this.o.subscriptions.activate(id, intent.token, Date.now(), (await this.o.topics.bounds(sub.topic)).last)
      : await this.o.subscriptions.removeIfIntent(id, intent.token);
    this.o.log.info({ ...fields, applied, leaseSeconds: intent.leaseSeconds }, 'websub intent verified');
  }

  private async deny(callback: string, topic: string, reason: string): Promise<void> {
    this.metrics.denials.inc();
    try {
      const params = { 'hub.mode': 'denied', 'hub.topic': topic, 'hub.reason': reason };
      const res = await httpGet(withHubParams(callback, params), this.getOptions(MAX_CHALLENGE_REPLY));
      this.o.log.info({ callback: logUrl(callback), topic: logUrl(topic), reason, status: res.status }, 'websub subscription denied');
    } catch (err) {
      this.o.log.warn({ callback: logUrl(callback), topic: logUrl(topic), reason, err: (err as Error).message }, 'websub denial notice failed');
    }
  }

  /** Fetches a published topic URL (retried on failure) and publishes the whole body, or nothing. */
  private async fetchAndPublish(url: string): Promise<void> {
    const schedule = this.o.fetchSchedule.length > 0 ? this.o.fetchSchedule : [0];
    for (let attempt = 0; attempt < schedule.length; attempt++) {
      if (!(await this.wait(schedule[attempt] ?? 0))) return;
      let failure: string;
      let retry = true;
      try {
        const res = await httpGet(url, this.getOptions(this.o.maxBody));
        if (res.status >= 200 && res.status < 300) {
          const contentType = res.contentType ?? 'application/octet-stream';
          const m = await this.o.topics.publish(url, { contentType, body: res.body });
          this.metrics.fetches.labels('ok').inc();
          this.o.log.info({ topic: logUrl(url), offset: m.offset, bytes: res.body.length, attempt: attempt + 1 }, 'websub topic fetched and published');
          return;
        }
        failure = `topic answered ${res.status}`;
      } catch (err) {
        if (this.closing.signal.aborted) return;
        failure = (err as Error).message;
        // Too large, or refused by the topic core (e.g. JSON nested past --max-json-depth): the same again next time.
        retry = !(err instanceof BodyTooLarge) && !isHookhubError(err);
      }
      this.metrics.fetches.labels('failed').inc();
      const last = !retry || attempt === schedule.length - 1;
      this.o.log.warn({ topic: logUrl(url), attempt: attempt + 1, error: failure, final: last }, 'websub topic fetch failed');
      if (last) return;
    }
  }

  /** One message to one subscription: signed with its hub.secret, Link headers percent-encoded. */
  private delivery(sub: Subscription, m: Message): OutgoingWebhook {
    const headers: Record<string, string> = { link: websubLink(`${this.o.publicUrl().replace(/\/+$/, '')}/hub`, m.topic) };
    if (sub.secret) headers['x-hub-signature'] = hubSignature(sub.secret, m.body);
    return {
      url: sub.callback,
      method: 'POST',
      headers,
      body: m.body,
      contentType: m.contentType,
      secret: null,
      origin: { kind: WEBSUB, ref: sub.id },
      idempotencyKey: `websub:${sub.id}:${m.offset}`,
    };
  }

  private async attempted(e: AttemptEvent, id: string): Promise<void> {
    await this.o.subscriptions.recordDelivery(id, {
      at: Date.now(),
      deliveryId: e.deliveryId,
      ok: e.ok,
      final: e.final,
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
    });
    if (e.status === 410 && (await this.o.subscriptions.remove(id))) {
      this.o.log.info({ subscription: id, delivery: e.deliveryId }, 'websub callback answered 410 Gone: subscription ended');
    }
  }

  private async sweep(): Promise<void> {
    // Expired leases stay listed as "expired" for one --lease-min, then go.
    const pruned = await this.o.subscriptions.prune(Date.now() - this.o.leaseMinMs);
    if (pruned > 0) this.o.log.info({ pruned }, 'websub expired subscriptions pruned');
  }

  private getOptions(maxBody: number) {
    return { agent: this.agent, allowPrivate: this.o.allowPrivate, timeoutMs: this.o.timeoutMs, maxBody, signal: this.closing.signal };
  }

  /** Sleeps unless the hub closes first (then false). */
  private wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!this.closing.signal.aborted);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.closing.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      this.closing.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => {
      if (!this.closing.signal.aborted) this.o.log.error({ err }, 'websub background task failed');
    });
    this.background.add(guarded);
    void guarded.finally(() => this.background.delete(guarded));
  }
}
