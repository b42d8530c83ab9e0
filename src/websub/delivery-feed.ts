// WebSub deliveries that survive kill -9. Every committed message of a topic (whichever producer, and
// with redis whichever node) is queued for each subscription active then, in offset order, and each
// subscription's cursor — the last offset queued for it — is committed after its deliveries are. What a
// crash leaves between a cursor and the topic's head is queued from the topic log by the next start, or
// with redis by the next node to take the topic's turn (one node at a time per topic). The idempotency
// key websub:<subscription>:<offset> makes a message queued twice (crash between enqueue and cursor)
// one delivery. Owed messages the history no longer holds are logged as a gap, never skipped silently.
import type { FastifyBaseLogger } from 'fastify';
import { logUrl } from '../core/log-url.js';
import type { Message } from '../core/message.js';
import type { Topics } from '../core/topics.js';
import type { OutgoingWebhook, WebhookQueue } from '../core/webhooks.js';
import type { Subscription, Subscriptions } from '../store/contracts/subscriptions.js';

export interface DeliveryFeedOptions {
  topics: Topics;
  subscriptions: Subscriptions;
  log: FastifyBaseLogger;
  /** The queue deliveries go into (undefined until connected: deliveries wait, owed). */
  queue: () => WebhookQueue | undefined;
  /** The delivery of one message to one subscription. */
  delivery: (sub: Subscription, m: Message) => OutgoingWebhook;
  /** A delivery was queued (not a repeat of one queued before). */
  onQueued: () => void;
  /** How often the cursors are compared with the topics' heads (deliveries owed after a crash or an error). */
  resumeEveryMs?: number;
}

/** A node's turn on a topic lasts this long without renewal (a dead node's topics pass on after it). */
const TURN_MS = 6_000;
/** A held turn is renewed after this much of it, a refused one asked for again after as long. */
const TURN_CHECK_MS = 2_000;
/** Messages taken (from memory or the log) and queued at once. */
const PAGE = 500;

interface TopicFeed {
  /** Messages committed since the last batch, in offset order. */
  pending: Message[];
  running: boolean;
  /** Compare the cursors with the topic's head even without new messages. */
  resume: boolean;
  /** Until then this node holds the topic's turn / another node does (no need to ask). */
  mineUntil: number;
  notMineUntil: number;
}

