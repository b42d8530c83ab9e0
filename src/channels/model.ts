// The channels' model: connections, users (one per name, several connections) and channels (a
// channel IS a topic: it follows the topic live through core (Topics.openLive) and hands each message
// back to its owner).
import { randomUUID } from 'node:crypto';
import type { Message } from '../core/message.js';
import type { StreamOutput, TopicStream } from '../core/topic-stream.js';
import { defaultUserOptions, type ChannelOptions, type HistoryEntry, type HistoryKind, type UserOptions } from './options.js';
import { hookboxTime } from './hookbox-time.js';
import { lineFramedTail } from './hookbox-wire.js';
import { tail, type FrameTail } from './protocol.js';

/** What a channel needs from the node that owns it (delivery.ts). */
export interface ChannelOwner {
  delivered(ch: Channel, m: Message): void;
  /** Users present in the channel through other nodes only. */
  remoteUsers(channel: string): ReadonlySet<string>;
}

/** Where a connection's frames go (a WebSocket or the HTTP fallback); batching and limits are its job. */
export interface FrameSink {
  send(frame: Buffer): void;
  /**
   * Sends `[frameId` + `tail` (+ `suffix`) as one frame: a sink that frames its bytes itself (the
   * WebSocket) writes the shared tail after the connection's own few bytes, without copying it.
   */
  sendNumbered?(frameId: number, tail: Buffer, suffix?: Buffer): void;
  close(code: number, reason: string): void;
}

/** Channel option `polling` (polling.ts): given to the channels when they are made, see PollTarget. */
export interface Poller {
  /** Refuses options whose polling may not run (the SSRF guard): throws ChannelError. */
  check(options: ChannelOptions): void;
  start(channel: Channel): void;
  stop(channel: Channel): void;
  /** Resolves once no poll is under way. */
  stopAll(): Promise<void>;
}

/** What polling asks of the channels: the options and the publish an answer carries. */
export interface PollTarget {
  setChannelOptions(ch: Channel, input: Record<string, unknown>, strict: boolean): Promise<void>;
  publishFromApp(name: string, payload: unknown, originator: string | null, sendHook: boolean): Promise<void>;
}

export class Conn {
  readonly id = randomUUID().replace(/-/g, '');
  state: 'initial' | 'connecting' | 'connected' | 'closed' = 'initial';
  user: User | undefined;
  /** Cookie for callbacks: CONNECT's cookie, else the Cookie header of the upgrade request. */
  cookie: string | undefined;
  /**
   * CONNECT {offsets: true} (Hookhub's client): PUBLISH frames carry the topic offset and SUBSCRIBE frames
   * the channel's position, so that a resubscription can ask for exactly what it missed (SUBSCRIBE {since}).
   */
  offsets = false;
  /** Frames from this client end with a line break (Hookbox's own hookbox.js): see hookbox-wire.ts. */
  lineFramed = false;
  private frameId = 0;

  constructor(
    readonly sink: FrameSink,
    readonly headerCookie: string | undefined,
    readonly transport: string,
    /** The browser's Origin header (absent for non-browser clients), told to the connect callback. */
    readonly origin?: string,
    /** The browser's address, told to the application as X-Real-IP (Hookbox). */
    readonly realIp?: string,
  ) {}

  /** Puts this connection's frame number in front of a shared, already encoded frame tail. */
  send(t: FrameTail): void {
    if (this.state === 'closed') return;
    const sink = this.sink;
    if (sink.sendNumbered) {
      if (this.lineFramed) {
        const [body, end] = lineFramedTail(t);
        sink.sendNumbered(++this.frameId, body as Buffer, end);
      } else sink.sendNumbered(++this.frameId, t);
      return;
    }
    const id = `[${++this.frameId}`;
    if (this.lineFramed) {
      sink.send(Buffer.concat([Buffer.from(id, 'latin1'), ...lineFramedTail(t)]));
      return;
    }
    const frame = Buffer.allocUnsafe(id.length + t.length);
    frame.write(id, 0, 'latin1');
    t.copy(frame, id.length);
    sink.send(frame);
  }

  frame(name: string, args: unknown): void {
    this.send(tail(name, args));
  }

  error(id: unknown, msg: string): void {
    this.frame('ERROR', { id: id ?? null, reference_id: id ?? null, msg });
  }
}

export class User {
  private readonly connSet = new Set<Conn>();
  private readonly channelSet = new Set<Channel>();
  options: UserOptions = defaultUserOptions();
  /** The connections whose SUBSCRIBE (or connect answer) put the user in each channel: global_unsubscriptions. */
  readonly subscribedThrough = new Map<Channel, Set<Conn>>();
  constructor(readonly name: string) {}

  /** The user's connections: changed through addConn and removeConn, which the channels it is in follow. */
  get conns(): ReadonlySet<Conn> {
    return this.connSet;
  }

  /** The channels the user is a member of: changed by the channels themselves (Channel.addMember, removeMember). */
  get channels(): ReadonlySet<Channel> {
    return this.channelSet;
  }

  addConn(conn: Conn): void {
    if (this.connSet.has(conn)) return;
    this.connSet.add(conn);
    for (const ch of this.channelSet) ch.receiversChanged();
  }

  removeConn(conn: Conn): void {
    if (!this.connSet.delete(conn)) return;
    for (const ch of this.channelSet) ch.receiversChanged();
  }

  /** Called by Channel only, as the user joins or leaves it. */
  joined(ch: Channel): void {
    this.channelSet.add(ch);
  }

