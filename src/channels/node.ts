// This node's part of the browser channels (Hookbox's model on the topic core): a thin façade over
// the modules that do the work, wired here once, in dependency order —
//   context.ts      the stores, the application, the channels/users/connections here
//   data.ts         state, history and the persistent record (through the stores' onChange)
//   delivery.ts     what the core fan-out hands a channel, sent to its members
//   lifecycle.ts    channels made, loaded, given options (and polling), destroyed
//   subscriptions.ts  membership and presence;  connections.ts  connections, users, kicks
//   messaging.ts    publishing and private messages (also what other nodes relay)
// A channel IS a topic: publishes go through topics.publish; subscribers receive through the fan-out.
// (Named a node, not a hub: "hub" is the WebSub hub's, and the server's in the tests' startHub.)
import type { StreamPosition } from '../core/topics.js';
import type { Background } from './background.js';
import { Connections } from './connections.js';
import { ChannelsContext, type ChannelsStores } from './context.js';
import { ChannelData } from './data.js';
import { ChannelDelivery } from './delivery.js';
import { ChannelLifecycle } from './lifecycle.js';
import { Messaging } from './messaging.js';
import type { Channel, Conn, FrameSink, Poller, PollTarget, User } from './model.js';
import { Subscriptions } from './subscriptions.js';

export interface ChannelsNodeDeps extends ChannelsStores {
  /** Makes the poller of the channel option `polling`, which publishes through this node. */
  poller: (target: PollTarget) => Poller;
}

export class ChannelsNode implements PollTarget {
  private readonly ctx: ChannelsContext;
  private readonly poller: Poller;
  private readonly data: ChannelData;
  private readonly lifecycle: ChannelLifecycle;
  private readonly subscriptions: Subscriptions;
  private readonly connections: Connections;
  private readonly messaging: Messaging;

  constructor(deps: ChannelsNodeDeps) {
    const ctx = (this.ctx = new ChannelsContext(deps));
    // The poller calls back into this façade (never while it is being made).
    this.poller = deps.poller(this);
    this.data = new ChannelData(ctx);
    this.lifecycle = new ChannelLifecycle(ctx, this.data, new ChannelDelivery(ctx, this.data), this.poller);
    this.subscriptions = new Subscriptions(ctx, this.data, this.lifecycle);
    this.connections = new Connections(ctx, this.data, this.subscriptions);
    this.messaging = new Messaging(ctx, this.lifecycle, this.subscriptions, this.connections);
    deps.presence.onChange((channel, user, present, nodeLost) => this.subscriptions.remoteChanged(channel, user, present, nodeLost));
    deps.registry.onChange((channel, c) => this.lifecycle.recordChanged(channel, c));
    deps.states.onChange((channel, c) => this.data.stateChanged(channel, c));
    deps.histories.onChange((channel, c) => this.data.historyChanged(channel, c));
    deps.relay.onFrame((users, frame, args) => this.messaging.relayed(users, frame, args));
  }

  /** This node's channels (a copy of each one of a cluster that is in use here). */
  get channels(): ReadonlyMap<string, Channel> {
    return this.ctx.channels;
  }

  /** The users connected to this node. */
  get users(): ReadonlyMap<string, User> {
    return this.ctx.users;
  }

  get connectionCount(): number {
    return this.connections.count;
  }

  /** Loads persistent channels from the store. */
  load(): Promise<void> {
    return this.lifecycle.load();
  }

  /** Stops every channel's polling (the server is closing); resolves once no poll is left publishing. */
  stopPolling(): Promise<void> {
    return this.poller.stopAll();
  }

  /** The work the channels started without waiting for it (store writes, destroys, notifications). */
  get background(): Background {
    return this.ctx.background;
  }

  // ---- connections and users ---------------------------------------------------------------

  open(sink: FrameSink, headerCookie: string | undefined, transport: string, origin?: string, realIp?: string): Conn {
    return this.connections.open(sink, headerCookie, transport, origin, realIp);
  }

  connect(conn: Conn, args: Record<string, unknown>): Promise<void> {
    return this.connections.connect(conn, args);
  }

  closed(conn: Conn): void {
    this.connections.closed(conn);
  }

  kick(name: string, reason?: string): boolean {
    return this.connections.kick(name, reason);
  }

  connectionIds(): string[] {
    return this.connections.connectionIds();
  }

  setUserOptions(user: User, input: Record<string, unknown>): void {
    this.connections.setUserOptions(user, input);
  }

  userInfo(user: User): Record<string, unknown> {
    return this.connections.userInfo(user);
  }

  // ---- channels ----------------------------------------------------------------------------

  findChannel(name: string): Promise<Channel | undefined> {
    return this.lifecycle.findChannel(name);
  }

  createChannel(name: string, input: Record<string, unknown>): Promise<Channel> {
    return this.lifecycle.createChannel(name, input);
  }

  setChannelOptions(ch: Channel, input: Record<string, unknown>, strict = true): Promise<void> {
    return this.lifecycle.setChannelOptions(ch, input, strict);
  }

  destroyFromApp(ch: Channel, sendHook: boolean): Promise<void> {
    return this.lifecycle.destroyFromApp(ch, sendHook);
  }

  updateState(ch: Channel, updates: Record<string, unknown>, deletes: string[]): Promise<void> {
    return this.data.updateState(ch, updates, deletes);
  }

  // ---- membership and messaging ------------------------------------------------------------

  subscribe(name: string, user: User, conn: Conn | undefined, auth: boolean, askCreate = true, since?: StreamPosition): Promise<void> {
    return this.subscriptions.subscribe(name, user, conn, auth, askCreate, since);
  }

  unsubscribe(name: string, user: User, conn: Conn | undefined, auth: boolean): Promise<void> {
    return this.subscriptions.unsubscribe(name, user, conn, auth);
  }

  publishFromConn(conn: Conn, name: string, payload: unknown): Promise<void> {
    return this.messaging.publishFromConn(conn, name, payload);
  }

  publishFromApp(name: string, payload: unknown, originator: string | null, sendHook: boolean, ifMissing: 'error' | 'ignore' = 'error'): Promise<void> {
    return this.messaging.publishFromApp(name, payload, originator, sendHook, ifMissing);
  }

  message(sender: User | string, recipientName: string, payload: unknown, conn: Conn | undefined, askApp = false): Promise<void> {
    return this.messaging.message(sender, recipientName, payload, conn, askApp);
  }
}
