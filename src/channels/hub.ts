// Hookbox's model on the topic core: users (one per name, several connections), channels (a channel
// IS a topic: publishes go through topics.publish, subscribers receive through the core fan-out),
// presence, history, state, private messages, and the application callbacks that authorize them.
// What several nodes share (which channels exist with their options, presence, state, history, users
// elsewhere) goes through the store.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Message } from '../core/message.js';
import type { StreamPosition, Topics } from '../core/topics.js';
import { checkTopicName } from '../core/topic-name.js';
import { isHookhubError } from '../core/errors.js';
import type { ChannelHistories, HistoryChange } from '../store/contracts/channel-histories.js';
import type { ChannelPresence } from '../store/contracts/channel-presence.js';
import type { ChannelRecordChange, ChannelRegistry } from '../store/contracts/channel-registry.js';
import type { ChannelStates, StateChange } from '../store/contracts/channel-states.js';
import type { ChannelStore } from '../store/contracts/channel-store.js';
import type { UserRelay } from '../store/contracts/user-relay.js';
import type { AppCallbacks, CallbackAction, CallbackOrigin, CallbackResult } from './callbacks.js';
import {
  applyChannelOptions,
  applyUserOptions,
  defaultChannelOptions,
  defaultUserOptions,
  moderates,
  pollingActive,
  toHistory,
  type ChannelOptions,
  type HistoryEntry,
  type OptionChanges,
  type UserOptions,
} from './options.js';
import { ChannelError } from './channel-error.js';
import { Channel, Conn, User, type ChannelOwner, type FrameSink, type Poller, type PollTarget } from './model.js';
import { catchUp, readMissed, type CatchUp } from './catch-up.js';
import { publishInfo, publishTail, publishTailWithOffset, tail, type FrameTail } from './protocol.js';
import { ChannelPublish, channelPublishOf } from './channel-publish.js';
import { hookboxTime } from './hookbox-time.js';
import { payloadValue } from './hookbox-wire.js';

export { Channel, Conn, User, type FrameSink, type Poller } from './model.js';

export interface ChannelHubDeps {
  topics: Topics;
  store: ChannelStore;
  /** Which channels exist with which options, for every node (shared stores); see sharedChannel. */
  registry: ChannelRegistry;
  /** Who is present through other nodes; join/leave events follow the cluster-wide first join / last leave. */
  presence: ChannelPresence;
  /** Channel state: every change goes through it, and comes back (from any node) to stateChanged. */
  states: ChannelStates;
  /** Channel history, likewise (back to historyChanged). */
  histories: ChannelHistories;
  /** Private messages to users connected through other nodes. */
  relay: UserRelay;
  callbacks: AppCallbacks;
  log: FastifyBaseLogger;
  /** Makes the poller of the channel option `polling`, which publishes through this hub. */
  poller: (target: PollTarget) => Poller;
}

const CLOSE_POLICY = 1008;

/** What a shared store keeps of a channel, read when the channel is made on this node. */
interface SharedData {
  state?: Record<string, unknown>;
  history?: HistoryEntry[];
}

type Origin = { conn: Conn } | { cookie?: string };

const asList = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];

export class ChannelHub implements ChannelOwner, PollTarget {
  readonly channels = new Map<string, Channel>();
  readonly users = new Map<string, User>();
  private readonly creating = new Map<string, Promise<Channel | undefined>>();
  private readonly conns = new Set<Conn>();
  private readonly poller: Poller;
  private guestCounter = 0;

  constructor(private readonly deps: ChannelHubDeps) {
    this.poller = deps.poller(this);
    deps.presence.onChange((channel, user, present, nodeLost) => this.remoteChanged(channel, user, present, nodeLost));
    deps.registry.onChange((channel, c) => this.recordChanged(channel, c));
    deps.states.onChange((channel, c) => this.stateChanged(channel, c));
    deps.histories.onChange((channel, c) => this.historyChanged(channel, c));
    deps.relay.onFrame((users, frame, args) => this.relayed(users, frame, args));
  }

