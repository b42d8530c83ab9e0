// The Pusher front door as one Fastify plugin: with apps configured, it builds this node's PusherNode and the
// apps' webhooks, and serves /app/<key> (Pusher's WebSocket, on the ws transport's wsRoute) and the HTTP API
// /apps/<app_id>/… (in its own context, with its own signature check). Its own access model: foreign
// origins are accepted, as Pusher accepts them (an app's pages come from the app's own origin), and what
// guards a channel is its signed authorization. Without apps it serves nothing.
//
// What it built comes back by `pusherOf`: server.ts hands over and settles it in the close order there.
import type { FastifyInstance } from 'fastify';
import type { Topics } from '../core/topics.js';
import type { WebhookQueue } from '../core/webhooks.js';
import { productHandle, productPlugin } from '../http/plugin.js';
import type { PusherRoster } from '../store/contracts/pusher-roster.js';
import type { WsRoute } from '../transports/ws.js';
import type { PusherApp, PusherWebhookSink } from './contracts.js';
import { pusherHttpApi } from './http-api.js';
import { PusherNode } from './node.js';
import { PusherWebhooks } from './webhooks.js';

export interface PusherPluginOptions {
  /** The configured apps; none: the front door is closed (404). */
  apps: readonly PusherApp[];
  config: {
    /** Subscriptions per connection (--max-subscriptions). */
    maxSubscriptions: number;
    maxJsonDepth: number;
  };
  topics: Topics;
  /** Subscriptions and presence over every node (the store's). */
  roster: PusherRoster;
  /** Where the apps' webhooks are queued: the dispatcher's queue. */
  queue: WebhookQueue;
  /** Adds a WebSocket route served by the ws transport (the channels plugin hands it back). */
  wsRoute: WsRoute;
  /** Where lifecycle events go instead of the apps' webhooks (tests). */
  webhooks?: PusherWebhookSink | undefined;
}

/** What the plugin built, and its part in the close order. */
export interface PusherFrontDoor {
  /** This node's connections and their directory; undefined without apps. */
  node: PusherNode | undefined;
  /** On several nodes: this node's subscriptions and members go to a live node (before the connections close). */
  handOver(): Promise<void>;
  /** Once the connections are closed: their leaves reach the webhooks, and what waits there is queued. */
  settle(): Promise<void>;
}

const frontDoorHandle = productHandle<PusherFrontDoor>('hookhub.pusher');

/** What the plugin built, once `await app.register(pusherPlugin, …)` has returned. */
export const pusherOf = (app: FastifyInstance): PusherFrontDoor => frontDoorHandle.of(app);

export const pusherPlugin = productPlugin<PusherPluginOptions>('hookhub-pusher', async (app, options) => {
  const { apps, config } = options;
  if (apps.length === 0) {
    frontDoorHandle.set(app, { node: undefined, handOver: async () => {}, settle: async () => {} });
    return;
  }
  // The apps' webhooks through the dispatcher, unless the caller hands in its own sink (tests).
  let webhooks: PusherWebhooks | undefined;
  const sink: PusherWebhookSink = options.webhooks ?? (webhooks = new PusherWebhooks({ queue: options.queue, log: app.log }));
  const node = new PusherNode({
    apps,
    topics: options.topics,
    roster: options.roster,
    maxSubscriptions: config.maxSubscriptions,
    maxJsonDepth: config.maxJsonDepth,
    log: app.log,
    webhooks: sink,
  });
  // A delayed channel_vacated / member_removed is sent only if every node still shows it.
  webhooks?.confirmLeavesWith(node);
  options.wsRoute('/app/:key', (req) => node.sessions((req.params as { key: string }).key));
  await app.register(pusherHttpApi, { apps, topics: options.topics, directory: node, maxJsonDepth: config.maxJsonDepth });
  frontDoorHandle.set(app, {
    node,
    handOver: async () => void (await node.handOver()),
    settle: async () => {
      await node.settled();
      await webhooks?.close();
    },
  });
});