  left(ch: Channel): void {
    this.channelSet.delete(ch);
  }
}

export class Channel implements StreamOutput {
  history: HistoryEntry[] = [];
  state: Record<string, unknown> = {};
  /** The offset of the last message delivered to this channel on this node (0: none since it was made here). */
  lastOffset = 0;
  /** The epoch of the topic log `lastOffset` counts in (core/epoch), once a message told this node. */
  epoch: string | undefined;
  /** The channel's live subscription to its topic, while it exists on this node (lifecycle.ts). */
  stream: TopicStream | undefined;
  /** Member users; a Set holds the connections subscribed when the user subscribes per connection (null: all of the user's). */
  private readonly memberMap = new Map<User, Set<Conn> | null>();
  /**
   * The members' connections as one list, in membership order, made when first asked after a change: the
   * fan-out walks it for every message (one array, where the members were a Map and a Set per user). A
   * change makes a new list, never edits this one, so a walk under way keeps the list it began with.
   */
  private receiverList: Conn[] | undefined;
  /**
   * Tracking connections whose recovery (SUBSCRIBE {since}) is open here: until it is taken, their
   * recovery holds the channel's publishes for them, so the membership skips them.
   */
  readonly catchingUp = new Set<Conn>();
  destroyed = false;

  constructor(readonly name: string, public options: ChannelOptions, private readonly owner: ChannelOwner) {}

  message(m: Message): void {
    this.owner.delivered(this, m);
  }

  // The channel keeps no position of its own to correct: ChannelDelivery follows the epoch from the
  // messages, and a connection that tracks offsets learns of a gap or a reset when it resubscribes.
  gap(): void {}
  reset(): void {}
  /** Never: a live stream holds nothing back (only a replay does). */
  overflow(): void {}

  /** Changed only through addMember, addMemberConn, removeMemberConn, removeMember and clearMembers. */
  get members(): ReadonlyMap<User, ReadonlySet<Conn> | null> {
    return this.memberMap;
  }

  /** The user joins with all its connections (conn undefined) or with this one connection. */
  addMember(user: User, conn: Conn | undefined): void {
    this.memberMap.set(user, conn ? new Set([conn]) : null);
    user.joined(this);
    this.receiverList = undefined;
  }

  /** One more connection of a member that subscribes per connection. */
  addMemberConn(user: User, conn: Conn): void {
    const conns = this.memberMap.get(user);
    if (!conns || conns.has(conn)) return;
    conns.add(conn);
    this.receiverList = undefined;
  }

  /** One connection of a member that subscribes per connection leaves (the user stays, even with none). */
  removeMemberConn(user: User, conn: Conn): void {
    if (this.memberMap.get(user)?.delete(conn)) this.receiverList = undefined;
  }

  removeMember(user: User): void {
    if (!this.memberMap.delete(user)) return;
    user.left(this);
    this.receiverList = undefined;
  }

  clearMembers(): void {
    for (const user of this.memberMap.keys()) user.left(this);
    this.memberMap.clear();
    this.receiverList = undefined;
  }

  /** A member's connections changed (User.addConn, removeConn). */
  receiversChanged(): void {
    this.receiverList = undefined;
  }

  /** Every member's connections, each once (a snapshot: see receiverList). */
  receivers(): readonly Conn[] {
    let list = this.receiverList;
    if (list === undefined) {
      list = [];
      for (const [user, conns] of this.memberMap) for (const c of conns ?? user.conns) list.push(c);
      this.receiverList = list;
    }
    return list;
  }

  connections(): Iterable<Conn> {
    return this.receivers();
  }

  connectionsOf(user: User): Iterable<Conn> {
    const conns = this.members.get(user);
    return conns ?? user.conns;
  }

  isMember(user: User, conn: Conn | undefined): boolean {
    const conns = this.members.get(user);
    if (conns === undefined) return false;
    return conns === null || conn === undefined || conns.has(conn);
  }

  /** Members here, then users present only through other nodes (shared stores). */
  presence(): string[] {
    const names = [...this.members.keys()].map((u) => u.name);
    const remote = this.owner.remoteUsers(this.name);
    if (remote.size === 0) return names;
    const here = new Set(names);
    for (const name of remote) if (!here.has(name)) names.push(name);
    return names;
  }

  /** The history entry to record, or undefined when this channel's options keep none of this kind. */
  entry(kind: HistoryKind, user: string | null, time: number, payload?: unknown): HistoryEntry | undefined {
    if (this.options.history_size <= 0) return undefined;
    if (kind !== 'PUBLISH' && this.options.history_publish_only) return undefined;
    const args: HistoryEntry[1] = { user, datetime: hookboxTime(time) };
    if (kind === 'PUBLISH') args.payload = payload;
    return [kind, args];
  }

  append(entry: HistoryEntry): void {
    this.history.push(entry);
    this.prune();
  }

  prune(): void {
    const size = this.options.history_size;
    if (this.history.length > size) this.history.splice(0, this.history.length - size);
    if (this.options.history_duration > 0 && this.history.length > 0) {
      const oldest = Date.now() - this.options.history_duration * 1000;
      const keep = this.history.findIndex(([, a]) => Date.parse(a.datetime) >= oldest);
      this.history.splice(0, keep < 0 ? this.history.length : keep);
    }
  }

  currentHistory(): HistoryEntry[] {
    this.prune();
    return this.history.slice();
  }

  info(): Record<string, unknown> {
    return { name: this.name, options: this.options, history: this.currentHistory(), presence: this.presence(), state: this.state };
  }
}
