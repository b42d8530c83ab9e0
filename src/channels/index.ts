// Browser channels as others see them: server.ts registers `channelsPlugin` (/ws, its fallback, /web, /rest,
// /hookbox.js; what it built comes back by `channelsOf`), and the admin console reads them through
// `channelsAdminView`. Transports never import channels/.
export { channelsAdminView, type AdminChannel, type ChannelsAdminView } from './admin-view.js';
export type { ChannelEvent } from './events.js';
export { channelsOf, channelsPlugin, type ChannelsPluginConfig, type ChannelsPluginOptions, type ChannelsProduct } from './plugin.js';
export type { Channels, ChannelsConfig } from './create.js';