export class DeliveryFeed {
  private readonly feeds = new Map<string, TopicFeed>();
  private readonly runs = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: DeliveryFeedOptions) {
    o.topics.onAppend((m) => {
      if (this.stopped) return;
      const feed = this.feed(m.topic);
      feed.pending.push(m);
      this.kick(m.topic, feed);
    });
  }

  /** Queues what earlier runs (or dead nodes) still owe, now and every resumeEveryMs. */
  async start(): Promise<void> {
    await this.resumeOwed();
    this.timer = setInterval(() => void this.resumeOwed(), this.o.resumeEveryMs ?? 3_000);
    this.timer.unref();
  }

  /** Stops after the batches being queued; what is left stays owed (resumed by the next start). */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.runs]);
    await this.o.subscriptions.endTurns().catch(() => undefined);
  }

  private feed(topic: string): TopicFeed {
    let feed = this.feeds.get(topic);
    if (!feed) {
      feed = { pending: [], running: false, resume: false, mineUntil: 0, notMineUntil: 0 };
      this.feeds.set(topic, feed);
    }
    return feed;
  }

  private kick(topic: string, feed: TopicFeed): void {
    if (feed.running) return;
    feed.running = true;
    const run = this.run(topic, feed).finally(() => {
      feed.running = false;
      this.runs.delete(run);
      // Messages that came after the run's last look.
      if (!this.stopped && feed.pending.length > 0) this.kick(topic, feed);
    });
    this.runs.add(run);
  }

  /** Forgets idle feeds whose turn (ours or another node's) needs asking again anyway. */
  private forgetIdle(now: number): void {
    for (const [topic, feed] of this.feeds) {
      if (!feed.running && feed.pending.length === 0 && !feed.resume && feed.mineUntil <= now && feed.notMineUntil <= now) this.feeds.delete(topic);
    }
  }

  /** Topics whose active subscriptions' cursors are behind the head: their feeds run. */
  private async resumeOwed(): Promise<void> {
    if (this.stopped) return;
    try {
      const now = Date.now();
      this.forgetIdle(now);
      const behind = new Map<string, number>();
      for (const s of await this.o.subscriptions.list()) {
        if (s.state !== 'active' || (s.expiresAt ?? 0) <= now || s.cursor === null) continue;
        behind.set(s.topic, Math.min(behind.get(s.topic) ?? Infinity, s.cursor));
      }
      for (const [topic, cursor] of behind) {
        const feed = this.feeds.get(topic);
        if (feed?.running || this.stopped) continue;
        if ((await this.o.topics.bounds(topic)).last <= cursor) continue;
        const f = this.feed(topic);
        f.resume = true;
        this.kick(topic, f);
      }
    } catch (err) {
      this.o.log.error({ err }, 'websub: looking for owed deliveries failed; trying again later');
    }
  }

  private async run(topic: string, feed: TopicFeed): Promise<void> {
    try {
      while (!this.stopped && (feed.pending.length > 0 || feed.resume)) {
        const batch = feed.pending.splice(0, PAGE);
        feed.resume = false;
        if (!(await this.myTurn(topic, feed))) {
          // Another node queues this topic's deliveries (if it dies, its turn lapses and ours comes).
          feed.pending.length = 0;
          return;
        }
        await this.queueBatch(topic, feed, batch);
      }
    } catch (err) {
      // Nothing is lost: the cursors did not move, the next look for owed deliveries resumes from the log.
      feed.pending.length = 0;
      this.o.log.error({ err, topic: logUrl(topic) }, 'websub deliveries could not be queued; resumed from the topic log shortly');
    }
  }

  private async myTurn(topic: string, feed: TopicFeed): Promise<boolean> {
    const now = Date.now();
    if (feed.mineUntil > now) return true;
    if (feed.notMineUntil > now) return false;
    const mine = await this.o.subscriptions.takeTurn(topic, TURN_MS);
    if (mine) feed.mineUntil = now + TURN_CHECK_MS;
    else feed.notMineUntil = now + TURN_CHECK_MS;
    return mine;
  }

  /** Queues the batch (and whatever is owed before it) for every active subscription of the topic. */
  private async queueBatch(topic: string, feed: TopicFeed, batch: Message[]): Promise<void> {
    const subs = await this.o.subscriptions.activeFor(topic, Date.now());
    if (subs.length === 0) return;
    const last = batch[batch.length - 1];
    const head = last ? last.offset : (await this.o.topics.bounds(topic)).last;
    await Promise.all(subs.map((sub) => this.queueFor(topic, feed, sub, batch, head)));
  }

  private async queueFor(topic: string, feed: TopicFeed, sub: Subscription, batch: Message[], head: number): Promise<void> {
    const queue = this.o.queue();
    if (!queue) throw new Error('no webhook queue connected');
    // A cursor unknown (a row from before cursors were kept) starts with this batch.
    let cursor = sub.cursor ?? (batch[0] ? batch[0].offset - 1 : head);
    if (cursor >= head) return;
    const fresh = batch.filter((m) => m.offset > cursor);
    const firstFresh = fresh[0]?.offset ?? head + 1;
    // Owed before what the batch holds (a crash, an error, a turn taken over): from the log.
    while (cursor < firstFresh - 1) {
      if (this.stopped || !(await this.myTurn(topic, feed))) return;
      const page = (await this.o.topics.history(topic, cursor, Math.min(PAGE, firstFresh - 1 - cursor))).filter((m) => m.offset < firstFresh);
      const first = page[0];
      if (!first) {
        this.gap(sub, cursor + 1, firstFresh - 1);
        cursor = firstFresh - 1;
        break;
      }
      if (first.offset > cursor + 1) this.gap(sub, cursor + 1, first.offset - 1);
      await this.queueAll(queue, sub, page);
      cursor = (page[page.length - 1] as Message).offset;
      await this.o.subscriptions.advance(sub.id, cursor);
    }
    for (const m of fresh) {
      if (m.offset > cursor + 1) this.gap(sub, cursor + 1, m.offset - 1);
      cursor = m.offset;
    }
    if (fresh.length === 0) return;
    await this.queueAll(queue, sub, fresh);
    await this.o.subscriptions.advance(sub.id, cursor);
  }

  private async queueAll(queue: WebhookQueue, sub: Subscription, messages: readonly Message[]): Promise<void> {
    await Promise.all(messages.map(async (m) => {
      const { created } = await queue.enqueue(this.o.delivery(sub, m));
      if (created) this.o.onQueued();
    }));
  }

  private gap(sub: Subscription, from: number, to: number): void {
    this.o.log.warn(
      { subscription: sub.id, callback: logUrl(sub.callback), topic: logUrl(sub.topic), from, to },
      'websub deliveries owed to a subscription are no longer in the topic history: those messages are not delivered',
    );
  }
}
