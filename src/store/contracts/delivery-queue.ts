// The webhook dispatcher's durable queue of outgoing HTTP requests, and their log.
import type { OutgoingWebhook } from '../../core/webhooks.js';

export type DeliveryStatus = 'pending' | 'delivering' | 'succeeded' | 'failed';

/** One recorded attempt of a delivery. */
export interface DeliveryAttempt {
  /** ISO time the attempt started. */
  at: string;
  /** HTTP status when the target answered, else null. */
  status: number | null;
  duration_ms: number;
  error: string | null;
  /** First bytes of the response body (text), when there was one. */
  response?: string;
}

/**
 * What the dispatcher commits for a new delivery: the webhook as queued (core/webhooks), with its id, method
 * and headers settled. Deliveries with the same ordering key (`orderKey`) are attempted one at a time, in the
 * order they were queued: each waits (held) until the one before it succeeded or finally failed.
 */
export interface NewDelivery extends Omit<OutgoingWebhook, 'method' | 'headers'> {
  id: string;
  method: string;
  headers: Record<string, string>;
  /** Attempts allowed in all (the retry schedule's length). */
  maxAttempts: number;
  /** When the first attempt is due (ms since the epoch). */
  nextAt: number;
  /**
   * Inserted already claimed (status delivering) by the enqueuing worker, leased until then. Never combined
   * with orderKey (only the store knows whether an ordered delivery may run now).
   */
  claimUntil?: number;
  /**
   * Asked as the delivery is written, in the order the queue's writes and claims were asked (stores with
   * `exhaustiveClaims`): false writes it unclaimed even with `claimUntil`. Lets the dispatcher decide, at the
   * delivery's place in that order, whether it may wait in memory or must queue behind older ones.
   */
  claimNow?: () => boolean;
}

/**
 * The due time of a delivery held behind an earlier one with the same ordering key: never due by the
 * clock (the largest Date), so every store's due-time index and `nextDueAt` pass over it. Finishing the
 * lane's head gives the next one a real due time.
 */
export const HELD_BEHIND_EARLIER = 8_640_000_000_000_000;

/**
 * The due time of a parked delivery: its endpoint's circuit is open or the endpoint is disabled. Never due by
 * the clock, like a held one; `unpark` gives it a real due time when the endpoint comes back. An ordered
 * delivery parked at the head of its lane keeps the rest of the lane held behind it.
 */
export const PARKED = 8_639_999_999_999_999;

/** What `unpark` shows its filter of a parked delivery. */
export interface ParkedDelivery {
  url: string;
  createdAt: number;
}

export interface DeliveryRecord extends NewDelivery {
  /** Insertion order; the delivery log pages by it. */
  seq: number;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  createdAt: number;
  updatedAt: number;
  /** While claimed: when the claim lapses and another worker may take it. */
  leaseUntil?: number;
}

export interface ClaimRequest {
  now: number;
  limit: number;
  leaseMs: number;
  /** At most this many deliveries of one host in one claim. */
  perHost: number;
  /** Hosts (URL host incl. port) whose deliveries are not to be claimed now (their slots are full). */
  skipHosts: readonly string[];
  /**
   * Called as the claim runs (stores with `exhaustiveClaims`), in the order writes and claims were asked,
   * when it left nothing due outside `skipHosts`: it took fewer than `limit`, and fewer than `perHost` of each host.
   */
  onExhausted?: () => void;
}

/** The outcome of an attempt, as the dispatcher decided it. */
export interface AttemptOutcome {
  attempt: DeliveryAttempt;
  status: 'pending' | 'succeeded' | 'failed';
  /** When status is pending: when the next attempt is due. */
  nextAt?: number;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  /** A URL prefix (with scheme) or a host[:port]. */
  target?: string;
  limit: number;
  /** Deliveries with seq below this (the previous page's next_cursor). */
  before?: number;
}

export interface DeliveryLimits {
  /** Refuse (queue_full) when this many deliveries are unfinished. */
  maxDepth: number;
  /** An idempotency key seen within this window returns the first delivery's id. */
  idempotencyWindowMs: number;
}

/** Durable queue of outgoing HTTP requests with leases, and their log. */
export interface DeliveryQueue {
  /** Commits the delivery (or finds the one with the same idempotency key). Throws queue_full. */
  enqueue(d: NewDelivery, limits: DeliveryLimits): Promise<{ id: string; created: boolean }>;
  /** Claims due deliveries (pending and due, or delivering with a lapsed lease), oldest due first. */
  claim(req: ClaimRequest): Promise<DeliveryRecord[]>;
  /**
   * True when this process is the queue's only worker, claims and writes run in the order they were asked,
   * and a claim looks at every due delivery (it honours `claimNow` and `onExhausted`). The dispatcher then
   * keeps new deliveries for a busy host in memory while the queue holds nothing else due.
   */
  readonly exhaustiveClaims?: boolean;
  /** With `exhaustiveClaims`: the earliest due time after `now` of a delivery not claimed; undefined when none. */
  nextDueAfter?(now: number): Promise<number | undefined>;
  /**
   * Records an attempt and the delivery's new state, releasing the claim; `followUp` is enqueued in the same
   * commit. A final outcome of an ordered delivery makes the next one of its lane due.
   */
  finish(id: string, outcome: AttemptOutcome, followUp?: NewDelivery): Promise<void>;
  /** Extends the lease of deliveries this worker still holds. */
  renew(ids: readonly string[], leaseUntil: number): Promise<void>;
  /** Gives claims back unattempted (shutdown): pending again, due now. */
  release(ids: readonly string[]): Promise<void>;
  /**
   * At start on a single-node store: claims left by a previous (crashed) process become pending.
   * On a shared store (redis) only claims whose lease ended by `now` (other nodes' claims are alive).
   */
  recover(now: number): Promise<number>;
  /** Earliest time a delivery becomes claimable (due time or lease end); undefined when none is unfinished. */
  nextDueAt(): Promise<number | undefined>;
  get(id: string): Promise<DeliveryRecord | undefined>;
  list(q: DeliveryQuery): Promise<DeliveryRecord[]>;
  /**
   * One more attempt of a finished (or waiting) delivery, due now. An ordered one that had finished joins
   * the end of its lane (held when the lane has unfinished deliveries); a held one stays held.
   */
  retry(id: string, now: number): Promise<'queued' | 'in_flight' | 'not_found'>;
  /** Parks a delivery (claimed by this worker, or pending): unattempted, pending, due only once unparked. */
  park(id: string): Promise<void>;
  /**
   * Makes the parked deliveries `matches` accepts (by URL and creation time) due at `now`, oldest first, at
   * most `limit` (all when absent). Returns how many.
   */
  unpark(matches: (d: ParkedDelivery) => boolean, now: number, limit?: number): Promise<number>;
  /** Unfinished deliveries (pending + delivering, held and parked ones included). */
  depth(): Promise<number>;
  /** Deletes finished deliveries last updated before `before`. Returns how many. */
  prune(before: number): Promise<number>;
  /** Deletes finished deliveries beyond the `keep` last updated. Returns how many. */
  pruneBeyond(keep: number): Promise<number>;
}
