// This node's Pusher connections, and what spans them: subscriptions through the topic core, presence and
// subscription counts through the roster (every node), lifecycle events to the webhook sink (once per
// cluster-wide change), and the ChannelDirectory the HTTP API reads.
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_JSON_DEPTH } from '../core/json-input.js';
import type { Topics } from '../core/topics.js';
import type { PusherMembers, PusherRoster, RosterChange } from '../store/contracts/pusher-roster.js';
import type { SessionFactory, SessionSink, TransportSession } from '../transports/ws.js';
import { channelOf, envelope, topicOf, type ChannelCounts, type ChannelDirectory, type PusherApp, type PusherWebhookSink } from './contracts.js';
import { PusherConnection, type ConnectionHost, type Resume } from './connection.js';
import { ERROR, errorFrame, frame, kindOf } from './protocol.js';
import type { Subscription } from './subscription.js';

/** How long a stopping node waits to hear its own last roster changes back (Redis pub/sub). */
const SETTLE_TIMEOUT_MS = 2000;

/** Messages a subscription may gather while its history is replayed. */
const MAX_PENDING_DURING_REPLAY = 10_000;

export interface PusherNodeOptions {
  apps: readonly PusherApp[];
  topics: Topics;
  roster: PusherRoster;
  /** Subscriptions per connection (--max-subscriptions). */
  maxSubscriptions: number;
  /** --max-json-depth: the deepest JSON a frame (or the JSON text inside one) may hold. */
  maxJsonDepth?: number;
  /** Seconds of silence after which pusher-js pings (sent in connection_established). */
  activityTimeout?: number;
  /** Where lifecycle events go (the app's webhooks); none: they are not reported. */
  webhooks?: PusherWebhookSink;
  log?: { warn(details: Record<string, unknown>, msg: string): void };
}

export class PusherNode implements ChannelDirectory, ConnectionHost {
  readonly maxSubscriptions: number;
  readonly activityTimeout: number;
  readonly maxJsonDepth: number;
  private readonly byKey = new Map<string, PusherApp>();
  private readonly byId = new Map<string, PusherApp>();
  private readonly connections = new Set<PusherConnection>();
  /** Presence subscriptions on this node, by topic (they hear member changes). */
  private readonly presence = new Map<string, Set<Subscription>>();
  /** Presence topic → user → this node's subscriptions of that user. */
  private readonly local = new Map<string, Map<string, Set<Subscription>>>();
  /** Subscriptions here that hear pusher_internal:subscription_count (apps with subscriptionCount), by topic. */
  private readonly countWatchers = new Map<string, Set<Subscription>>();
  /** Presence joins and leaves of one topic run one at a time on this node. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly topics: Topics;
  private readonly roster: PusherRoster;
  private readonly webhooks: PusherWebhookSink | undefined;
  /** Roster writes of subscriptions that ended, not yet made: a stopping node waits for them. */
  private readonly writes = new Set<Promise<unknown>>();
  /** Signals this node waits to hear back (see settled). */
  private readonly barriers = new Map<string, () => void>();

  constructor(private readonly options: PusherNodeOptions) {
    for (const app of options.apps) {
      this.byKey.set(app.key, app);
      this.byId.set(app.id, app);
    }
    this.topics = options.topics;
    this.roster = options.roster;
    this.webhooks = options.webhooks;
    this.maxSubscriptions = options.maxSubscriptions;
    this.activityTimeout = options.activityTimeout ?? 120;
    this.maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.roster.onChange((change, mine) => this.changed(change, mine));
    this.roster.onSignal((note) => this.signalled(note));
  }

  /** The sessions of /app/<key>: an unknown key gets pusher:error 4001 and the connection closes. */
  sessions(key: string): SessionFactory {
    return {
      open: (sink: SessionSink): TransportSession => {
        const app = this.byKey.get(key);
        if (!app) {
          sink.send(errorFrame(ERROR.appUnknown, `no app with key ${key.slice(0, 100)}`));
          sink.close(ERROR.appUnknown, 'app does not exist');
          return { receive: () => {}, closed: () => {} };
        }
        const conn = new PusherConnection(this, app, sink);
        this.connections.add(conn);
        return conn;
      },
    };
  }

