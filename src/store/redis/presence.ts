// Browser-channel presence across nodes. Each node keeps the (channel, user) pairs it holds in a set of
// its own, `<prefix>presence:node:<id>`, which expires with the node's lease (node-leases.ts) unless the
// node renews it. Changes are PUBLISHed on `<prefix>presence`; every node mirrors the live nodes' pairs in
// memory, so the hub reads presence without a round trip. A node whose lease passed (killed) is dropped by
// the others (Centrifugo's way); one that stops cleanly says so ('gone') and is dropped at once.
// Connected users are pairs too, under the channel name '' (no channel has it).
// Cluster-wide membership changes (occupied, member added …) are counted apart, in membership.ts: each is
// told once, by the node that made it or by the survivor that reaped a dead node's members.
import type { ChainableCommander, Redis } from 'ioredis';
import type { ChannelPresence, MembershipChange } from '../contracts/channel-presence.js';
import { RedisMembership } from './membership.js';
import type { LeasePart, NodeLeases } from './node-leases.js';

type Note = { node: string; op: 'add' | 'remove'; entry: string } | { node: string; op: 'sync' | 'gone' };

type Listener = (channel: string, user: string, present: boolean, nodeLost: boolean) => void;
type MembershipListener = (change: MembershipChange) => void;

const NONE: ReadonlySet<string> = new Set();

/** Membership changes kept for a listener that is not there yet (the node is starting), at most. */
const UNTOLD_MAX = 10_000;

/** The pseudo-channel of connected users. */
const USERS = '';

const entryOf = (channel: string, user: string): string => JSON.stringify([channel, user]);

function parseEntry(entry: string): [string, string] | undefined {
  const v: unknown = JSON.parse(entry);
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' ? [v[0], v[1]] : undefined;
}

function parseNote(text: string): Note | undefined {
  const v = JSON.parse(text) as Partial<Record<string, unknown>>;
  if (typeof v.node !== 'string') return undefined;
  if ((v.op === 'add' || v.op === 'remove') && typeof v.entry === 'string') return { node: v.node, op: v.op, entry: v.entry };
  if (v.op === 'sync' || v.op === 'gone') return { node: v.node, op: v.op };
  return undefined;
}

export class RedisPresence implements ChannelPresence, LeasePart {
  readonly node: string;
  /** Failed Redis calls and unreadable notes (never fatal: the next refresh or resync repairs). */
  errors = 0;
  lastError: Error | undefined;
  private readonly pubsub: string;
  private readonly ttlMs: number;
  /** Entries this node holds. */
  private readonly own = new Set<string>();
  /** Other nodes' entries, as last heard. */
  private readonly others = new Map<string, Set<string>>();
  /** channel → user → how many other nodes hold it. */
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly listeners: Listener[] = [];
  private readonly membershipListeners: MembershipListener[] = [];
  /** Changes made (a dead node reaped) before anyone listened: told to the first listener. */
  private untold: MembershipChange[] = [];
  private readonly membership: RedisMembership;
  /** Membership steps in flight (flush waits for them). */
  private readonly pending = new Set<Promise<void>>();
  /** A membership step failed: the held set may differ from `own`; sync it on the next refresh. */
  private membershipDirty = false;
  /** Mirror updates run one at a time, in the order heard. */
  private chain: Promise<void> = Promise.resolve();
  /** Our set in Redis may differ from `own` (a write failed): rewrite it on the next refresh. */
  private dirty = false;
  /** The mirror may have missed notes (pub/sub reconnect, failed read): read everything again. */
  private stale = false;
  private started = false;
  private closed = false;

  constructor(private readonly client: Redis, private readonly subscriber: Redis, private readonly prefix: string, private readonly leases: NodeLeases) {
    this.node = leases.node;
    this.pubsub = `${prefix}presence`;
    this.ttlMs = leases.timing.leaseMs;
    this.membership = new RedisMembership(client, prefix, leases.key);
  }

  private setKey(node: string): string {
    return `${this.prefix}presence:node:${node}`;
  }

