// What other parts (WebSub, channels) need from the webhook dispatcher: a durable queue of outgoing
// HTTP requests with retries and a log. server.ts passes the dispatcher in; no part imports dispatch/.

export interface OutgoingWebhook {
  url: string;
  /** Default POST (GET when the body is empty, Hookah's behaviour, for /dispatch). */
  method?: string;
  headers?: Record<string, string>;
  body: Buffer;
  contentType?: string;
  /**
   * Standard Webhooks signing key: undefined uses --signing-secret, null sends no Standard Webhooks
   * headers at all
   * (WebSub signs with X-Hub-Signature itself).
   */
  secret?: string | null;
  timeoutMs?: number;
  errback?: string;
  callback?: string;
  /** Who queued it, handed back in attempt events (e.g. { kind: 'websub', ref: subscriptionId }). */
  origin?: { kind: string; ref: string };
  idempotencyKey?: string;
  /** Deliveries with the same key go out one at a time, in the order queued (see DeliveryQueue). */
  orderKey?: string;
}

export interface AttemptEvent {
  deliveryId: string;
  origin?: { kind: string; ref: string };
  /** HTTP status, when the target answered. */
  status?: number;
  ok: boolean;
  /** No attempt follows this one (success, final 4xx, or retries exhausted). */
  final: boolean;
  error?: string;
}

export interface WebhookQueue {
  /** Commits the delivery before resolving; `created` is false when an idempotency key matched. */
  enqueue(w: OutgoingWebhook): Promise<{ id: string; created: boolean }>;
  /** Runs after every attempt is recorded, on the node that made it. */
  onAttempt(fn: (e: AttemptEvent) => void): void;
}
