// Browser channels, assembled: this node's channels (ChannelsNode), their application callbacks and poller, the REST API and the
// session factory the /ws transports drive. channels/plugin.ts builds them and registers the routes.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '../core/metrics.js';
import type { SystemEvents } from '../core/system-events.js';
import { createOutgoingAgent } from '../core/target-guard.js';
import type { Topics } from '../core/topics.js';
import type { Store } from '../store/contracts/store.js';
import { AppCallbacks, type CallbackAction } from './callbacks.js';
import { ClusterUsers } from './cluster-users.js';
import { publishChannelEvents } from './events.js';
import type { FrameSink } from './model.js';
import { ChannelsNode } from './node.js';
import { ChannelPoller } from './polling.js';
import { channelsRest } from './rest.js';
import { serveRestApart } from './rest-apart.js';
import { ChannelSession, type FrameSession, type SessionInfo } from './session.js';

/** The server options channels use (a subset of the server's Config). */
export interface ChannelsConfig {
  cbUrl?: string | undefined;
  cbSingleUrl?: string | undefined;
  cbSecret?: string | undefined;
  /** Per-action callback paths relative to --cb-url (--cb-connect=connect.php …); the action's name when unset. */
  cbConnect?: string | undefined;
  cbDisconnect?: string | undefined;
  cbCreateChannel?: string | undefined;
  cbDestroyChannel?: string | undefined;
  cbSubscribe?: string | undefined;
  cbUnsubscribe?: string | undefined;
  cbPublish?: string | undefined;
  cbMessage?: string | undefined;
  cbTimeout: number;
  /** --trust-proxy: X-Real-IP is the browser's address as the proxy in front reported it (X-Forwarded-For). */
  trustProxy?: boolean | undefined;
  /** Hookbox's -x: REST publish to a channel that does not exist answers [true, {}] and does nothing. */
  ignorePublishNonExistingChannels?: boolean | undefined;
  /** Hookbox's -w/-W: the REST API on a port (and interface) of its own, and not on the main one. */
  webApiPort?: number | undefined;
  webApiHost?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  apiKey?: string | undefined;
  allowPrivateTargets: boolean;
  maxBody: number;
  /** Channels one connection's user may join by SUBSCRIBE frames (--max-subscriptions); no cap when unset. */
  maxSubscriptions?: number | undefined;
  /** Deepest JSON accepted from browsers, REST callers and the application (--max-json-depth). */
  maxJsonDepth: number;
}

export interface ChannelsDeps {
  config: ChannelsConfig;
  topics: Topics;
  /** What channels keep in the store: persistent records, and what nodes share (presence, state, history, users). */
  store: Pick<Store, 'channels' | 'registry' | 'presence' | 'states' | 'histories' | 'relay'>;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** The system topic: channel lifecycle events (occupied, vacated, member added / removed) go there. */
  events?: SystemEvents;
}

/** At close, how long the application's calls still under way may take before they are cut. */
export const CLOSE_CALLBACK_GRACE_MS = 1000;
/** Then how long the channels' store work may take (a store that does not answer does not hold the close). */
export const CLOSE_STORE_WORK_MS = 5000;

/** Application callbacks in flight at once; further ones wait (within their timeout). */
export const CALLBACK_CONCURRENCY = 64;

export interface Channels {
  node: ChannelsNode;
  callbacks: AppCallbacks;
  /** The session factory handed to the /ws transports. */
  sessions: { open(sink: FrameSink, info: SessionInfo): FrameSession & { id: string } };
  /** Registers /web/<method> and /rest/<method> in the given (own) context. */
  routes(app: FastifyInstance): void;
  /**
   * Once the connections are closed and before the store closes (server.ts's close order): stops polling,
   * waits for the work the channels started, cuts the application's calls left. Idempotent.
   */
  close(): Promise<void>;
}