  /** Subscribes to changes and reads the other nodes' presence (the leases renew and reap from then on). */
  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.pubsub) return;
      let note: Note | undefined;
      try {
        note = parseNote(text);
      } catch (err) {
        this.noteError(err);
        return;
      }
      if (!note) return this.noteError(new Error(`unreadable presence note: ${text.slice(0, 100)}`));
      if (note.node === this.node) return;
      const heard = note;
      void this.enqueue(() => this.apply(heard));
    });
    // Notes published while the subscriber was away are lost: read everything again.
    this.subscriber.on('ready', () => {
      if (this.started && !this.closed) void this.enqueue(() => this.resync());
    });
    await this.subscriber.subscribe(this.pubsub);
    await this.enqueue(() => this.resync(), true);
    this.started = true;
  }

  /** Stops writing; the leases' close ends the lease, then left() says so. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    // Our held entries stay: the survivors take them out (and tell) once they hear we are gone.
    await this.flush();
  }

  /** Leaving politely (our lease has ended): the others drop our users now rather than at their next step. */
  async left(): Promise<void> {
    await this.exec(this.client.multi().del(this.setKey(this.node)).publish(this.pubsub, JSON.stringify({ node: this.node, op: 'gone' })));
  }

  add(channel: string, user: string): void {
    const entry = entryOf(channel, user);
    if (this.own.has(entry) || this.closed) return;
    this.own.add(entry);
    const key = this.setKey(this.node);
    void this.exec(this.client.multi().sadd(key, entry).pexpire(key, this.ttlMs).publish(this.pubsub, JSON.stringify({ node: this.node, op: 'add', entry })));
    if (channel !== USERS) void this.step(() => this.membership.add(this.node, [entry]));
  }

  remove(channel: string, user: string): void {
    const entry = entryOf(channel, user);
    if (!this.own.delete(entry) || this.closed) return;
    void this.exec(this.client.multi().srem(this.setKey(this.node), entry).publish(this.pubsub, JSON.stringify({ node: this.node, op: 'remove', entry })));
    if (channel !== USERS) void this.step(() => this.membership.remove(this.node, [entry]));
  }

  addUser(user: string): void {
    this.add(USERS, user);
  }

  removeUser(user: string): void {
    this.remove(USERS, user);
  }

  hasRemoteUser(user: string): boolean {
    return this.counts.get(USERS)?.has(user) ?? false;
  }

  userNodes(user: string): string[] {
    if (!this.hasRemoteUser(user)) return [];
    const entry = entryOf(USERS, user);
    return [...this.others].filter(([, entries]) => entries.has(entry)).map(([node]) => node);
  }

  async othersAlive(): Promise<boolean> {
    return (await this.leases.liveOthers()).length > 0;
  }

  remote(channel: string): ReadonlySet<string> {
    const users = this.counts.get(channel);
    return users ? new Set(users.keys()) : NONE;
  }

  onChange(fn: Listener): void {
    this.listeners.push(fn);
  }

  onMembership(fn: MembershipListener): void {
    this.membershipListeners.push(fn);
    const early = this.untold;
    this.untold = [];
    if (this.membershipListeners.length === 1) this.tellMembership(early);
  }

  async flush(): Promise<void> {
    for (let rounds = 0; this.pending.size > 0 && rounds < 100; rounds++) await Promise.all(this.pending);
  }

  // ---- cluster-wide membership -------------------------------------------------------------

  /** Runs a membership step and tells what it changed; a failure marks the held set for syncing. */
  private step(run: () => Promise<MembershipChange[]>): Promise<void> {
    return this.track(run().then((changes) => this.tellMembership(changes), (err: unknown) => {
      this.membershipDirty = true;
      this.noteError(err);
    }));
  }

  /** Keeps a membership step in `pending` until it settles (flush waits for it). */
  private track(work: Promise<void>): Promise<void> {
    const done = work.finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }

  private tellMembership(changes: readonly MembershipChange[]): void {
    if (this.membershipListeners.length === 0) {
      this.untold.push(...changes.slice(0, UNTOLD_MAX - this.untold.length));
      return;
    }
    for (const change of changes) {
      for (const fn of this.membershipListeners) {
        try {
          fn(change);
        } catch (err) {
          this.noteError(err);
        }
      }
    }
  }

  /** Our channel entries, as the held set should have them. */
  private ownChannelEntries(): string[] {
    return [...this.own].filter((e) => this.pair(e)?.[0] !== USERS);
  }

  // ---- the leases' part ---------------------------------------------------------------------

  /** Takes a dead node's members out (once, whichever node gets there first) and tells what changed. */
  reap(node: string): Promise<void> {
    return this.track(this.membership.reap(node).then((changes) => this.tellMembership(changes)));
  }

  /** Nodes that hold members and are not alive (say, gone from the leases while a write of theirs landed). */
  async strays(live: ReadonlySet<string>): Promise<string[]> {
    return (await this.membership.holders()).filter((node) => node !== this.node && !live.has(node));
  }

  /** Renews our set with the lease, repairs it, and drops the nodes that are no longer alive from the mirror. */
  async renewed(lapsed: boolean): Promise<void> {
    if (this.closed) return;
    await this.refresh(lapsed);
    await this.enqueue(() => (this.stale ? this.resync() : this.sweep()));
  }

  // ---- our own entry -----------------------------------------------------------------------

  /** Runs a MULTI; a failure marks our set for rewriting. */
  private async exec(multi: ChainableCommander): Promise<Array<[Error | null, unknown]> | undefined> {
    try {
      const results = (await multi.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0];
      return results;
    } catch (err) {
      this.dirty = true;
      this.noteError(err);
      return undefined;
    }
  }

  /** Extends our set's expiry; rewrites it when Redis lost it, a write failed, or our lease had lapsed. */
  private async refresh(lapsed: boolean): Promise<void> {
    const key = this.setKey(this.node);
    const results = await this.exec(this.client.multi().pexpire(key, this.ttlMs));
    if (!results) return;
    const setLost = results[0]?.[1] === 0 && this.own.size > 0;
    if (lapsed || setLost || this.membershipDirty) {
      // Taken for dead (our entries reaped), Redis lost them, or a step failed: hold exactly what we have.
      this.membershipDirty = false;
      void this.step(() => this.membership.sync(this.node, this.ownChannelEntries()));
    }
    if (!lapsed && !setLost && !this.dirty) return;
    this.dirty = false;
    const multi = this.client.multi().del(key);
    if (this.own.size > 0) multi.sadd(key, ...this.own).pexpire(key, this.ttlMs);
    multi.publish(this.pubsub, JSON.stringify({ node: this.node, op: 'sync' }));
    await this.exec(multi);
  }

  // ---- the mirror of the other nodes -------------------------------------------------------

  private enqueue(fn: () => Promise<void>, rethrow = false): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch((err: unknown) => {
      this.stale = true;
      this.noteError(err);
    });
    return rethrow ? run : this.chain;
  }

  private async apply(note: Note): Promise<void> {
    switch (note.op) {
      case 'add':
        return this.addEntry(note.node, note.entry);
      case 'remove':
        return this.removeEntry(note.node, note.entry);
      case 'gone':
        this.drop(note.node);
        return this.step(() => this.membership.reap(note.node));
      case 'sync':
        return this.replace(note.node, new Set(await this.client.smembers(this.setKey(note.node))));
    }
  }

  /**
   * Drops the nodes whose lease passed (their sets expire on their own; the leases reap their members).
   * Live nodes are read here, in the mirror's turn: a node that registered since the renewal is kept.
   */
  private async sweep(): Promise<void> {
    const live = new Set(await this.leases.liveOthers());
    for (const node of [...this.others.keys()]) if (!live.has(node)) this.drop(node);
  }

  /** Reads every live node's entries and brings the mirror in line, telling the listeners what changed. */
  private async resync(): Promise<void> {
    this.stale = false;
    const live = await this.leases.liveOthers();
    const sets = await Promise.all(live.map((n) => this.client.smembers(this.setKey(n))));
    const next = new Map(live.map((n, i) => [n, new Set(sets[i])]));
    for (const node of [...this.others.keys()]) if (!next.has(node)) this.drop(node);
    for (const [node, entries] of next) this.replace(node, entries);
  }

  private replace(node: string, entries: ReadonlySet<string>): void {
    const known = this.others.get(node);
    if (known) for (const e of [...known]) if (!entries.has(e)) this.removeEntry(node, e);
    for (const e of entries) this.addEntry(node, e);
  }

  private drop(node: string): void {
    for (const e of [...(this.others.get(node) ?? [])]) this.removeEntry(node, e, true);
    this.others.delete(node);
  }

  private addEntry(node: string, entry: string): void {
    let entries = this.others.get(node);
    if (!entries) this.others.set(node, (entries = new Set()));
    if (entries.has(entry)) return;
    const pair = this.pair(entry);
    if (!pair) return;
    entries.add(entry);
    const [channel, user] = pair;
    let users = this.counts.get(channel);
    if (!users) this.counts.set(channel, (users = new Map()));
    const n = (users.get(user) ?? 0) + 1;
    users.set(user, n);
    if (n === 1 && channel !== USERS) this.emit(channel, user, true, false);
  }

  private removeEntry(node: string, entry: string, nodeLost = false): void {
    const entries = this.others.get(node);
    if (!entries?.delete(entry)) return;
    const pair = this.pair(entry);
    if (!pair) return;
    const [channel, user] = pair;
    const users = this.counts.get(channel);
    const n = (users?.get(user) ?? 1) - 1;
    if (n > 0) {
      users?.set(user, n);
      return;
    }
    users?.delete(user);
    if (users?.size === 0) this.counts.delete(channel);
    if (channel !== USERS) this.emit(channel, user, false, nodeLost);
  }

  private pair(entry: string): [string, string] | undefined {
    try {
      const pair = parseEntry(entry);
      if (!pair) this.noteError(new Error(`unreadable presence entry: ${entry.slice(0, 100)}`));
      return pair;
    } catch (err) {
      this.noteError(err);
      return undefined;
    }
  }

  private emit(channel: string, user: string, present: boolean, nodeLost: boolean): void {
    for (const fn of this.listeners) fn(channel, user, present, nodeLost);
  }

  private noteError(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err : new Error(String(err));
  }
}
