// The directory of a node without a Pusher WebSocket side: no channel is occupied, no user connected.
import type { ChannelDirectory } from './contracts.js';

export const noConnections: ChannelDirectory = {
  channels: async () => [],
  channel: async (_app, name) => ({ name, subscriptionCount: 0 }),
  users: async () => [],
  terminateUser: async () => {},
};
