// The Pusher front door's cluster-wide view: subscriptions per channel topic and presence members, counted
// over every node, and the changes they go through (occupied, vacated, member added or removed).

/**
 * A cluster-wide change. `seq` numbers a presence topic's member changes (see PusherMembers.seq).
 * `recounted`: a topic's count changed, and it stays occupied, because a node's entries were removed (a
 * dead or stopped node reaped) or brought back in line; a node's own count calls tell no such change.
 */
export type RosterChange =
  | { kind: 'occupied' | 'vacated' | 'recounted'; topic: string }
  | { kind: 'member_added'; topic: string; user: string; info: string; seq: number }
  | { kind: 'member_removed'; topic: string; user: string; seq: number };

/** An occupied topic's subscriptions over every node, and its presence members (0 when it has none). */
export interface TopicCounts {
  topic: string;
  subscriptions: number;
  members: number;
}

export type MemberChange = Extract<RosterChange, { seq: number }>;

/** A presence topic's members (user id → user_info as JSON text), as of its member change number `seq`. */
export interface PusherMembers {
  users: Map<string, string>;
  seq: number;
}

/**
 * Subscriptions and presence over every node. A node tells only its own changes (each subscription, each
 * user's first and last connection in a presence topic on this node); every node hears every resulting
 * change, and exactly one hears it as its own (`mine`: the node whose call made it, or that found a dead
 * node's entries past their lease and removed them). Single-node stores: every change is mine.
 */
export interface PusherRoster {
  /** One more (+1) or one fewer (-1) subscription to the topic on this node. */
  count(topic: string, delta: 1 | -1): Promise<void>;
  /** The user's first connection in the presence topic on this node: resolves with the members after it. */
  join(topic: string, user: string, info: string): Promise<PusherMembers>;
  /** The user's last connection in the presence topic on this node went. */
  leave(topic: string, user: string): Promise<void>;
  members(topic: string): Promise<PusherMembers>;
  /** Subscriptions to the topic over every node. */
  subscriptions(topic: string): Promise<number>;
  /** Topics with at least one subscription anywhere, starting with `prefix`. */
  occupied(prefix: string): Promise<string[]>;
  /** The occupied topics starting with `prefix`, sorted, each with its counts, read at once (one round trip). */
  occupiedCounts(prefix: string): Promise<TopicCounts[]>;
  onChange(fn: (change: RosterChange, mine: boolean) => void): void;
  /**
   * This node is stopping: when another node is alive, its subscriptions and members are handed to it (that
   * node removes them and tells their changes as its own, so its webhooks delay and confirm them) and this
   * node's later count/join/leave calls change nothing; resolves true. False when no other node is alive
   * (single-node stores, the last node): this node goes on telling its own changes.
   */
  handOver(): Promise<boolean>;
  /** Hands `note` to every node's onSignal listeners, this node's included (terminate a user's connections). */
  signal(note: string): Promise<void>;
  onSignal(fn: (note: string) => void): void;
}
