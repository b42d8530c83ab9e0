// Everything in process: the zero-setup store for tests and ephemeral use.
import type { Store, StoreOptions } from './interface.js';
import { MemoryDeliveryQueue } from './memory-delivery-queue.js';
import { MemoryChannelStore } from './memory-channels.js';
import { LocalChannelHistories } from './local-channel-histories.js';
import { LocalChannelRegistry } from './local-channel-registry.js';
import { LocalChannelStates } from './local-channel-states.js';
import { LocalPresence } from './local-presence.js';
import { LocalUserRelay } from './local-user-relay.js';
import { MemoryTopicLog } from './memory-topic-log.js';
import { MemorySubscriptions } from './memory-subscriptions.js';

export function createMemoryStore(options: StoreOptions): Store {
  return {
    kind: 'memory',
    topics: new MemoryTopicLog(options.historySize),
    subscriptions: new MemorySubscriptions(),
    deliveries: new MemoryDeliveryQueue(),
    channels: new MemoryChannelStore(),
    registry: new LocalChannelRegistry(),
    presence: new LocalPresence(),
    states: new LocalChannelStates(),
    histories: new LocalChannelHistories(),
    relay: new LocalUserRelay(),
    ping: async () => {},
    assertWritable: () => {},
    close: async () => {},
  };
}
