// The topics product as others see it: server.ts registers `topicsPlugin` (/stream, /sse, /api/topics).
export { topicsPlugin, type TopicsPluginConfig, type TopicsPluginOptions } from './plugin.js';
