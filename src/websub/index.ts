// The WebSub product as others see it: server.ts registers `websubPlugin` (the hub it builds comes back by
// `websubOf`), and the admin console reads subscriptions through `subscriptionsAdminView`. Nothing else
// reaches into websub/.
import type { Subscriptions } from '../store/contracts/subscriptions.js';
import { subscriptionJson, type SubscriptionJson } from './routes.js';

export type { WebSubHub } from './hub.js';
export { websubOf, websubPlugin, type WebSubConfig, type WebSubPluginOptions } from './plugin.js';
export type { SubscriptionJson } from './routes.js';

/** What the admin console reads of WebSub subscriptions. */
export interface SubscriptionsAdminView {
  count(): Promise<number>;
  /** Subscriptions as /api/subscriptions shows them: of one topic, or all. */
  list(topic?: string): Promise<SubscriptionJson[]>;
}

export function subscriptionsAdminView(subscriptions: Subscriptions): SubscriptionsAdminView {
  return {
    count: () => subscriptions.count(),
    list: async (topic) => {
      const subs = await subscriptions.list(topic);
      const now = Date.now();
      return subs.map((s) => subscriptionJson(s, now));
    },
  };
}
