// The store hides where state lives. Small interfaces, one per job; Store bundles them.
import type { Message, NewMessage } from '../core/message.js';
import type { Subscriptions } from './subscriptions.js';

export type { Subscriptions } from './subscriptions.js';

/**
 * Offsets a topic holds: `first` is the oldest kept (last + 1 when none is kept), `last` the newest (0: never
 * published). `epoch` names this run of the log (core/epoch): '' while the store has no log for the topic.
 */
export interface TopicBounds {
  first: number;
  last: number;
  epoch: string;
}

export interface TopicInfo {
  topic: string;
  last: number;
  kept: number;
  historySize: number;
}

/**
 * Per-topic append-only log with bounded history. Offsets start at 1 and only grow, within one epoch: a log
 * the store lost begins again at 1 under a new epoch, and every message carries the epoch of its log.
 */
export interface TopicLog {
  /** Commits the message, assigns its offset, then calls every onAppend listener. */
  append(topic: string, m: NewMessage): Promise<Message>;
  /** Messages with offset > since, oldest first, at most `limit`. */
  read(topic: string, since: number, limit: number): Promise<Message[]>;
  bounds(topic: string): Promise<TopicBounds>;
  /** Listeners see every append in offset order per topic (on every node, for shared stores). */
  onAppend(fn: (m: Message) => void): void;
  /** Overrides the history size of one topic (null: back to the default). */
  setHistorySize(topic: string, size: number | null): Promise<void>;
  /** Topics by name (each store's own order), the `limit` first after `after` (all when no limit is given). */
  list(page?: TopicPage): Promise<TopicInfo[]>;
  /** How many topics the store holds. */
  count(): Promise<number>;
}

export interface TopicPage {
  /** Exclusive: the last name of the previous page. */
  after?: string;
  limit?: number;
}

/** A browser channel's lasting settings: options (JSON, Hookbox names) and state keys. */
export interface ChannelRecord {
  name: string;
  options: Record<string, unknown>;
  state: Record<string, unknown>;
}

/** Channels that outlive their subscribers (option `persistent`): kept across restarts. */
export interface ChannelStore {
  put(record: ChannelRecord): Promise<void>;
  delete(name: string): Promise<void>;
  list(): Promise<ChannelRecord[]>;
}

/** A change of a channel's cluster-wide record: made or given new options (`set`), or destroyed. */
export type ChannelRecordChange = { set: Record<string, unknown> } | { destroyed: true };

/**
 * Which browser channels exist, with their options, for every node of a shared store: a channel made
 * on one node (REST, the app's create_channel answer, defaults) is the same channel on every node.
 * Every change reaches the listeners of every node (this one's too) once, in one order. Single-node
 * stores keep nothing here (`shared` false): the hub's own channels are all there is.
 */
export interface ChannelRegistry {
  readonly shared: boolean;
  /** The channel's options (Hookbox names), or undefined when it exists on no node. */
  get(channel: string): Promise<Record<string, unknown> | undefined>;
  /** Every channel's record (a starting node that is alone drops those left by a stopped cluster). */
  list(): Promise<Array<{ name: string; options: Record<string, unknown> }>>;
  /** Makes the channel unless it exists: answers the options it has now (ours, or the earlier creator's). */
  create(channel: string, options: Record<string, unknown>): Promise<{ created: boolean; options: Record<string, unknown> }>;
  /** New options for an existing channel; false when it exists on no node. */
  update(channel: string, options: Record<string, unknown>): Promise<boolean>;
  /** Destroys the channel on every node; false when it existed on none. */
  remove(channel: string): Promise<boolean>;
  /**
   * Takes the turn to decide whether an empty channel goes (the app's destroy_channel callback, then
   * `remove`): one node at a time, so that nodes seeing the channel empty at once ask the app once.
   * False when another node has it. The turn lapses by itself after a while (its node may die).
   */
  takeTurn(channel: string): Promise<boolean>;
  endTurn(channel: string): Promise<void>;
  onChange(fn: (channel: string, c: ChannelRecordChange) => void): void;
}

/**
 * Browser-channel presence on the other nodes of a shared store. The channel hub keeps its own members
 * and tells this which (channel, user) pairs this node holds; it hears back when a user's presence
 * through other nodes begins or ends. Single-node stores have no other nodes: nothing is ever remote.
 */
export interface ChannelPresence {
  /** This node now holds the user in the channel (its first local join). */
  add(channel: string, user: string): void;
  /** This node no longer holds the user in the channel (its last local leave). */
  remove(channel: string, user: string): void;
  /** Users present in the channel through other nodes (live nodes only). */
  remote(channel: string): ReadonlySet<string>;
  /**
   * Called when a user's presence through other nodes begins (true) or ends (false). `nodeLost` is true
   * when it ended because its node went away (died, or stopped), not because the user left.
   */
  onChange(fn: (channel: string, user: string, present: boolean, nodeLost: boolean) => void): void;
  /** This node now has the user connected (its first connection here) / no longer has it (its last). */
  addUser(user: string): void;
  removeUser(user: string): void;
  /** The user is connected through another node (live nodes only). */
  hasRemoteUser(user: string): boolean;
  /** The other nodes (live ones) the user is connected through, by node id (UserRelay.ask addresses them). */
  userNodes(user: string): string[];
  /** Whether another node is alive (registered, its expiry not passed): false for the first node of a cluster. */
  othersAlive(): Promise<boolean>;
}

/** What one node asks another to do for a user connected there (REST calls on users). */
export type UserRequest =
  | { op: 'info'; user: string }
  | { op: 'set_options'; user: string; options: Record<string, unknown> }
  | { op: 'subscribe' | 'unsubscribe'; user: string; channel: string; auth: boolean };