  forget(conn: PusherConnection): void {
    this.connections.delete(conn);
  }

  /**
   * Makes the subscription live: presence join, the roster's count, subscription_succeeded, then the topic
   * from where it stood (or from the client's `since`), then member changes heard meanwhile.
   */
  async attach(sub: Subscription, resume: Resume | undefined): Promise<void> {
    let members: PusherMembers | undefined;
    if (sub.member) {
      let subs = this.presence.get(sub.topic);
      if (!subs) this.presence.set(sub.topic, (subs = new Set()));
      subs.add(sub);
      members = await this.join(sub);
    }
    const from = resume?.since;
    const bounds = from === undefined ? await this.topics.bounds(sub.topic) : undefined;
    if (sub.ended) return;
    await this.roster.count(sub.topic, 1);
    sub.counted = true;
    if (sub.ended) {
      // Unsubscribed (or gone) while counting: detach ran before it could lower the count.
      void this.roster.count(sub.topic, -1).catch((err: unknown) => this.warn(err, 'pusher: subscription count not lowered'));
      return;
    }
    const extra: Record<string, unknown> = {};
    if (sub.withOffsets) {
      const head = bounds ?? (await this.topics.bounds(sub.topic));
      extra.offset = head.last;
      if (head.epoch) extra.epoch = head.epoch;
    }
    const data = members ? { presence: presenceData(members) } : {};
    sub.send(frame('pusher_internal:subscription_succeeded', data, sub.channel, extra));
    sub.succeeded = true;
    if (this.countsWatched(sub)) {
      let watchers = this.countWatchers.get(sub.topic);
      if (!watchers) this.countWatchers.set(sub.topic, (watchers = new Set()));
      watchers.add(sub);
      this.countChanged(sub.topic);
    }
    if (members) sub.membersSent(members.seq);
    // From the head read above (nothing published since is missed) or from where the client stands.
    const since = from !== undefined ? { offset: from, ...(resume?.epoch ? { epoch: resume.epoch } : {}) } : { offset: bounds?.last ?? 0, ...(bounds?.epoch ? { epoch: bounds.epoch } : {}) };
    const stream = await this.topics.open({ topics: [sub.topic], since: new Map([[sub.topic, since]]), maxPending: MAX_PENDING_DURING_REPLAY }, sub);
    if (sub.ended) this.topics.close([sub.topic], stream);
    else sub.stream = stream;
  }

  /** Ends the subscription here and in the roster (each part once). */
  detach(sub: Subscription): void {
    if (sub.ended) return;
    sub.ended = true;
    if (sub.stream) this.topics.close([sub.topic], sub.stream);
    const watchers = this.countWatchers.get(sub.topic);
    if (watchers?.delete(sub) && watchers.size === 0) this.countWatchers.delete(sub.topic);
    const uncount = async (): Promise<void> => {
      if (!sub.counted) return;
      try {
        await this.roster.count(sub.topic, -1);
        if (this.countsWatched(sub)) this.countChanged(sub.topic);
      } catch (err) {
        this.warn(err, 'pusher: subscription count not lowered');
      }
    };
    if (!sub.member) return this.track(uncount());
    const subs = this.presence.get(sub.topic);
    subs?.delete(sub);
    if (subs?.size === 0) this.presence.delete(sub.topic);
    // The member goes before the channel does (member_removed, then channel_vacated).
    this.track(this.leave(sub)
      .catch((err: unknown) => this.warn(err, 'pusher: presence leave failed'))
      .then(uncount));
  }

  private track(write: Promise<void>): void {
    const tracked = write.finally(() => this.writes.delete(tracked));
    this.writes.add(tracked);
  }

  // ---- stopping -----------------------------------------------------------------------------

  /**
   * First step of a clean stop, before the connections close: when another node is alive, this node's
   * subscriptions and members become its to remove (it reports them, with its webhooks' delay, so a client
   * that reconnects there meanwhile is never seen leaving). Otherwise this node reports them itself (settled).
   */
  async handOver(): Promise<boolean> {
    return this.roster.handOver();
  }