export async function createChannels(deps: ChannelsDeps): Promise<Channels> {
  const { config } = deps;
  // The application is configured by the operator: its callbacks may live on loopback.
  const appAgent = createOutgoingAgent({ allowPrivate: true, connections: CALLBACK_CONCURRENCY });
  const pollAgent = createOutgoingAgent({ allowPrivate: config.allowPrivateTargets });
  const registry = deps.metrics.registry;
  const callbackCalls = new Counter({
    name: 'hookhub_channel_callbacks_total',
    help: 'Application callbacks by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    registers: [registry],
  });
  const callbackSeconds = new Histogram({
    name: 'hookhub_channel_callback_seconds',
    help: 'Application callback duration',
    labelNames: ['action'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const callbacks = new AppCallbacks({
    onCall: (r) => {
      callbackCalls.labels(r.action, r.ok ? 'ok' : 'refused_or_failed').inc();
      callbackSeconds.labels(r.action).observe(r.ms / 1000);
    },
    ...(config.cbUrl !== undefined ? { cbUrl: config.cbUrl } : {}),
    ...(config.cbSingleUrl !== undefined ? { cbSingleUrl: config.cbSingleUrl } : {}),
    ...(config.cbSecret !== undefined ? { secret: config.cbSecret } : {}),
    paths: callbackPaths(config),
    timeoutMs: config.cbTimeout,
    concurrency: CALLBACK_CONCURRENCY,
    maxJsonDepth: config.maxJsonDepth,
    dispatcher: appAgent,
  });
  const { store } = deps;
  if (deps.events) publishChannelEvents(store.presence, deps.events);
  const node = new ChannelsNode({
    topics: deps.topics,
    store: store.channels,
    registry: store.registry,
    presence: store.presence,
    states: store.states,
    histories: store.histories,
    relay: store.relay,
    callbacks,
    log: deps.log,
    poller: (target) =>
      new ChannelPoller(target, {
        dispatcher: pollAgent,
        timeoutMs: Math.max(config.cbTimeout, 30_000),
        maxBody: config.maxBody,
        allowPrivate: config.allowPrivateTargets,
        maxJsonDepth: config.maxJsonDepth,
        secret: config.cbSecret,
        log: deps.log,
      }),
  });
  await node.load();
  // REST calls on users reach their connections on other nodes too (a subscribe may ask the app).
  const users = new ClusterUsers(node, store.presence, store.relay, config.cbTimeout + 2000);

  new Gauge({ name: 'hookhub_channels', help: 'Browser channels', registers: [registry], collect() { this.set(node.channels.size); } });
  new Gauge({ name: 'hookhub_channel_users', help: 'Connected channel users', registers: [registry], collect() { this.set(node.users.size); } });

  const storeWritable = (): void => deps.topics.assertWritable();
  return {
    node,
    callbacks,
    sessions: {
      open: (sink, info) =>
        new ChannelSession(node, sink, info, deps.log, {
          maxJsonDepth: config.maxJsonDepth,
          storeWritable,
          trustProxy: config.trustProxy === true,
          ...(config.maxSubscriptions !== undefined ? { maxSubscriptions: config.maxSubscriptions } : {}),
        }),
    },
    routes: (app) => {
      const apart = restApart(config);
      if (apart) serveRestApart(app, apart);
      channelsRest(app, {
        node,
        users,
        apiKey: config.apiKey,
        version: '0.1.0',
        storeWritable,
        maxJsonDepth: config.maxJsonDepth,
        ignoreMissingChannels: config.ignorePublishNonExistingChannels === true,
        apart: apart !== undefined,
      });
    },
    close: once(async () => {
      // Called by the server's close once the connections are closed, and before the store closes.
      await node.stopPolling();
      // What the connections' leaves started (destroys, history, the application's unsubscribe and
      // disconnect calls) ends against the open store; the application gets a moment to answer, but
      // its timeout is not waited out (the connections are gone): then the calls left are cut.
      await node.background.settled(CLOSE_CALLBACK_GRACE_MS);
      await Promise.all([appAgent.destroy(), pollAgent.destroy()]);
      // What is left touches the store only; nothing starts after it.
      await node.background.close(CLOSE_STORE_WORK_MS);
    }),
  };
}

/** The per-action paths that are set (--cb-connect …). */
function callbackPaths(config: ChannelsConfig): Partial<Record<CallbackAction, string>> {
  const given: Record<CallbackAction, string | undefined> = {
    connect: config.cbConnect,
    disconnect: config.cbDisconnect,
    create_channel: config.cbCreateChannel,
    destroy_channel: config.cbDestroyChannel,
    subscribe: config.cbSubscribe,
    unsubscribe: config.cbUnsubscribe,
    publish: config.cbPublish,
    message: config.cbMessage,
  };
  return Object.fromEntries(Object.entries(given).filter(([, path]) => path !== undefined && path !== ''));
}

/** Where REST listens apart, if it does: as in Hookbox, the same interface and port as the main one means not apart. */
function restApart(config: ChannelsConfig): { host: string; port: number } | undefined {
  if (config.webApiPort === undefined) return undefined;
  const host = config.webApiHost ?? config.host ?? '127.0.0.1';
  if (config.webApiPort === config.port && host === (config.host ?? '127.0.0.1')) return undefined;
  return { host, port: config.webApiPort };
}

/** `f` run once: later calls get the first call's promise. */
function once(f: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= f());
}
