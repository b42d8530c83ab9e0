// Everything in process: the zero-setup store for tests and ephemeral use.
import type { Store, StoreOptions } from './interface.js';
import { MemoryChannelStore } from './memory-channels.js';
import { MemoryTopicLog } from './memory-topic-log.js';

export function createMemoryStore(options: StoreOptions): Store {
  return {
    kind: 'memory',
    topics: new MemoryTopicLog(options.historySize),
    channels: new MemoryChannelStore(),
    ping: async () => {},
    close: async () => {},
  };
}
