// Which browser channels exist cluster-wide, with their options.

/** A change of a channel's cluster-wide record: made or given new options (`set`), or destroyed. */
export type ChannelRecordChange = { set: Record<string, unknown> } | { destroyed: true };

/**
 * Which browser channels exist, with their options, for every node of the store: a channel made on one
 * node (REST, the app's create_channel answer, defaults) is the same channel on every node. Every change
 * reaches the listeners of every node (this one's too) once, in one order, and this node's before the
 * call resolves. A single-node store is a cluster of one: it answers the same questions (who made a
 * channel first, whose turn it is to destroy it), so the channels never ask which store they have.
 */
export interface ChannelRegistry {
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
