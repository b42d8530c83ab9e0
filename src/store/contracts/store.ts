// The store hides where state lives. Small contracts, one file per concern; Store bundles them.
import type { TopicLog } from '../../core/topic-log.js';
import type { ChannelHistories } from './channel-histories.js';
import type { ChannelPresence } from './channel-presence.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { ChannelStates } from './channel-states.js';
import type { ChannelStore } from './channel-store.js';
import type { DeliveryQueue } from './delivery-queue.js';
import type { EndpointBook, EndpointLimiter } from './endpoints.js';
import type { Subscriptions } from './subscriptions.js';
import type { PusherRoster } from './pusher-roster.js';
import type { UserRelay } from './user-relay.js';

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  readonly topics: TopicLog;
  /** WebSub subscriptions (see subscriptions.ts). */
  readonly subscriptions: Subscriptions;
  readonly deliveries: DeliveryQueue;
  /** Receiving endpoints' settings and health (see endpoints.ts). */
  readonly endpoints: EndpointBook;
  /** Flow-control permits: shared by every node on a shared store. */
  readonly limiter: EndpointLimiter;
  readonly channels: ChannelStore;
  readonly registry: ChannelRegistry;
  readonly presence: ChannelPresence;
  readonly states: ChannelStates;
  readonly histories: ChannelHistories;
  readonly relay: UserRelay;
  /** The Pusher front door's subscriptions and presence over every node (see pusher-roster.ts). */
  readonly pusher: PusherRoster;
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