  /**
   * After the connections closed: their roster writes are made, and the changes they caused have been heard
   * here (so they reached the webhook sink), before the sink is flushed and the dispatcher stops. The roster
   * tells changes in order, so hearing a signal sent after the writes means every change before it was heard.
   */
  async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<void>((resolve) => {
      this.barriers.set(id, resolve);
      timer = setTimeout(resolve, SETTLE_TIMEOUT_MS);
    });
    try {
      await this.roster.signal(JSON.stringify({ op: 'barrier', id }));
      await heard;
    } catch (err) {
      this.warn(err, 'pusher: last roster changes not confirmed before stopping');
    } finally {
      clearTimeout(timer);
      this.barriers.delete(id);
    }
  }

  async clientEvent(conn: PusherConnection, sub: Subscription, event: string, data: string): Promise<void> {
    const userId = sub.member?.user;
    await this.topics.publish(sub.topic, envelope({ event, data, socketId: conn.socketId, ...(userId !== undefined ? { userId } : {}) }));
    this.webhooks?.emit(conn.app, { name: 'client_event', channel: sub.channel, event, data, socket_id: conn.socketId, ...(userId !== undefined ? { user_id: userId } : {}) });
  }

  // ---- subscription_count (Pusher's optional event for non-presence channels) ----------------

  private countsWatched(sub: Subscription): boolean {
    return sub.kind !== 'presence' && this.byId.get(sub.topic.slice(0, sub.topic.indexOf('/')))?.subscriptionCount === true;
  }

  /** This node changed the topic's count: every node re-reads it and tells its subscribers (signal `count`). */
  private countChanged(topic: string): void {
    void this.roster.signal(JSON.stringify({ op: 'count', topic })).catch((err: unknown) => this.warn(err, 'pusher: subscription_count not signalled'));
  }

  /**
   * Reads the count after the change that was signalled (so never older than it) and sends it to this node's
   * subscribers that were told another number. Reads go in order on one connection: the last one wins.
   */
  private async tellCount(topic: string): Promise<void> {
    if (!this.countWatchers.has(topic)) return;
    const n = await this.roster.subscriptions(topic);
    for (const sub of this.countWatchers.get(topic) ?? []) {
      if (sub.toldCount === n || sub.ended) continue;
      sub.toldCount = n;
      sub.send(frame('pusher_internal:subscription_count', { subscription_count: n }, sub.channel));
    }
  }

  // ---- presence on this node ----------------------------------------------------------------

  private serial<T>(topic: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(topic) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    this.chains.set(topic, tail);
    void tail.then(() => {
      if (this.chains.get(topic) === tail) this.chains.delete(topic);
    });
    return run;
  }

  /** The user's first subscription here joins the roster; the others read the members as they are. */
  private join(sub: Subscription): Promise<PusherMembers> {
    const member = sub.member as NonNullable<Subscription['member']>;
    return this.serial(sub.topic, async () => {
      let users = this.local.get(sub.topic);
      if (!users) this.local.set(sub.topic, (users = new Map()));
      const subs = users.get(member.user);
      if (subs) {
        subs.add(sub);
        return this.roster.members(sub.topic);
      }
      users.set(member.user, new Set([sub]));
      return this.roster.join(sub.topic, member.user, member.info);
    });
  }

  private leave(sub: Subscription): Promise<void> {
    const member = sub.member as NonNullable<Subscription['member']>;
    return this.serial(sub.topic, async () => {
      const users = this.local.get(sub.topic);
      const subs = users?.get(member.user);
      if (!users || !subs?.delete(sub) || subs.size > 0) return;
      users.delete(member.user);
      if (users.size === 0) this.local.delete(sub.topic);
      await this.roster.leave(sub.topic, member.user);
    });
  }

  /** A change anywhere: presence subscribers here hear member changes; the node that made it tells the webhooks. */
  private changed(change: RosterChange, mine: boolean): void {
    // A node's subscriptions went (or came back): subscription_count watchers here hear the new count.
    if (change.kind === 'recounted') return void this.tellCount(change.topic).catch((err: unknown) => this.warn(err, 'pusher: subscription_count not read'));
    if (change.kind === 'member_added' || change.kind === 'member_removed') {
      for (const sub of this.presence.get(change.topic) ?? []) sub.memberChange(change);
    }
    if (!mine || !this.webhooks) return;
    const found = this.appOf(change.topic);
    if (!found) return;
    const [app, channel] = found;
    switch (change.kind) {
      case 'occupied':
      case 'vacated':
        return this.webhooks.emit(app, { name: change.kind === 'occupied' ? 'channel_occupied' : 'channel_vacated', channel });
      case 'member_added':
      case 'member_removed':
        return this.webhooks.emit(app, { name: change.kind, channel, user_id: change.user });
    }
  }

  private appOf(topic: string): [PusherApp, string] | undefined {
    const app = this.byId.get(topic.slice(0, topic.indexOf('/')));
    const channel = app ? channelOf(app, topic) : undefined;
    return app && channel !== undefined ? [app, channel] : undefined;
  }

  private signalled(note: string): void {
    let v: { op?: unknown; app?: unknown; user?: unknown; topic?: unknown; id?: unknown };
    try {
      v = JSON.parse(note) as typeof v;
    } catch {
      return;
    }
    if (v.op === 'barrier' && typeof v.id === 'string') return this.barriers.get(v.id)?.();
    if (v.op === 'count' && typeof v.topic === 'string') {
      void this.tellCount(v.topic).catch((err: unknown) => this.warn(err, 'pusher: subscription_count not read'));
      return;
    }
    if (v.op !== 'terminate' || typeof v.app !== 'string' || typeof v.user !== 'string') return;
    for (const conn of [...this.connections]) {
      if (conn.app.id === v.app && conn.userId === v.user) conn.fail(ERROR.unauthorized, 'connection terminated');
    }
  }

  private warn(err: unknown, msg: string): void {
    this.options.log?.warn({ err }, msg);
  }

  // ---- ChannelDirectory ---------------------------------------------------------------------

  /** Every occupied channel of the app with its counts, in one read of the roster (one round trip on Redis). */
  async channels(app: PusherApp, prefix = ''): Promise<ChannelCounts[]> {
    const out: ChannelCounts[] = [];
    for (const t of await this.roster.occupiedCounts(topicOf(app, prefix))) {
      const name = channelOf(app, t.topic);
      if (name === undefined) continue;
      const counts: ChannelCounts = { name, subscriptionCount: t.subscriptions };
      if (kindOf(name) === 'presence') counts.userCount = t.members;
      out.push(counts);
    }
    return out;
  }

  channel(app: PusherApp, name: string): Promise<ChannelCounts> {
    return this.counts(topicOf(app, name), name);
  }

  async users(app: PusherApp, channel: string): Promise<string[]> {
    return [...(await this.roster.members(topicOf(app, channel))).users.keys()];
  }

  async terminateUser(app: PusherApp, userId: string): Promise<void> {
    await this.roster.signal(JSON.stringify({ op: 'terminate', app: app.id, user: userId }));
  }

  private async counts(topic: string, name: string): Promise<ChannelCounts> {
    const counts: ChannelCounts = { name, subscriptionCount: await this.roster.subscriptions(topic) };
    if (kindOf(name) === 'presence') counts.userCount = (await this.roster.members(topic)).users.size;
    return counts;
  }
}

/** subscription_succeeded's presence data: {ids, hash, count}. */
function presenceData(members: PusherMembers): { ids: string[]; hash: Record<string, unknown>; count: number } {
  // No prototype: a user id such as __proto__ is a key like any other.
  const hash = Object.create(null) as Record<string, unknown>;
  for (const [user, info] of members.users) {
    try {
      hash[user] = JSON.parse(info) as unknown;
    } catch {
      hash[user] = null;
    }
  }
  const ids = [...members.users.keys()];
  return { ids, hash, count: ids.length };
}
