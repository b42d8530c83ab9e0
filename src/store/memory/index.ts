// Everything in process: the zero-setup store for tests and ephemeral use.
import type { Store, StoreOptions } from '../contracts/store.js';
import { MemoryDeliveryQueue } from './delivery-queue.js';
import { MemoryChannelStore } from './channel-store.js';
import { MemoryEndpointBook } from './endpoints.js';
import { LocalEndpointLimiter } from '../local/endpoint-limiter.js';
import { LocalChannelHistories } from '../local/channel-histories.js';
import { LocalChannelRegistry } from '../local/channel-registry.js';
import { LocalChannelStates } from '../local/channel-states.js';
import { LocalPresence } from '../local/presence.js';
import { LocalUserRelay } from '../local/user-relay.js';
import { LocalPusherRoster } from '../local/pusher-roster.js';
import { MemoryTopicLog } from './topic-log.js';
import { MemorySubscriptions } from './subscriptions.js';

export function createMemoryStore(options: StoreOptions): Store {
  return {
    kind: 'memory',
    topics: new MemoryTopicLog(options.historySize),
    subscriptions: new MemorySubscriptions(),
    deliveries: new MemoryDeliveryQueue(),
    endpoints: new MemoryEndpointBook(),
    limiter: new LocalEndpointLimiter(),
    channels: new MemoryChannelStore(),
    registry: new LocalChannelRegistry(),
    presence: new LocalPresence(),
    states: new LocalChannelStates(),
    histories: new LocalChannelHistories(),
    relay: new LocalUserRelay(),
    pusher: new LocalPusherRoster(),
    ping: async () => {},
    assertWritable: () => {},
    close: async () => {},
  };
}
