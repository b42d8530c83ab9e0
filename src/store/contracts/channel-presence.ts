// Browser-channel presence across the nodes of a shared store, and the membership changes of the whole
// cluster (a channel occupied or vacated, a user's presence in it beginning or ending).

/**
 * A cluster-wide membership change. `occupied`: the channel's first member anywhere; `vacated`: its last one
 * gone everywhere; `member_added` / `member_removed`: a user's first presence in the channel through any node,
 * its last one ended (left, or its node went away).
 */
export type MembershipChange =
  | { kind: 'occupied' | 'vacated'; channel: string }
  | { kind: 'member_added' | 'member_removed'; channel: string; user: string };

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
  /**
   * Called once per cluster-wide membership change, on one node only: the node whose add or remove made it,
   * or (a node that went away holding members) the one node that took its members out. In a channel, its
   * `occupied` comes before the `member_added` that made it, and `vacated` after the `member_removed`.
   */
  onMembership(fn: (change: MembershipChange) => void): void;
  /** Resolves once the adds and removes told so far are made and their changes told (before closing). */
  flush(): Promise<void>;
}