/** A node's answer: the result, or why it refused (Hookbox's msg). */
export type UserAnswer = { ok: true; result: Record<string, unknown> } | { ok: false; msg: string };

/** Frames for browser-channel users connected to other nodes (private MESSAGEs, kicks), and requests for them. */
export interface UserRelay {
  /** Hands a frame to the connections the named users have on the other nodes (none on single-node stores). */
  send(users: readonly string[], frame: string, args: Record<string, unknown>): void;
  onFrame(fn: (users: string[], frame: string, args: Record<string, unknown>) => void): void;
  /** Asks one other node (its presence id); undefined when it does not answer within `timeoutMs` (gone). */
  ask(node: string, request: UserRequest, timeoutMs: number): Promise<UserAnswer | undefined>;
  /** Answers the other nodes' requests (one handler). */
  onAsk(fn: (request: UserRequest) => Promise<UserAnswer>): void;
}

/** A change of a browser channel's state: keys set and deleted, or the whole state replaced. */
export type StateChange = { updates: Record<string, unknown>; deletes: string[] } | { replace: Record<string, unknown> };

/**
 * Browser-channel state (Hookbox `state`), one copy per channel for every node of a shared store. Every
 * change goes through `change` and reaches the listeners of every node (this one's too) once, in one order.
 */
export interface ChannelStates {
  /** False on single-node stores: the hub's own copy is all there is, and `read` has nothing to add. */
  readonly shared: boolean;
  /** The channel's shared state (empty when none is kept). */
  read(channel: string): Promise<Record<string, unknown>>;
  /** Commits a change; resolves once this node's listeners have applied it. */
  change(channel: string, c: StateChange): Promise<void>;
  /** Forgets the channel's state (the channel is gone on every node), unless the channel is persistent. */
  drop(channel: string): Promise<void>;
  onChange(fn: (channel: string, c: StateChange) => void): void;
}

/** A browser channel's history entry as the hub writes it (JSON); `id` tells entries apart. */
export interface HistoryItem {
  id: string;
  entry: unknown;
}

export type HistoryChange = { append: HistoryItem } | { replace: HistoryItem[] };

/**
 * Browser-channel history (Hookbox `history`), one list per channel for every node of a shared store.
 * Like ChannelStates: every change reaches the listeners of every node (this one's too) once, in one order.
 */
export interface ChannelHistories {
  readonly shared: boolean;
  /** The channel's shared history, oldest first (empty when none is kept). */
  read(channel: string): Promise<HistoryItem[]>;
  /**
   * Appends an entry, keeping the newest `keep`. With `offset` (a PUBLISH: every node that has the channel
   * records it) the entry is appended once, by the first node, and only if no later offset was.
   */
  append(channel: string, item: HistoryItem, keep: number, offset?: number): Promise<void>;
  replace(channel: string, items: HistoryItem[]): Promise<void>;
  /** Forgets the channel's history (the channel is gone on every node), unless the channel is persistent. */
  drop(channel: string): Promise<void>;
  onChange(fn: (channel: string, c: HistoryChange) => void): void;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  readonly topics: TopicLog;
  /** WebSub subscriptions (see subscriptions.ts). */
  readonly subscriptions: Subscriptions;
  readonly deliveries: DeliveryQueue;
  readonly channels: ChannelStore;
  readonly registry: ChannelRegistry;
  readonly presence: ChannelPresence;
  readonly states: ChannelStates;
  readonly histories: ChannelHistories;
  readonly relay: UserRelay;
  /** Resolves when the backing store answers (readiness). */
  ping(): Promise<void>;
  /**
   * Throws HookhubError 'store_unavailable' (core/store-down) at once when the store cannot take writes
   * now (Redis connection down); cheap, asked by producers before they start. Memory and SQLite always can.
   */
  assertWritable(): void;
  close(): Promise<void>;
}

export interface StoreOptions {
  historySize: number;
}

// ---- Webhook deliveries (the dispatcher's durable queue and log) ----

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

/** What the dispatcher commits for a new delivery. */
export interface NewDelivery {
  id: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  contentType?: string;
  body: Buffer;
  /** undefined: --signing-secret applies; null: unsigned; string: this key. */
  secret?: string | null;
  timeoutMs?: number;
  errback?: string;
  callback?: string;
  origin?: { kind: string; ref: string };
  idempotencyKey?: string;
  /** Attempts allowed in all (the retry schedule's length). */
  maxAttempts: number;
  /** When the first attempt is due (ms since the epoch). */
  nextAt: number;
  /** Inserted already claimed (status delivering) by the enqueuing worker, leased until then. */
  claimUntil?: number;
  /**
   * Deliveries with the same ordering key are attempted one at a time, in the order they were queued:
   * each waits (held) until the one before it succeeded or finally failed. Absent: no ordering. Never
   * combined with claimUntil (only the store knows whether an ordered delivery may run now).
   */
  orderKey?: string;
}

/**
 * The due time of a delivery held behind an earlier one with the same ordering key: never due by the
 * clock (the largest Date), so every store's due-time index and `nextDueAt` pass over it. Finishing the
 * lane's head gives the next one a real due time.
 */
export const HELD_BEHIND_EARLIER = 8_640_000_000_000_000;

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
  /** Unfinished deliveries (pending + delivering, held ones included). */
  depth(): Promise<number>;
  /** Deletes finished deliveries last updated before `before`. Returns how many. */
  prune(before: number): Promise<number>;
}
