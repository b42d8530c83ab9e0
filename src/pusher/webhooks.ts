// Pusher webhooks (the PusherWebhookSink): lifecycle events are gathered per app into Pusher's body
// `{time_ms, events: [...]}`, signed as Pusher signs them (X-Pusher-Key, X-Pusher-Signature = hex
// HMAC-SHA256(secret, raw body), Content-Type exactly application/json, which the SDKs' webhook().isValid()
// checks), and committed to Hookhub's own dispatcher, which retries them, logs them and can resend them.
//
// channel_vacated and member_removed wait `leaveDelayMs` (3 s by default), as Pusher delays them: when the
// channel is occupied again (or the member added again) meanwhile, neither event is sent, so a page reload
// does not flap the application's view. The return may happen on another node, whose sink sends its
// channel_occupied at once; so when the delay is over, a leave is sent only if the directory (every
// node) still shows the channel empty or the member gone — the application's last word is the true one.
import { createHmac } from 'node:crypto';
import type { WebhookQueue } from '../core/webhooks.js';
import type { ChannelDirectory, PusherApp, PusherLifecycleEvent, PusherWebhookSink } from './contracts.js';

export const DEFAULT_LEAVE_DELAY_MS = 3000;
export const DEFAULT_BATCH_MS = 50;
/** Events in one webhook request at most (more go in further requests). */
export const MAX_EVENTS_PER_WEBHOOK = 100;
/** The `origin.kind` of Pusher webhooks in the delivery log (`ref` is the app id). */
export const PUSHER_WEBHOOK_ORIGIN = 'pusher';

interface ErrorLog {
  error(obj: object, msg: string): void;
}

export interface PusherWebhooksOptions {
  queue: Pick<WebhookQueue, 'enqueue'>;
  leaveDelayMs?: number;
  /** How long events gather before a request goes out. */
  batchMs?: number;
  log?: ErrorLog;
}

export const pusherSignature = (secret: string, body: Buffer): string => createHmac('sha256', secret).update(body).digest('hex');

/** The key a leave waits under; the matching arrival cancels it. */
function leaveKey(app: PusherApp, e: PusherLifecycleEvent): string | undefined {
  if (e.name === 'channel_vacated' || e.name === 'channel_occupied') return `${app.id}\0c\0${e.channel}`;
  if (e.name === 'member_removed' || e.name === 'member_added') return `${app.id}\0m\0${e.channel}\0${e.user_id}`;
  return undefined;
}

interface Batch {
  app: PusherApp;
  events: PusherLifecycleEvent[];
  timer: NodeJS.Timeout;
}

export class PusherWebhooks implements PusherWebhookSink {
  private readonly leaveDelayMs: number;
  private readonly batchMs: number;
  /** Leaves waiting out their delay: key → the event and its timer. */
  private readonly leaving = new Map<string, { app: PusherApp; event: PusherLifecycleEvent; timer: NodeJS.Timeout }>();
  private readonly batches = new Map<string, Batch>();
  private readonly sending = new Set<Promise<void>>();
  /** Once closing, nothing waits: connections closing with the node report their leaves at once. */
  private closing = false;
  private directory: Pick<ChannelDirectory, 'channel' | 'users'> | undefined;

  constructor(private readonly options: PusherWebhooksOptions) {
    this.leaveDelayMs = options.leaveDelayMs ?? DEFAULT_LEAVE_DELAY_MS;
    this.batchMs = options.batchMs ?? DEFAULT_BATCH_MS;
  }

  /** Where a delayed leave is confirmed before it is sent (the WebSocket side, counting every node). */
  confirmLeavesWith(directory: Pick<ChannelDirectory, 'channel' | 'users'>): void {
    this.directory = directory;
  }

