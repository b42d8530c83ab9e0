// Browser channels' lifecycle on the system topic (core/system-events.ts): a channel occupied (its first
// member anywhere) or vacated (its last one gone everywhere), a user's presence in it beginning or ending
// (member added / removed). The store counts members across the nodes and tells each change once, on one
// node (ChannelPresence.onMembership): that node publishes it.
import type { SystemEvents } from '../core/system-events.js';
import type { ChannelPresence, MembershipChange } from '../store/contracts/channel-presence.js';

export type ChannelEvent =
  | { type: 'channel.occupied' | 'channel.vacated'; channel: string; at: string }
  | { type: 'channel.member_added' | 'channel.member_removed'; channel: string; user: string; at: string };

/** The event of a membership change, stamped now. */
export function channelEventOf(change: MembershipChange, at = new Date()): ChannelEvent {
  const stamp = at.toISOString();
  return 'user' in change
    ? { type: `channel.${change.kind}`, channel: change.channel, user: change.user, at: stamp }
    : { type: `channel.${change.kind}`, channel: change.channel, at: stamp };
}

/** Publishes every membership change this node is told of. */
export function publishChannelEvents(presence: ChannelPresence, events: SystemEvents): void {
  presence.onMembership((change) => events.emit(channelEventOf(change)));
}
