// Browser channels as one Fastify plugin: it builds the channels (createChannels) and serves /ws, its HTTP
// fallback (/ws/sse, /ws/send), the Hookbox REST API (/web, /rest: own token check) and the browser client
// (/hookbox.js). Browsers meet an origin and access gate; a foreign Origin is refused and, with keys set,
// only the application's callbacks let them in.
//
// It runs in the registering context (the root): @fastify/websocket must be registered at the root, since
// in a child context an upgrade request to a path without a WebSocket route would be answered by the root
// 404 handler and its socket never released (close hangs). What it built comes back by `channelsOf`,
// with `wsRoute`, which adds another WebSocket route served like /ws (the Pusher front door's). The
// channels are closed by whoever registers the plugin (server.ts: after the connections, before the store).
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { SystemEvents } from '../core/system-events.js';
import type { Topics } from '../core/topics.js';
import { browserGate, browsersClosedBecause } from '../http/browser-gate.js';
import type { Connections } from '../http/connections.js';
import { createOriginPolicy } from '../http/origins.js';
import { productHandle, productPlugin } from '../http/plugin.js';
import { wsTransport, type WsRoute } from '../transports/ws.js';
import { wsFallback } from '../transports/ws-fallback.js';
import { clientRoute } from './client-route.js';
import { createChannels, type Channels, type ChannelsConfig, type ChannelsDeps } from './create.js';

/** The server options the plugin reads: the channels' own and the browser transports'. */
export interface ChannelsPluginConfig extends ChannelsConfig {
  streamKey?: string | undefined;
  /** --allowed-origins: foreign origins browsers may come from. */
  allowedOrigins: readonly string[];
  /** --channels-open: browsers are let in with keys set and no application callbacks (development). */
  channelsOpen: boolean;
  maxFrame: number;
  subscriberBuffer: number;
  heartbeat: number;
}

export interface ChannelsPluginOptions extends Omit<ChannelsDeps, 'config' | 'log'> {
  config: ChannelsPluginConfig;
  connections: Connections;
  /** This server's own origin for the same-origin check, read lazily (--public-url, or known once listening). */
  ownUrl: () => string | undefined;
}

/** What the plugin built: the channels, and the way to add another WebSocket route served like /ws. */
export interface ChannelsProduct {
  channels: Channels;
  wsRoute: WsRoute;
}

const productHandleOf = productHandle<ChannelsProduct>('hookhub.channels');

/** What the plugin built, once `await app.register(channelsPlugin, …)` has returned. */
export const channelsOf = (app: FastifyInstance): ChannelsProduct => productHandleOf.of(app);

export const channelsPlugin = productPlugin<ChannelsPluginOptions>('hookhub-channels', async (app, options) => {
  const { config } = options;
  const channels = await createChannels({
    config,
    topics: options.topics,
    store: options.store,
    metrics: options.metrics,
    log: app.log,
    ...(options.events ? { events: options.events } : {}),
  });
  const closed = browsersClosedBecause({
    keysSet: config.apiKey !== undefined || config.streamKey !== undefined,
    appCallbacks: channels.callbacks.enabled,
    channelsOpen: config.channelsOpen,
  });
  if (closed !== undefined) app.log.warn(closed);
  const wsDeps = {
    gate: browserGate({ origins: createOriginPolicy(config.allowedOrigins, options.ownUrl), closed }),
    sessions: channels.sessions,
    connections: options.connections,
    metrics: options.metrics,
    maxFrame: config.maxFrame,
    bufferLimit: config.subscriberBuffer,
    heartbeatMs: config.heartbeat,
  };
  // At the root (see the top of this file).
  const wsRoute = await wsTransport(app, wsDeps);
  await app.register(async (browsers) => {
    wsFallback(browsers, wsDeps);
    channels.routes(browsers);
  });
  clientRoute(app);
  productHandleOf.set(app, { channels, wsRoute });
});
