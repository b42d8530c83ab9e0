// The Pusher front door (/app/<key>, protocol 7 on the topic core; the HTTP API /apps/<app_id>/…). Its face:
// the plugin server.ts registers (what it built comes back by `pusherOf`), and the parts tests build alone.
export { pusherOf, pusherPlugin, type PusherFrontDoor, type PusherPluginOptions } from './plugin.js';
export { PusherNode, type PusherNodeOptions } from './node.js';
export { pusherHttpApi, type PusherHttpApiOptions } from './http-api.js';
export { PusherWebhooks, type PusherWebhooksOptions } from './webhooks.js';
export type { ChannelDirectory, PusherApp, PusherWebhookSink } from './contracts.js';
