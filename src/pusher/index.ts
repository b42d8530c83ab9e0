// The Pusher front door's WebSocket side: /app/<key> (protocol 7) on the topic core. Its face: the plugin
// server.ts registers, and PusherNode, the ChannelDirectory the HTTP API reads.
import type { FastifyPluginAsync } from 'fastify';
import type { WsRoute } from '../transports/ws.js';
import type { PusherNode } from './node.js';

export { PusherNode, type PusherNodeOptions } from './node.js';
export { pusherHttpApi, type PusherHttpApiOptions } from './http-api.js';
export { PusherWebhooks, type PusherWebhooksOptions } from './webhooks.js';
export type { ChannelDirectory, PusherApp, PusherWebhookSink } from './contracts.js';

export interface PusherPluginOptions {
  node: PusherNode;
  /** Adds a WebSocket route served by the ws transport (server.ts has it from wsTransport). */
  wsRoute: WsRoute;
}

/**
 * /app/<key>: Pusher's WebSocket. Foreign origins are accepted, as Pusher accepts them: an app's pages
 * come from the app's own origin, and what guards a channel is its signed authorization.
 */
export const pusherPlugin: FastifyPluginAsync<PusherPluginOptions> = async (_app, { node, wsRoute }) => {
  wsRoute('/app/:key', (req) => node.sessions((req.params as { key: string }).key));
};