  emit(app: PusherApp, event: PusherLifecycleEvent): void {
    if (app.webhookUrl === undefined) return;
    const key = leaveKey(app, event);
    if (key !== undefined && !this.closing && (event.name === 'channel_vacated' || event.name === 'member_removed')) {
      const timer = setTimeout(() => {
        this.leaving.delete(key);
        this.track(this.addIfStillGone(app, event));
      }, this.leaveDelayMs);
      clearTimeout(this.leaving.get(key)?.timer);
      this.leaving.set(key, { app, event, timer });
      return;
    }
    const waiting = key !== undefined ? this.leaving.get(key) : undefined;
    if (key !== undefined && waiting !== undefined) {
      // Back within the delay: the application never hears it was gone.
      clearTimeout(waiting.timer);
      this.leaving.delete(key);
      return;
    }
    this.add(app, event);
  }

  private async addIfStillGone(app: PusherApp, event: PusherLifecycleEvent): Promise<void> {
    if (this.directory !== undefined && (event.name === 'channel_vacated' || event.name === 'member_removed')) {
      try {
        const back = event.name === 'channel_vacated'
          ? (await this.directory.channel(app, event.channel)).subscriptionCount > 0
          : (await this.directory.users(app, event.channel)).includes(event.user_id);
        if (back) return;
      } catch (err) {
        // Unknown: sending the leave is the safer mistake (an application can see it was occupied again).
        this.options.log?.error({ err, app: app.id }, 'pusher webhook: a leave could not be confirmed; sending it');
      }
    }
    this.add(app, event);
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.sending.delete(tracked));
    this.sending.add(tracked);
  }

  private add(app: PusherApp, event: PusherLifecycleEvent): void {
    let batch = this.batches.get(app.id);
    if (batch === undefined) {
      batch = { app, events: [], timer: setTimeout(() => this.flush(app.id), this.batchMs) };
      this.batches.set(app.id, batch);
    }
    // Within a request, a channel's occupied comes before its member_added and its member_removed before its
    // vacated, whichever the connections reported first.
    const before = event.name === 'channel_occupied' ? 'member_added' : event.name === 'member_removed' ? 'channel_vacated' : undefined;
    const at = before === undefined ? -1 : batch.events.findIndex((e) => e.name === before && e.channel === event.channel);
    if (at >= 0) batch.events.splice(at, 0, event);
    else batch.events.push(event);
    if (batch.events.length >= MAX_EVENTS_PER_WEBHOOK || this.closing) this.flush(app.id);
  }

  private flush(appId: string): void {
    const batch = this.batches.get(appId);
    if (batch === undefined) return;
    clearTimeout(batch.timer);
    this.batches.delete(appId);
    this.track(this.send(batch.app, batch.events));
  }

  private async send(app: PusherApp, events: PusherLifecycleEvent[]): Promise<void> {
    const url = app.webhookUrl;
    if (url === undefined) return;
    const body = Buffer.from(JSON.stringify({ time_ms: Date.now(), events }));
    try {
      await this.options.queue.enqueue({
        url,
        body,
        contentType: 'application/json',
        headers: { 'x-pusher-key': app.key, 'x-pusher-signature': pusherSignature(app.secret, body) },
        // Signed in Pusher's scheme above: no Standard Webhooks headers.
        secret: null,
        origin: { kind: PUSHER_WEBHOOK_ORIGIN, ref: app.id },
        // One app's webhooks arrive in the order they happened (occupied before vacated).
        orderKey: `${PUSHER_WEBHOOK_ORIGIN}/${app.id}`,
      });
    } catch (err) {
      this.options.log?.error({ err, app: app.id, events: events.length }, 'pusher webhook could not be queued');
    }
  }

  /** Sends what waits (leaves at once: this node's connections are gone) and resolves once it is queued. */
  async close(): Promise<void> {
    this.closing = true;
    for (const [key, w] of this.leaving) {
      clearTimeout(w.timer);
      this.leaving.delete(key);
      this.track(this.addIfStillGone(w.app, w.event));
    }
    for (const appId of [...this.batches.keys()]) this.flush(appId);
    // Confirmations end in add(), which flushes at once while closing; then the sends they started.
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }
}
