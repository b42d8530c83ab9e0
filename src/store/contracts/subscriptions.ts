// WebSub subscriptions: one row per (callback, topic). A row is `pending` until its first verification
// of intent succeeds, then `active` until its lease ends. A request waiting for verification is the
// row's `intent` (kept in the store, so a restart can resume it); a newer request replaces it.
// An active row's `cursor` is the topic offset up to which its deliveries are committed to the webhook
// queue: messages after it are still owed, and a restart (or another node) queues them from the topic log.

export type SubscriptionState = 'pending' | 'active';

export interface SubscriptionIntent {
  mode: 'subscribe' | 'unsubscribe';
  /** Granted lease (subscribe). */
  leaseSeconds: number;
  secret: string | null;
  /** Milliseconds since the epoch. */
  requestedAt: number;
  /** Identifies this request: a verification only applies if its intent is still the current one. */
  token: string;
}

/** The latest delivery attempt's outcome, as reported by the webhook queue. */
export interface DeliveryResult {
  at: number;
  deliveryId: string;
  ok: boolean;
  /** No further attempt of that delivery follows. */
  final: boolean;
  status?: number;
  error?: string;
}

export interface Subscription {
  id: string;
  callback: string;
  topic: string;
  state: SubscriptionState;
  secret: string | null;
  leaseSeconds: number;
  /** Lease end in ms since the epoch (null while pending). */
  expiresAt: number | null;
  createdAt: number;
  lastDelivery: DeliveryResult | null;
  intent: SubscriptionIntent | null;
  /** Offset of the topic up to which deliveries are queued (null until first active). */
  cursor: number | null;
}

export interface Subscriptions {
  /**
   * Records a request awaiting verification. Subscribe: creates a pending row when (callback, topic)
   * has none. Unsubscribe: only attaches to an existing row (null when there is none). Replaces any
   * earlier intent of the row. Committed before it resolves.
   */
  request(callback: string, topic: string, intent: SubscriptionIntent): Promise<Subscription | null>;
  get(id: string): Promise<Subscription | undefined>;
  find(callback: string, topic: string): Promise<Subscription | undefined>;
  /**
   * Verified subscribe: the row becomes active with the intent's lease and secret. False if the intent is
   * no longer current. `cursor` (the topic's last offset now) becomes the row's cursor unless the row was
   * active and unexpired already (a renewal keeps its place).
   */
  activate(id: string, token: string, now: number, cursor: number): Promise<boolean>;
  /** Moves the row's cursor forward to `offset` (never back; nothing when the row is gone). */
  advance(id: string, offset: number): Promise<void>;
  /**
   * Takes (or keeps) this node's turn to queue the deliveries of a topic, for `ms`: one node at a time
   * per topic on shared stores. Single-node stores: always true.
   */
  takeTurn(topic: string, ms: number): Promise<boolean>;
  /** Gives back this node's turns (shutdown), so that another node takes over at once. */
  endTurns(): Promise<void>;
  /** Verified unsubscribe: deletes the row if the intent is still current. */
  removeIfIntent(id: string, token: string): Promise<boolean>;
  /** Failed verification: clears the intent; a row that was never active is deleted. */
  dropIntent(id: string, token: string): Promise<void>;
  remove(id: string): Promise<boolean>;
  /** All rows (of one topic), oldest first. */
  list(topic?: string): Promise<Subscription[]>;
  /** Rows with a request awaiting verification (resumed after a restart). */
  withIntent(): Promise<Subscription[]>;
  /** Active rows of a topic whose lease has not ended at `now`. */
  activeFor(topic: string, now: number): Promise<Subscription[]>;
  recordDelivery(id: string, result: DeliveryResult): Promise<void>;
  /** Deletes active rows whose lease ended at or before `before` (unless a renewal awaits verification); returns how many. */
  prune(before: number): Promise<number>;
  count(): Promise<number>;
}
