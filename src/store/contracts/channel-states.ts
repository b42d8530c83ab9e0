// Browser-channel state (Hookbox `state`), shared by the nodes of a store.

/** A change of a browser channel's state: keys set and deleted, or the whole state replaced. */
export type StateChange = { updates: Record<string, unknown>; deletes: string[] } | { replace: Record<string, unknown> };

/**
 * Browser-channel state (Hookbox `state`), one copy per channel for every node of a shared store. Every
 * change goes through `change` and reaches the listeners of every node (this one's too) once, in one order.
 */
export interface ChannelStates {
  /** The channel's shared state (empty when none is kept: a single-node store, whose node's copy is all there is). */
  read(channel: string): Promise<Record<string, unknown>>;
  /** Commits a change; resolves once this node's listeners have applied it. */
  change(channel: string, c: StateChange): Promise<void>;
  /** Forgets the channel's state (the channel is gone on every node), unless the channel is persistent. */
  drop(channel: string): Promise<void>;
  onChange(fn: (channel: string, c: StateChange) => void): void;
}
