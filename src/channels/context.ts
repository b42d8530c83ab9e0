// What the channels modules of this node share: the stores and the application they talk to, the
// channels, users and connections here, and the questions every module asks (is a user connected
// anywhere, what are a record's options, what does the application say).
import type { FastifyBaseLogger } from 'fastify';
import type { Topics } from '../core/topics.js';
import type { ChannelHistories } from '../store/contracts/channel-histories.js';
import type { ChannelPresence } from '../store/contracts/channel-presence.js';
import type { ChannelRegistry } from '../store/contracts/channel-registry.js';
import type { ChannelStates } from '../store/contracts/channel-states.js';
import type { ChannelStore } from '../store/contracts/channel-store.js';
import type { UserRelay } from '../store/contracts/user-relay.js';
import { Background } from './background.js';
import type { AppCallbacks, CallbackAction, CallbackOrigin, CallbackResult } from './callbacks.js';
import { applyChannelOptions, defaultChannelOptions, type ChannelOptions } from './options.js';
import type { Channel, Conn, User } from './model.js';

/** The stores and the application the channels of a node use. */
export interface ChannelsStores {
  topics: Topics;
  store: ChannelStore;
  /** Which channels exist with which options, for every node (one, or a cluster's); see ChannelLifecycle. */
  registry: ChannelRegistry;
  /** Who is present through other nodes; join/leave events follow the cluster-wide first join / last leave. */
  presence: ChannelPresence;
  /** Channel state: every change goes through it, and comes back (from any node) to ChannelData.stateChanged. */
  states: ChannelStates;
  /** Channel history, likewise (back to ChannelData.historyChanged). */
  histories: ChannelHistories;
  /** Private messages to users connected through other nodes. */
  relay: UserRelay;
  callbacks: AppCallbacks;
  log: FastifyBaseLogger;
}

/** On whose behalf the application is asked: a connection, or a caller known by its cookie at most. */
export type Origin = { conn: Conn } | { cookie?: string };

export const originOf = (conn: Conn | undefined): Origin => (conn ? { conn } : {});

export class ChannelsContext {
  readonly channels = new Map<string, Channel>();
  readonly users = new Map<string, User>();
  readonly conns = new Set<Conn>();
  /** What the channels start and do not wait for: waited for when they close (before the store does). */
  readonly background: Background;

  constructor(readonly deps: ChannelsStores) {
    this.background = new Background(deps.log);
  }

  /** Connected here or through another node. */
  userExists(name: string): boolean {
    return this.users.has(name) || this.deps.presence.hasRemoteUser(name);
  }

  remotelyPresent(ch: Channel, name: string): boolean {
    return this.deps.presence.remote(ch.name).has(name);
  }

  /** A record's options as this node reads them (a record another version wrote may hold bad values). */
  optionsOf(name: string, record: Record<string, unknown>): ChannelOptions {
    try {
      return applyChannelOptions(defaultChannelOptions(), record, false).options;
    } catch (err) {
      this.deps.log.warn({ err, channel: name }, 'unreadable shared channel options: defaults used');
      return defaultChannelOptions();
    }
  }

  /** Asks the application on behalf of a connection; Set-Cookie in its answer goes back as SET_COOKIE frames. */
  async callback(action: CallbackAction, fields: Record<string, string>, origin: Origin): Promise<CallbackResult> {
    if (!this.deps.callbacks.enabled) return { ok: true, options: {} };
    const who: CallbackOrigin = 'conn' in origin ? { cookie: origin.conn.cookie, realIp: origin.conn.realIp } : { cookie: origin.cookie };
    const result = await this.deps.callbacks.call(action, fields, who);
    if ('conn' in origin && result.setCookie) for (const cookie of result.setCookie) origin.conn.frame('SET_COOKIE', { cookie });
    return result;
  }

  /** A callback that only informs the application; its answer changes nothing. */
  notify(action: CallbackAction, fields: Record<string, string>, cookie?: string): void {
    if (!this.deps.callbacks.enabled) return;
    this.background.run('application callback failed', { action }, async () => {
      const r = await this.deps.callbacks.call(action, fields, { cookie });
      if (!r.ok) this.deps.log.debug({ action, msg: r.msg }, 'application callback refused or failed');
    });
  }
}

export function cookieOf(origin: Origin): string | undefined {
  return 'conn' in origin ? origin.conn.cookie : origin.cookie;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
