// The topics product as one Fastify plugin: consumers read topics over /stream (NDJSON) and /sse, guarded
// by --stream-key inside the transports (a browser's EventSource cannot send a header); producers and
// readers use /api/topics (publish, history, list) behind --api-key. The transports stay in transports/:
// this plugin hands them the topics and the limits.
import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { Topics } from '../core/topics.js';
import { fastLanesOf } from '../http/app.js';
import { requireKey } from '../http/auth.js';
import type { Connections } from '../http/connections.js';
import { sseTransport } from '../transports/sse.js';
import { streamTransport } from '../transports/stream.js';
import { topicPublishLane } from './publish-lane.js';
import { topicsApi } from './topics.js';

/** The server options the topics plugin reads (the server's Config has them under these names). */
export interface TopicsPluginConfig {
  apiKey?: string | undefined;
  streamKey?: string | undefined;
  heartbeat: number;
  subscriberBuffer: number;
  /** Topics one /stream or /sse request may name. */
  maxSubscriptions: number;
  historyMaxBytes: number;
  /** --max-body: the publish fast lane leaves larger bodies to Fastify (its 413). */
  maxBody: number;
}

export interface TopicsPluginOptions {
  config: TopicsPluginConfig;
  topics: Topics;
  connections: Connections;
  metrics: Metrics;
}

export const topicsPlugin: FastifyPluginAsync<TopicsPluginOptions> = async (app, { config, topics, connections, metrics }) => {
  const streaming = {
    topics,
    connections,
    metrics,
    heartbeatMs: config.heartbeat,
    bufferLimit: config.subscriberBuffer,
    maxTopicsPerRequest: config.maxSubscriptions,
    ...(config.streamKey !== undefined ? { streamKey: config.streamKey } : {}),
  };
  await app.register(async (consumers) => {
    streamTransport(consumers, streaming);
    sseTransport(consumers, streaming);
  });
  await app.register(async (api) => {
    api.addHook('onRequest', requireKey(config.apiKey));
    topicsApi(api, { topics, historyMaxBytes: config.historyMaxBytes });
    // The producers' hot path: the same answers without Fastify's per-request work (what the lane passes on, the route takes).
    fastLanesOf(app).add(topicPublishLane(topics, { apiKey: config.apiKey, maxBody: config.maxBody }));
  });
};