  /** Stops every channel's polling (the server is closing). */
  stopPolling(): void {
    this.poller.stopAll();
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Loads persistent channels from the store. */
  async load(): Promise<void> {
    if (this.deps.registry.shared && !(await this.deps.presence.othersAlive())) await this.forgetStoppedCluster();
    for (const record of await this.deps.store.list()) {
      try {
        let { options } = applyChannelOptions(defaultChannelOptions(), record.options, false);
        // Another node may have the channel already (with newer options): its record wins. Every node
        // polls the persistent channels it loads (no node may be left that set their polling).
        if (this.deps.registry.shared) options = this.optionsOf(record.name, (await this.deps.registry.create(record.name, { ...options })).options);
        const shared = this.shared ? await this.sharedData(record.name) : {};
        if (this.channels.has(record.name)) continue;
        const ch = this.create(record.name, options, shared);
        // The shared state is the newer one: the record is rewritten after each change anyway.
        if (!shared.state) ch.state = { ...record.state };
      } catch (err) {
        this.deps.log.warn({ err, channel: record.name }, 'stored channel skipped');
      }
    }
  }

  /**
   * The first node of a cluster: nobody is connected anywhere, so the non-persistent channels (with
   * their state and history) left by a cluster that stopped or died are gone, as after a restart.
   */
  private async forgetStoppedCluster(): Promise<void> {
    for (const { name, options } of await this.deps.registry.list()) {
      if (this.optionsOf(name, options).persistent) continue;
      await this.deps.registry.remove(name);
      await Promise.all([this.deps.states.drop(name), this.deps.histories.drop(name)]);
    }
  }

  // ---- connections -------------------------------------------------------------------------

  open(sink: FrameSink, headerCookie: string | undefined, transport: string, origin?: string, realIp?: string): Conn {
    const conn = new Conn(sink, headerCookie, transport, origin, realIp);
    this.conns.add(conn);
    return conn;
  }

  async connect(conn: Conn, args: Record<string, unknown>): Promise<void> {
    if (conn.state !== 'initial') throw new ChannelError('already connected');
    const given = typeof args.cookie === 'string' ? args.cookie : typeof args.cookie_string === 'string' ? args.cookie_string : '';
    conn.cookie = given !== '' ? given : conn.headerCookie;
    conn.offsets = args.offsets === true;
    const payload = payloadValue(args.payload, conn.lineFramed);
    conn.state = 'connecting';
    let name: string;
    let answer: Record<string, unknown> = {};
    if (this.deps.callbacks.enabled) {
      const fields: Record<string, string> = { conn_id: conn.id, payload: JSON.stringify(payload) };
      if (conn.origin !== undefined) fields.origin = conn.origin;
      const result = await this.callback('connect', fields, { conn });
      if (!result.ok) {
        if (conn.state === 'connecting') conn.state = 'initial';
        throw new ChannelError(result.msg);
      }
      answer = result.options;
      if (typeof answer.name !== 'string' || answer.name === '') {
        if (conn.state === 'connecting') conn.state = 'initial';
        throw new ChannelError('application callback connect answered no name');
      }
      name = answer.name;
    } else {
      name = this.defaultName(payload);
    }
    if (conn.state !== 'connecting') return; // closed meanwhile
    let user = this.users.get(name);
    // The rest of the connect answer may carry user options (Hookbox); other keys are ignored.
    let options: UserOptions;
    try {
      options = applyUserOptions(user?.options ?? defaultUserOptions(), answer, false);
    } catch (err) {
      conn.state = 'initial';
      throw err;
    }
    if (!user) {
      const elsewhere = this.userExists(name);
      this.users.set(name, (user = new User(name)));
      this.deps.presence.addUser(name);
      if (!elsewhere) this.serverPresence(name, true);
    }
    user.options = options;
    user.conns.add(conn);
    conn.user = user;
    conn.state = 'connected';
    // Hookbox's CONNECTED echoes the payload as the client sent it, unless the application overrides it.
    const echoed = 'override_payload' in answer ? answer.override_payload : (args.payload ?? (conn.lineFramed ? 'null' : null));
    conn.frame('CONNECTED', { name, payload: echoed });
    // A new connection of a user already in channels learns about them.
    for (const ch of user.channels) if (ch.members.get(user) === null) conn.frame('SUBSCRIBE', this.subscribeArgs(ch, user, conn));
    await this.autoSubscribe(user, answer, { conn });
  }

  /** Without an application: CONNECT's payload {name} (or a string payload) names the user, else a guest name. */
  private defaultName(payload: unknown): string {
    const given = typeof payload === 'string' ? payload : typeof payload === 'object' && payload !== null ? (payload as { name?: unknown }).name : undefined;
    if (typeof given === 'string' && given !== '' && given.length <= 256) return given;
    return `guest-${++this.guestCounter}-${randomUUID().slice(0, 8)}`;
  }

  /** The connection went away: leaves what it alone held, and the user once it was the last one. */
  closed(conn: Conn): void {
    const wasConnected = conn.state === 'connected';
    conn.state = 'closed';
    this.conns.delete(conn);
    const user = conn.user;
    if (!user || !wasConnected) return;
    user.conns.delete(conn);
    for (const ch of [...user.channels]) {
      const through = user.subscribedThrough.get(ch);
      const wasThrough = through?.delete(conn) === true;
      const conns = ch.members.get(user);
      if (conns) {
        conns.delete(conn);
        if (conns.size === 0) this.leave(ch, user, conn, 'notify');
      } else if (wasThrough && user.options.global_unsubscriptions) {
        // Hookbox: the connection that subscribed goes, and takes the user's other connections out with it.
        this.leave(ch, user, conn, 'notify');
      }
    }
    if (user.conns.size > 0) return;
    // The unsubscribe and disconnect calls carry the cookie of the user's last connection (Hookbox).
    for (const ch of [...user.channels]) this.leave(ch, user, conn, 'notify');
    this.users.delete(user.name);
    this.deps.presence.removeUser(user.name);
    this.notify('disconnect', { name: user.name }, conn.cookie);
    if (!this.userExists(user.name)) this.serverPresence(user.name, false);
  }

  /**
   * Disconnects every connection of a user (admin "kick"), on other nodes too. Returns false when no such
   * user is connected anywhere.
   */
  kick(name: string, reason = 'kicked'): boolean {
    const elsewhere = this.deps.presence.hasRemoteUser(name);
    if (elsewhere) this.deps.relay.send([name], 'KICK', { reason });
    return this.kickHere(name, reason) || elsewhere;
  }

  private kickHere(name: string, reason: string): boolean {
    const user = this.users.get(name);
    if (!user) return false;
    // The user is gone at once (leave events, disconnect callback), not when each close handshake ends.
    for (const conn of [...user.conns]) {
      conn.sink.close(CLOSE_POLICY, reason);
      this.closed(conn);
    }
    return true;
  }

  // ---- channels ----------------------------------------------------------------------------

  /** `poll`: this node runs the channel's polling (with a shared store, only the node that set it does). */
  private create(name: string, options: ChannelOptions, shared: SharedData = {}, poll = true): Channel {
    const ch = new Channel(name, options, this);
    if (shared.state) ch.state = shared.state;
    if (shared.history) ch.history = shared.history;
    this.channels.set(name, ch);
    this.deps.topics.fanout.add(name, ch);
    if (pollingActive(options) && poll) this.poller.start(ch);
    return ch;
  }

  /** The channel, created on first use: the application's create_channel answer gives its options. */
  async ensureChannel(name: string, origin: Origin, askApp = true): Promise<Channel> {
    const made = await this.existingOrMade(name, () => {
      checkName(name);
      return this.deps.registry.shared ? this.sharedChannel(name, origin, askApp, false) : this.localChannel(name, origin, askApp);
    });
    return made as Channel;
  }

  /**
   * The channel when it exists on any node (REST and admin calls on a channel): with a shared store, a
   * channel made on another node gets its copy here, with the cluster's options.
   */
  async findChannel(name: string): Promise<Channel | undefined> {
    if (!this.deps.registry.shared) return this.channels.get(name);
    try {
      checkName(name);
    } catch {
      return undefined;
    }
    return this.existingOrMade(name, () => this.sharedChannel(name, {}, false, true));
  }

  /**
   * This node's channel; else the one being made here (waited for); else `make`'s, registered as the
   * creation in flight so that concurrent callers wait for it. No await between the check and the
   * registration.
   */
  private async existingOrMade(name: string, make: () => Promise<Channel | undefined>): Promise<Channel | undefined> {
    for (;;) {
      const existing = this.channels.get(name);
      if (existing) return existing;
      const pending = this.creating.get(name);
      if (!pending) break;
      const ch = await pending;
      if (ch) return ch;
    }
    const creation = make();
    this.creating.set(name, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(name);
    }
  }

  /**
   * A shared store: the cluster's channel when it exists (its options; the application is not asked
   * again), else a new one for the whole cluster, unless `mustExist`. Two nodes making it at once agree
   * on the first one's options.
   */
  private async sharedChannel(name: string, origin: Origin, askApp: boolean, mustExist: boolean): Promise<Channel | undefined> {
    const known = await this.deps.registry.get(name);
    let made: { options: ChannelOptions; changes?: OptionChanges } | undefined;
    if (known) made = { options: this.optionsOf(name, known) };
    else if (mustExist) return undefined;
    else {
      const changes = (askApp ? await this.appOptions(name, origin) : undefined) ?? { options: defaultChannelOptions() };
      const answer = await this.deps.registry.create(name, { ...changes.options });
      made = answer.created ? { options: changes.options, changes } : { options: this.optionsOf(name, answer.options) };
    }
    // Read last: the shared state and history are then current when the channel is made (no await after).
    const shared = await this.sharedData(name);
    const again = this.channels.get(name);
    if (again) return again;
    const ch = this.create(name, made.options, shared, made.changes !== undefined);
    if (made.changes) return this.seed(ch, made.changes);
    ch.prune();
    return ch;
  }

  /** The application's create_channel answer applied to the defaults; undefined when there is no application. */
  private async appOptions(name: string, origin: Origin): Promise<OptionChanges | undefined> {
    if (!this.deps.callbacks.enabled) return undefined;
    // Hookbox makes this call with the browser's cookie but not for its connection: no X-Real-IP, no SET_COOKIE.
    const result = await this.callback('create_channel', { channel_name: name }, { cookie: cookieOf(origin) });
    if (!result.ok) throw new ChannelError(result.msg);
    const changes = applyChannelOptions(defaultChannelOptions(), result.options, false);
    this.poller.check(changes.options);
    return changes;
  }

  /** A channel just made takes the history and state its options came with, then is stored if persistent. */
  private async seed(ch: Channel, changes: OptionChanges): Promise<Channel> {
    if (changes.history) await this.setHistory(ch, changes.history);
    if (changes.state) await this.initialState(ch, changes.state);
    ch.prune();
    await this.syncServerPresence(ch);
    await this.persist(ch);
    return ch;
  }

  /** A record's options as this hub reads them (a record another version wrote may hold bad values). */
  private optionsOf(name: string, record: Record<string, unknown>): ChannelOptions {
    try {
      return applyChannelOptions(defaultChannelOptions(), record, false).options;
    } catch (err) {
      this.deps.log.warn({ err, channel: name }, 'unreadable shared channel options: defaults used');
      return defaultChannelOptions();
    }
  }

  /** A single-node store: the channel is this node's alone. */
  private localChannel(name: string, origin: Origin, askApp: boolean): Promise<Channel> {
    return (async () => {
      if (askApp && this.deps.callbacks.enabled) {
        const changes = (await this.appOptions(name, origin)) as OptionChanges;
        const shared = this.shared ? await this.sharedData(name) : {};
        const again = this.channels.get(name);
        if (again) return again;
        return this.seed(this.create(name, changes.options, shared), changes);
      }
      // Without a shared store no await here: the channel exists in the same tick as before.
      const shared = this.shared ? await this.sharedData(name) : {};
      return this.channels.get(name) ?? this.create(name, defaultChannelOptions(), shared);
    })();
  }

  /** REST create_channel: fails when it exists. */
  async createChannel(name: string, input: Record<string, unknown>): Promise<Channel> {
    checkName(name);
    // Shared: a copy being made here may be a lookup of a channel that does not exist; the registry decides.
    if (this.channels.has(name) || (!this.deps.registry.shared && this.creating.has(name))) throw new ChannelError(`channel ${name} already exists`);
    const changes = applyChannelOptions(defaultChannelOptions(), input, true);
    this.poller.check(changes.options);
    if (this.deps.registry.shared) {
      // Made on another node (or by another call) already: it exists for this node too.
      if (!(await this.deps.registry.create(name, { ...changes.options })).created) throw new ChannelError(`channel ${name} already exists`);
    }
    const shared = this.shared ? await this.sharedData(name) : {};
    if (!this.deps.registry.shared && (this.channels.has(name) || this.creating.has(name))) throw new ChannelError(`channel ${name} already exists`);
    // Ours in the registry; a subscribe here meanwhile made its copy from our record (not polling it).
    const copy = this.channels.get(name);
    if (copy && pollingActive(copy.options)) this.poller.start(copy);
    return this.seed(copy ?? this.create(name, changes.options, shared), changes);
  }

  /** `strict` refuses unknown keys (REST); polling answers may carry others, which are ignored. */
  async setChannelOptions(ch: Channel, input: Record<string, unknown>, strict = true): Promise<void> {
    const changes = applyChannelOptions(ch.options, input, strict);
    this.poller.check(changes.options);
    const wasPersistent = ch.options.persistent;
    if (this.deps.registry.shared) {
      const pollingChanged = JSON.stringify(ch.options.polling) !== JSON.stringify(changes.options.polling);
      // Every node's copy (this one's too) takes the options when it hears of them (recordChanged).
      if (!(await this.deps.registry.update(ch.name, { ...changes.options }))) throw new ChannelError(`no such channel: ${ch.name}`);
      // New polling runs on this node only (the others stopped theirs).
      if (pollingChanged && pollingActive(ch.options) && !ch.destroyed) this.poller.start(ch);
    } else this.applyOptions(ch, changes.options, true);
    if (changes.history) await this.setHistory(ch, changes.history);
    ch.prune();
    if (changes.state) await this.deps.states.change(ch.name, { replace: changes.state });
    await this.syncServerPresence(ch);
    if (wasPersistent && !ch.options.persistent) await this.deps.store.delete(ch.name);
    await this.persist(ch);
    if (wasPersistent) this.maybeDestroy(ch);
  }

  /** New options for this node's copy of a channel; changed polling stops here, and starts again when `pollHere`. */
  private applyOptions(ch: Channel, options: ChannelOptions, pollHere: boolean): void {
    const pollingChanged = JSON.stringify(ch.options.polling) !== JSON.stringify(options.polling);
    ch.options = options;
    ch.prune();
    if (pollingChanged) {
      this.poller.stop(ch);
      if (pollHere && pollingActive(ch.options)) this.poller.start(ch);
    }
  }

  /** The cluster's record of a channel changed (on any node, this one included): this node's copy follows. */
  private recordChanged(channel: string, c: ChannelRecordChange): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.destroyed) return;
    if ('destroyed' in c) return this.destroyHere(ch);
    this.applyOptions(ch, this.optionsOf(channel, c.set), false);
  }

  private async persist(ch: Channel): Promise<void> {
    if (!ch.options.persistent || ch.destroyed) return;
    await this.deps.store.put({ name: ch.name, options: { ...ch.options }, state: ch.state });
  }

  /**
   * Removes a channel at once (REST destroy_channel): members are told UNSUBSCRIBE; the app is not asked.
   * With a shared store, on every node; resolves once the others are told.
   */
  async destroy(ch: Channel): Promise<void> {
    if (ch.destroyed) return;
    this.destroyHere(ch);
    if (this.deps.registry.shared) await this.deps.registry.remove(ch.name);
  }

  /** This node's copy goes: its members are told UNSUBSCRIBE. */
  private destroyHere(ch: Channel): void {
    if (ch.destroyed) return;
    for (const user of [...ch.members.keys()]) {
      const leaveTail = tail('UNSUBSCRIBE', { channel_name: ch.name, user: user.name });
      for (const conn of ch.connectionsOf(user)) conn.send(leaveTail);
      user.channels.delete(ch);
    }
    for (const user of ch.members.keys()) this.deps.presence.remove(ch.name, user.name);
    ch.members.clear();
    ch.destroyed = true;
    this.channels.delete(ch.name);
    this.deps.topics.fanout.remove(ch.name, ch);
    this.poller.stop(ch);
    if (!ch.options.persistent) this.maybeDropState(ch.name);
    if (ch.options.persistent) this.deps.store.delete(ch.name).catch((err: unknown) => this.deps.log.error({ err }, 'channel delete failed'));
  }

  /** REST destroy_channel: with send_hook the application may refuse. */
  async destroyFromApp(ch: Channel, sendHook: boolean): Promise<void> {
    if (sendHook && this.deps.callbacks.enabled) {
      const result = await this.deps.callbacks.call('destroy_channel', { channel_name: ch.name });
      if (!result.ok) throw new ChannelError(result.msg);
    }
    await this.destroy(ch);
  }

  /**
   * An empty, non-persistent channel goes away — once the application agrees: a destroy_channel call
   * that is refused or fails (unreachable app, timeout, bad answer) keeps the channel, as in Hookbox.
   */
  private maybeDestroy(ch: Channel): void {
    if (this.deps.registry.shared) return this.maybeDestroyShared(ch);
    if (ch.members.size > 0 || ch.options.persistent || ch.destroyed) return;
    if (!this.deps.callbacks.enabled) return this.destroyHere(ch);
    void this.deps.callbacks.call('destroy_channel', { channel_name: ch.name }).then((r) => {
      if (!r.ok) this.deps.log.debug({ channel: ch.name, msg: r.msg }, 'channel kept: destroy_channel refused or failed');
      if (!r.ok || ch.members.size > 0 || ch.options.persistent) return;
      this.destroyHere(ch);
    });
  }

  /**
   * A shared store: the channel goes once it is empty cluster-wide (users present through other nodes
   * keep it). Every node that sees it empty may get here at once: the one that takes the turn decides.
   */
  private maybeDestroyShared(ch: Channel): void {
    const empty = (): boolean => !ch.destroyed && ch.members.size === 0 && !ch.options.persistent && this.deps.presence.remote(ch.name).size === 0;
    if (!empty()) return;
    const registry = this.deps.registry;
    void (async () => {
      if (!(await registry.takeTurn(ch.name))) return;
      try {
        if (!empty()) return;
        if (this.deps.callbacks.enabled) {
          const r = await this.deps.callbacks.call('destroy_channel', { channel_name: ch.name });
          if (!r.ok || !empty()) return;
        }
        await this.destroy(ch);
      } finally {
        await registry.endTurn(ch.name);
      }
    })().catch((err: unknown) => this.deps.log.error({ err, channel: ch.name }, 'channel destroy failed'));
  }

  // ---- subscriptions -----------------------------------------------------------------------

  /** A tracking connection (`conn.offsets`) learns the channel's position, when this node knows it. */
  private position(ch: Channel, conn: Conn | undefined): { offset?: number; epoch?: string } {
    if (!conn?.offsets || ch.lastOffset <= 0) return {};
    return ch.epoch !== undefined ? { offset: ch.lastOffset, epoch: ch.epoch } : { offset: ch.lastOffset };
  }

  subscribeArgs(ch: Channel, user: User, conn?: Conn): Record<string, unknown> {
    return {
      ...this.position(ch, conn),
      channel_name: ch.name,
      user: user.name,
      history: ch.currentHistory(),
      history_size: ch.options.history_size,
      state: ch.state,
      presence: ch.options.presenceful ? ch.presence() : [],
    };
  }

  /**
   * A browser's SUBSCRIBE (conn set) or the application's (REST / auto_subscribe). A connection with
   * offsets gets what it missed after `since` (catch-up.ts).
   */
  async subscribe(name: string, user: User, conn: Conn | undefined, auth: boolean, askCreate = true, since?: StreamPosition): Promise<void> {
    const ch = await this.ensureChannel(name, conn ? { conn } : {}, askCreate);
    if (!conn?.offsets) return this.subscribeAs(ch, user, conn, auth);
    ch.catchingUp.set(conn, []);
    try {
      return await this.subscribeAs(ch, user, conn, auth, since);
    } finally {
      ch.catchingUp.delete(conn);
    }
  }

  /** Reads what a tracking connection missed, then (synchronously, at the join) what came meanwhile. */
  private async missedBy(ch: Channel, user: User, conn: Conn, since: StreamPosition | undefined): Promise<() => CatchUp> {
    const missed = await readMissed(this.deps.topics, ch.name, since);
    return () => catchUp(ch, user.name, missed, ch.catchingUp.get(conn) ?? []);
  }

  private async subscribeAs(ch: Channel, user: User, conn: Conn | undefined, auth: boolean, since?: StreamPosition): Promise<void> {
    const name = ch.name;
    const perConn = conn !== undefined && user.options.per_connection_subscriptions;
    if (ch.isMember(user, perConn ? conn : undefined)) {
      // Already in: confirm to the asking connection only (no callback, no presence event).
      if (!conn) return;
      const late = conn.offsets ? await this.missedBy(ch, user, conn, since) : undefined;
      if (conn.state !== 'connected') return;
      subscribedThrough(user, ch, conn);
      this.confirm(ch, conn, this.subscribeArgs(ch, user), late?.());
      return;
    }
    const firstJoin = !ch.members.has(user);
    let answer: Record<string, unknown> = {};
    if (firstJoin && auth && moderates(ch.options, 'subscribe')) {
      const result = await this.callback('subscribe', { channel_name: name, user: user.name }, conn ? { conn } : {});
      if (!result.ok) {
        this.maybeDestroy(ch);
        throw new ChannelError(result.msg);
      }
      answer = result.options;
    }
    // Only a tracking connection waits here: the others join in the same turn as before.
    const late = conn?.offsets ? await this.missedBy(ch, user, conn, since) : undefined;
    if (ch.destroyed) throw new ChannelError(`channel ${name} was destroyed`);
    if (conn && conn.state !== 'connected') return;
    if (firstJoin && (!this.users.has(user.name) || user.conns.size === 0)) return;
    // Hookbox copies the subscribe answer's initial_data (when truthy) into the subscriber's SUBSCRIBE frame.
    const initialData = answer.initial_data ? answer.initial_data : undefined;
    this.join(ch, user, perConn ? conn : undefined, conn && late ? { conn, catchUp: late() } : undefined, initialData);
    if (conn) subscribedThrough(user, ch, conn);
    await this.autoSubscribe(user, answer, conn ? { conn } : {});
  }

  /** The SUBSCRIBE frame to one connection (with its position when it tracks offsets), then the publishes it catches up on. */
  private confirm(ch: Channel, conn: Conn, args: Record<string, unknown>, late: CatchUp | undefined): void {
    conn.frame('SUBSCRIBE', { ...args, ...(late ? late.args : this.position(ch, conn)) });
    for (const f of late?.frames ?? []) conn.send(f);
  }

  private join(ch: Channel, user: User, conn: Conn | undefined, asking?: { conn: Conn; catchUp: CatchUp }, initialData?: unknown): void {
    const existing = ch.members.get(user);
    const args = this.subscribeArgs(ch, user);
    if (initialData !== undefined) args.initial_data = initialData;
    if (existing !== undefined) {
      // Another connection of a per-connection user: only that connection hears of it.
      if (existing && conn) {
        existing.add(conn);
        args.presence = ch.options.presenceful ? ch.presence() : [];
        this.confirm(ch, conn, args, asking?.conn === conn ? asking.catchUp : undefined);
      }
      return;
    }
    // History is taken before the join; presence includes the new member.
    ch.members.set(user, conn ? new Set([conn]) : null);
    user.channels.add(ch);
    this.deps.presence.add(ch.name, user.name);
    if (ch.options.presenceful) args.presence = ch.presence();
    const own = tail('SUBSCRIBE', args);
    for (const c of ch.connectionsOf(user)) {
      if (c === asking?.conn) this.confirm(ch, c, args, asking.catchUp);
      else if (c.offsets) this.confirm(ch, c, args, undefined);
      else c.send(own);
    }
    const time = Date.now();
    // Present through another node already: the others heard of the join back then.
    if (this.remotelyPresent(ch, user.name)) return;
    this.record(ch, ch.entry('SUBSCRIBE', user.name, time));
    if (ch.options.presenceful) {
      const event = tail('SUBSCRIBE', { channel_name: ch.name, user: user.name, datetime: hookboxTime(time) });
      for (const [other, conns] of ch.members) {
        if (other === user) continue;
        for (const c of conns ?? other.conns) c.send(event);
      }
    }
  }

  async unsubscribe(name: string, user: User, conn: Conn | undefined, auth: boolean): Promise<void> {
    const ch = this.channels.get(name);
    const perConn = conn !== undefined && user.options.per_connection_subscriptions;
    if (!ch || !ch.isMember(user, perConn ? conn : undefined)) throw new ChannelError(`not subscribed to ${name}`);
    const conns = ch.members.get(user);
    if (conns && conn && conns.size > 1) {
      conns.delete(conn);
      conn.frame('UNSUBSCRIBE', { channel_name: name, user: user.name, datetime: hookboxTime(Date.now()) });
      return;
    }
    let answer: Record<string, unknown> = {};
    if (auth && moderates(ch.options, 'unsubscribe')) {
      const result = await this.callback('unsubscribe', { channel_name: name, user: user.name }, conn ? { conn } : {});
      if (!result.ok) throw new ChannelError(result.msg);
      answer = result.options;
    }
    if (!ch.members.has(user)) return;
    this.leave(ch, user, conn, 'done');
    await this.autoSubscribe(user, answer, conn ? { conn } : {});
  }

  /**
   * Removes a member and tells everyone concerned; `notify` also tells the application (a connection
   * closed: `closing`, whose cookie the call carries, as Hookbox's carried the last one's).
   */
  private leave(ch: Channel, user: User, closing: Conn | undefined, mode: 'notify' | 'done'): void {
    if (!ch.members.has(user)) return;
    const time = Date.now();
    const event = tail('UNSUBSCRIBE', { channel_name: ch.name, user: user.name, datetime: hookboxTime(time) });
    for (const c of ch.connectionsOf(user)) c.send(event);
    ch.members.delete(user);
    user.channels.delete(ch);
    user.subscribedThrough.delete(ch);
    this.deps.presence.remove(ch.name, user.name);
    // Still present through another node: not a leave for the others (nor for the application, nor history).
    if (this.remotelyPresent(ch, user.name)) return this.maybeDestroy(ch);
    this.record(ch, ch.entry('UNSUBSCRIBE', user.name, time));
    if (ch.options.presenceful) for (const c of ch.connections()) c.send(event);
    // Hookbox asks as for an UNSUBSCRIBE frame, but the user leaves whatever the answer.
    if (mode === 'notify' && moderates(ch.options, 'unsubscribe')) {
      this.notify('unsubscribe', { channel_name: ch.name, user: user.name }, closing?.cookie);
    }
    this.maybeDestroy(ch);
  }

  // ---- presence through other nodes ---------------------------------------------------------

  remoteUsers(channel: string): ReadonlySet<string> {
    return this.deps.presence.remote(channel);
  }

  private remotelyPresent(ch: Channel, name: string): boolean {
    return this.deps.presence.remote(ch.name).has(name);
  }

  /** A user's presence through other nodes began or ended: an event here unless a member here shows it already. */
  private remoteChanged(channel: string, name: string, present: boolean, nodeLost: boolean): void {
    if (!present && nodeLost) this.orphaned(channel);
    if (!present && !this.channels.has(channel)) this.maybeDropState(channel);
    const ch = this.channels.get(channel);
    // The last user left through another node: this node's copy may be what keeps the channel.
    if (!present && !nodeLost && ch) this.maybeDestroy(ch);
    if (!ch || ch.destroyed || !ch.options.presenceful) return;
    const user = this.users.get(name);
    if (user && ch.members.has(user)) return;
    const event = tail(present ? 'SUBSCRIBE' : 'UNSUBSCRIBE', { channel_name: channel, user: name, datetime: hookboxTime(Date.now()) });
    for (const c of ch.connections()) c.send(event);
  }

  /**
   * The last users of a channel went with their node (died or stopped): nobody left there to destroy a
   * non-persistent channel, so every node that sees it empty does (idempotent; the app is not asked).
   */
  private orphaned(channel: string): void {
    const registry = this.deps.registry;
    const empty = (): boolean => (this.channels.get(channel)?.members.size ?? 0) === 0 && this.deps.presence.remote(channel).size === 0;
    if (!registry.shared || !empty()) return;
    void (async () => {
      if (!(await registry.takeTurn(channel))) return;
      try {
        const record = await registry.get(channel);
        if (!record || this.optionsOf(channel, record).persistent || !empty()) return;
        await registry.remove(channel);
      } finally {
        await registry.endTurn(channel);
      }
    })().catch((err: unknown) => this.deps.log.error({ err, channel }, 'orphaned channel removal failed'));
  }

  private async autoSubscribe(user: User, answer: Record<string, unknown>, origin: Origin): Promise<void> {
    const conn = 'conn' in origin ? origin.conn : undefined;
    for (const name of asList(answer.auto_subscribe)) {
      await this.subscribe(name, user, undefined, false).then(
        () => {
          const ch = this.channels.get(name);
          if (conn && ch?.members.has(user)) subscribedThrough(user, ch, conn);
        },
        (err: unknown) => conn?.error(null, `auto_subscribe ${name}: ${messageOf(err)}`),
      );
    }
    for (const name of asList(answer.auto_unsubscribe)) {
      const ch = this.channels.get(name);
      if (ch?.members.has(user)) this.leave(ch, user, undefined, 'done');
    }
  }

  // ---- publishing --------------------------------------------------------------------------

  /**
   * A browser's PUBLISH, subscribed to the channel or not (as in Hookbox): a channel that does not exist
   * yet is made first (the application's create_channel decides); the application may rewrite or narrow it.
   */
  async publishFromConn(conn: Conn, name: string, payload: unknown): Promise<void> {
    // Before the app is asked: a publish the store cannot take is refused whole.
    this.deps.topics.assertWritable();
    const user = conn.user as User;
    const ch = await this.ensureChannel(name, { conn });
    let body = payload;
    if (moderates(ch.options, 'publish') && this.deps.callbacks.enabled) {
      const result = await this.callback('publish', publishFields(ch, user.name, payload), { conn });
      if (!result.ok) throw new ChannelError(result.msg);
      body = rewritten(result.options, payload);
      if (result.options.only_to_sender === true || result.options.only_to_sender === 1) {
        conn.frame('PUBLISH', { channel_name: name, user: ch.options.anonymous ? null : user.name, payload: body, datetime: hookboxTime(Date.now()) });
        await this.autoSubscribe(user, result.options, { conn });
        return;
      }
      await this.publish(ch, body, ch.options.anonymous ? null : user.name, ch.options.reflective ? undefined : conn);
      await this.autoSubscribe(user, result.options, { conn });
      return;
    }
    await this.publish(ch, body, ch.options.anonymous ? null : user.name, ch.options.reflective ? undefined : conn);
  }

  /**
   * The application's publish (REST, polling): `sendHook` asks the publish callback first. A channel
   * that does not exist is Hookbox's error, or (`ifMissing: 'ignore'`, Hookbox's -x and publish_multi)
   * nothing happens; it is never made here.
   */
  async publishFromApp(name: string, payload: unknown, originator: string | null, sendHook: boolean, ifMissing: 'error' | 'ignore' = 'error'): Promise<void> {
    this.deps.topics.assertWritable();
    const ch = await this.findChannel(name);
    if (!ch) {
      if (ifMissing === 'ignore') return;
      throw new ChannelError(`Channel ${name} doesn't exist`);
    }
    let body = payload;
    if (sendHook && this.deps.callbacks.enabled) {
      const result = await this.callback('publish', publishFields(ch, originator ?? '', payload), {});
      if (!result.ok) throw new ChannelError(result.msg);
      body = rewritten(result.options, payload);
    }
    await this.publish(ch, body, ch.options.anonymous ? null : originator);
  }

  /** Commits through the topic core; every consumer of the topic gets it, channel subscribers as PUBLISH. */
  private async publish(ch: Channel, payload: unknown, user: string | null, leaveOut?: Conn): Promise<void> {
    const value = payload === undefined ? null : payload;
    const body = Buffer.from(JSON.stringify(value));
    // This node's fan-out learns the user, payload and left-out connection from `local` (channel-publish.ts).
    await this.deps.topics.publish(
      ch.name,
      { contentType: 'application/json', body, id: randomUUID(), ...(user !== null ? { author: user } : {}) },
      { local: new ChannelPublish(user, value, leaveOut) },
    );
  }

  /** Fan-out hot path: one encoded frame per message, handed to each subscribed connection. */
  delivered(ch: Channel, m: Message): void {
    if (m.epoch !== undefined && m.epoch !== ch.epoch) {
      // The topic log began again (or this is the first message of it here): its offsets start over.
      ch.epoch = m.epoch;
      ch.lastOffset = m.offset;
    } else if (m.offset > ch.lastOffset) ch.lastOffset = m.offset;
    for (const waiting of ch.catchingUp.values()) waiting.push(m);
    const info = publishInfo(m);
    // Every node that has the channel records it; a shared store keeps it once (by offset).
    this.record(ch, ch.entry('PUBLISH', ch.options.anonymous ? null : info.user, m.time, info.payload), m.offset);
    if (ch.members.size === 0) return;
    const frameTail = publishTail(m);
    const leaveOut = channelPublishOf(m)?.leaveOut;
    for (const [user, conns] of ch.members) {
      for (const c of conns ?? user.conns) if (c !== leaveOut) c.send(c.offsets ? publishTailWithOffset(m) : frameTail);
    }
  }

  // ---- private messages and state ----------------------------------------------------------

  /**
   * A private message. From a browser (conn set) the app is asked when the sender's moderated_message
   * is on; from REST only with send_hook (`askApp`).
   */
  async message(sender: User | string, recipientName: string, payload: unknown, conn: Conn | undefined, askApp = false): Promise<void> {
    const senderName = typeof sender === 'string' ? sender : sender.name;
    const senderUser = typeof sender === 'string' ? this.users.get(sender) : sender;
    let body = payload;
    let to = recipientName;
    const ask = (conn ? senderUser?.options.moderated_message === true : askApp) && this.deps.callbacks.enabled;
    if (!ask && !this.userExists(to)) throw new ChannelError(`no such user: ${to}`);
    if (ask) {
      // recipient_exists as Hookbox's form wrote a Python boolean: True / False.
      const fields = { sender: senderName, recipient: to, recipient_exists: this.userExists(to) ? 'True' : 'False', payload: JSON.stringify(payload ?? null) };
      const result = await this.callback('message', fields, conn ? { conn } : {});
      if (!result.ok) throw new ChannelError(result.msg);
      body = rewritten(result.options, payload);
      if (typeof result.options.override_recipient_name === 'string') to = result.options.override_recipient_name;
      if (senderUser) await this.autoSubscribe(senderUser, result.options, conn ? { conn } : {});
    }
    if (!this.userExists(to)) throw new ChannelError(`no such user: ${to}`);
    const args = { sender: senderName, recipient: to, payload: body ?? null, datetime: hookboxTime(Date.now()) };
    const frameTail = tail('MESSAGE', args);
    const targets = new Set(this.users.get(to)?.conns);
    const reflect = senderUser?.options.reflective === true;
    if (reflect) for (const c of senderUser.conns) targets.add(c);
    for (const c of targets) c.send(frameTail);
    // The recipient's (and a reflective sender's) connections on other nodes.
    const elsewhere = [to, ...(reflect && senderName !== to ? [senderName] : [])].filter((name) => this.deps.presence.hasRemoteUser(name));
    this.deps.relay.send(elsewhere, 'MESSAGE', args);
  }

  private userExists(name: string): boolean {
    return this.users.has(name) || this.deps.presence.hasRemoteUser(name);
  }

  /** A frame from another node for users connected here (each connection gets it once), or a kick. */
  private relayed(names: string[], frame: string, args: Record<string, unknown>): void {
    if (frame === 'KICK') {
      for (const name of names) this.kickHere(name, typeof args.reason === 'string' ? args.reason : 'kicked');
      return;
    }
    if (frame !== 'MESSAGE') return;
    const targets = new Set<Conn>();
    for (const name of names) for (const c of this.users.get(name)?.conns ?? []) targets.add(c);
    if (targets.size === 0) return;
    const frameTail = tail(frame, args);
    for (const c of targets) c.send(frameTail);
  }

  /**
   * server_presenceful (Hookbox): the state of such a channel holds `<name>: true|false` for each user
   * in its server_user_presence, whether that user is connected (anywhere). A user came or went.
   */
  private serverPresence(name: string, present: boolean): void {
    for (const ch of this.channels.values()) {
      if (!ch.options.server_presenceful || !ch.options.server_user_presence.includes(name) || ch.state[name] === present) continue;
      this.updateState(ch, { [name]: present }, []).catch((err: unknown) => this.deps.log.error({ err, channel: ch.name }, 'server presence update failed'));
    }
  }

  /** A server_presenceful channel made or changed: its state takes every listed user's presence now. */
  private async syncServerPresence(ch: Channel): Promise<void> {
    if (!ch.options.server_presenceful) return;
    const updates: Record<string, boolean> = {};
    for (const name of ch.options.server_user_presence) {
      const present = this.userExists(name);
      if (ch.state[name] !== present) updates[name] = present;
    }
    if (Object.keys(updates).length > 0) await this.deps.states.change(ch.name, { updates, deletes: [] });
  }

  /** The ids of this node's connected connections (get_server_info, as Hookbox listed them). */
  connectionIds(): string[] {
    return [...this.conns].filter((c) => c.state === 'connected').map((c) => c.id);
  }

  async updateState(ch: Channel, updates: Record<string, unknown>, deletes: string[]): Promise<void> {
    await this.deps.states.change(ch.name, { updates, deletes });
    await this.persist(ch);
  }

  /** A state change committed on any node (this one's included): applied to this node's copy, told to its members. */
  private stateChanged(channel: string, c: StateChange): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.destroyed) return;
    let frameTail: FrameTail;
    if ('replace' in c) {
      const deletes = Object.keys(ch.state).filter((k) => !(k in c.replace));
      ch.state = { ...c.replace };
      frameTail = tail('STATE_UPDATE', { channel_name: ch.name, updates: c.replace, deletes });
    } else {
      Object.assign(ch.state, c.updates);
      const gone = c.deletes.filter((k) => k in ch.state);
      for (const k of gone) delete ch.state[k];
      frameTail = tail('STATE_UPDATE', { channel_name: ch.name, updates: c.updates, deletes: gone });
    }
    for (const conn of ch.connections()) conn.send(frameTail);
  }

  /** Nobody is present on any node and the channel is gone here: its shared state and history go (persistent ones keep them). */
  private maybeDropState(channel: string): void {
    if (!this.shared || this.deps.presence.remote(channel).size > 0) return;
    this.deps.states.drop(channel).catch((err: unknown) => this.deps.log.error({ err, channel }, 'channel state drop failed'));
    this.deps.histories.drop(channel).catch((err: unknown) => this.deps.log.error({ err, channel }, 'channel history drop failed'));
  }

  private get shared(): boolean {
    return this.deps.states.shared || this.deps.histories.shared;
  }

  /** What other nodes keep of a channel (shared stores), for a channel made here. */
  private async sharedData(name: string): Promise<SharedData> {
    const [state, items] = await Promise.all([this.deps.states.read(name), this.deps.histories.read(name)]);
    const data: SharedData = {};
    if (Object.keys(state).length > 0) data.state = state;
    const history = this.toEntries(name, items.map((i) => i.entry));
    if (history.length > 0) data.history = history;
    return data;
  }

  /** Records a history entry through the store; it comes back to historyChanged (from this node or another). */
  private record(ch: Channel, entry: HistoryEntry | undefined, offset?: number): void {
    if (!entry) return;
    const item = { id: this.deps.histories.shared ? randomUUID() : '', entry };
    this.deps.histories.append(ch.name, item, ch.options.history_size, offset).catch((err: unknown) => this.deps.log.error({ err, channel: ch.name }, 'channel history append failed'));
  }

  /** A whole new history (the history option): here at once, and for the other nodes. */
  private async setHistory(ch: Channel, history: HistoryEntry[]): Promise<void> {
    ch.history = history;
    if (this.deps.histories.shared) await this.deps.histories.replace(ch.name, history.map((entry) => ({ id: randomUUID(), entry })));
  }

  private historyChanged(channel: string, c: HistoryChange): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.destroyed) return;
    if ('replace' in c) {
      ch.history = this.toEntries(channel, c.replace.map((i) => i.entry));
      ch.prune();
      return;
    }
    const [entry] = this.toEntries(channel, [c.append.entry]);
    if (entry) ch.append(entry);
  }

  /** Entries as written by this hub; from a shared store they are checked (another version may have written them). */
  private toEntries(channel: string, entries: unknown[]): HistoryEntry[] {
    if (!this.deps.histories.shared) return entries as HistoryEntry[];
    try {
      return toHistory(entries);
    } catch (err) {
      this.deps.log.warn({ err, channel }, 'unreadable shared channel history skipped');
      return [];
    }
  }

  /** A new channel's state given by its creator (create_channel, the app's answer): shared when the store is. */
  private async initialState(ch: Channel, state: Record<string, unknown>): Promise<void> {
    ch.state = state;
    if (this.deps.states.shared) await this.deps.states.change(ch.name, { replace: state });
  }

  setUserOptions(user: User, input: Record<string, unknown>): void {
    user.options = applyUserOptions(user.options, input, true);
  }

  userInfo(user: User): Record<string, unknown> {
    return {
      name: user.name,
      channels: [...user.channels].map((c) => c.name),
      connections: [...user.conns].map((c) => c.id),
      options: user.options,
    };
  }

  // ---- callbacks ---------------------------------------------------------------------------

  /** Asks the application on behalf of a connection; Set-Cookie in its answer goes back as SET_COOKIE frames. */
  private async callback(action: CallbackAction, fields: Record<string, string>, origin: Origin): Promise<CallbackResult> {
    if (!this.deps.callbacks.enabled) return { ok: true, options: {} };
    const who: CallbackOrigin = 'conn' in origin ? { cookie: origin.conn.cookie, realIp: origin.conn.realIp } : { cookie: origin.cookie };
    const result = await this.deps.callbacks.call(action, fields, who);
    if ('conn' in origin && result.setCookie) for (const cookie of result.setCookie) origin.conn.frame('SET_COOKIE', { cookie });
    return result;
  }

  /** A callback that only informs the application; its answer changes nothing. */
  private notify(action: CallbackAction, fields: Record<string, string>, cookie?: string): void {
    if (!this.deps.callbacks.enabled) return;
    void this.deps.callbacks.call(action, fields, { cookie }).then((r) => {
      if (!r.ok) this.deps.log.debug({ action, msg: r.msg }, 'application callback refused or failed');
    });
  }
}

function cookieOf(origin: Origin): string | undefined {
  return 'conn' in origin ? origin.conn.cookie : origin.cookie;
}

/** Hookbox reads `override_payload` only (publish, message). */
function rewritten(options: Record<string, unknown>, payload: unknown): unknown {
  return 'override_payload' in options ? options.override_payload : payload;
}

/** publish callback fields: Hookbox's `originator` (left out on anonymous channels, as Hookbox did) and our `user`. */
function publishFields(ch: Channel, name: string, payload: unknown): Record<string, string> {
  const fields: Record<string, string> = { channel_name: ch.name, user: name, payload: JSON.stringify(payload ?? null) };
  if (!ch.options.anonymous) fields.originator = name;
  return fields;
}

function subscribedThrough(user: User, ch: Channel, conn: Conn): void {
  let conns = user.subscribedThrough.get(ch);
  if (!conns) user.subscribedThrough.set(ch, (conns = new Set()));
  conns.add(conn);
}

function checkName(name: string): void {
  try {
    checkTopicName(name);
  } catch (err) {
    throw new ChannelError(isHookhubError(err) ? err.message.replace(/^topic/, 'channel_name') : 'bad channel_name');
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
