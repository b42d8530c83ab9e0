// Who is in which channel: SUBSCRIBE and UNSUBSCRIBE (a browser's, or the application's through REST
// and auto_subscribe), presence events here and through other nodes, and the catch-up a connection
// that tracks offsets gets when it (re)subscribes.
import type { StreamPosition } from '../core/topics.js';
import { CatchingUp, type CatchUp } from './catch-up.js';
import { ChannelError } from './channel-error.js';
import { messageOf, originOf, type ChannelsContext, type Origin } from './context.js';
import type { ChannelData } from './data.js';
import { hookboxTime } from './hookbox-time.js';
import type { ChannelLifecycle } from './lifecycle.js';
import type { Channel, Conn, User } from './model.js';
import { moderates } from './options.js';
import { tail } from './protocol.js';

const asList = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];

export class Subscriptions {
  constructor(
    private readonly ctx: ChannelsContext,
    private readonly data: ChannelData,
    private readonly lifecycle: ChannelLifecycle,
  ) {}

  private get deps() {
    return this.ctx.deps;
  }

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
   * offsets gets what it missed after `since` (catch-up.ts), through core's replay-then-live.
   */
  async subscribe(name: string, user: User, conn: Conn | undefined, auth: boolean, askCreate = true, since?: StreamPosition): Promise<void> {
    const ch = await this.lifecycle.ensureChannel(name, originOf(conn), askCreate);
    const recovery: Recovery = {};
    try {
      return await this.subscribeAs(ch, user, conn, auth, since, recovery);
    } finally {
      recovery.release?.();
      recovery.catchingUp?.close();
    }
  }

  /**
   * Opens a tracking connection's recovery; its frames are taken synchronously at the join. Until then the
   * channel's live publishes skip the connection (a user already in the channel hears them on every
   * connection): the recovery collects them, and sends each once, after the SUBSCRIBE frame.
   */
  private async missedBy(ch: Channel, user: User, conn: Conn, since: StreamPosition | undefined, recovery: Recovery): Promise<() => CatchUp> {
    ch.catchingUp.add(conn);
    recovery.release = () => ch.catchingUp.delete(conn);
    const catchingUp = (recovery.catchingUp = await CatchingUp.open(this.deps.topics, ch.name, since));
    return () => {
      ch.catchingUp.delete(conn);
      return catchingUp.take(ch, user.name);
    };
  }

  private async subscribeAs(ch: Channel, user: User, conn: Conn | undefined, auth: boolean, since: StreamPosition | undefined, recovery: Recovery): Promise<void> {
    const name = ch.name;
    const perConn = conn !== undefined && user.options.per_connection_subscriptions;
    if (ch.isMember(user, perConn ? conn : undefined)) {
      // Already in: confirm to the asking connection only (no callback, no presence event).
      if (!conn) return;
      const late = conn.offsets ? await this.missedBy(ch, user, conn, since, recovery) : undefined;
      if (conn.state !== 'connected') return;
      subscribedThrough(user, ch, conn);
      this.confirm(ch, conn, this.subscribeArgs(ch, user), late?.());
      return;
    }
    const firstJoin = !ch.members.has(user);
    let answer: Record<string, unknown> = {};
    if (firstJoin && auth && moderates(ch.options, 'subscribe')) {
      const result = await this.ctx.callback('subscribe', { channel_name: name, user: user.name }, originOf(conn));
      if (!result.ok) {
        this.lifecycle.maybeDestroy(ch);
        throw new ChannelError(result.msg);
      }
      answer = result.options;
    }
    // Only a tracking connection waits here: the others join in the same turn as before.
    const late = conn?.offsets ? await this.missedBy(ch, user, conn, since, recovery) : undefined;
    if (ch.destroyed) throw new ChannelError(`channel ${name} was destroyed`);
    if (conn && conn.state !== 'connected') return;
    if (firstJoin && (!this.ctx.users.has(user.name) || user.conns.size === 0)) return;
    // Hookbox copies the subscribe answer's initial_data (when truthy) into the subscriber's SUBSCRIBE frame.
    const initialData = answer.initial_data ? answer.initial_data : undefined;
    this.join(ch, user, perConn ? conn : undefined, conn && late ? { conn, catchUp: late() } : undefined, initialData);
    if (conn) subscribedThrough(user, ch, conn);
    await this.autoSubscribe(user, answer, originOf(conn));
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
        ch.addMemberConn(user, conn);
        args.presence = ch.options.presenceful ? ch.presence() : [];
        this.confirm(ch, conn, args, asking?.conn === conn ? asking.catchUp : undefined);
      } else if (existing === null && asking) {
        // The user joined through another connection while this one was catching up: its recovery still follows.
        args.presence = ch.options.presenceful ? ch.presence() : [];
        this.confirm(ch, asking.conn, args, asking.catchUp);
      }
      return;
    }
    // History is taken before the join; presence includes the new member.
    ch.addMember(user, conn);
    this.deps.presence.add(ch.name, user.name);
    if (ch.options.presenceful) args.presence = ch.presence();
    const own = tail('SUBSCRIBE', args);
    for (const c of ch.connectionsOf(user)) {
      if (c === asking?.conn) this.confirm(ch, c, args, asking.catchUp);
      // Another connection of the user catching up here: its own SUBSCRIBE frame comes with its recovery.
      else if (ch.catchingUp.has(c)) continue;
      else if (c.offsets) this.confirm(ch, c, args, undefined);
      else c.send(own);
    }
    const time = Date.now();
    // Present through another node already: the others heard of the join back then.
    if (this.ctx.remotelyPresent(ch, user.name)) return;
    this.data.record(ch, ch.entry('SUBSCRIBE', user.name, time));
    if (ch.options.presenceful) {
      const event = tail('SUBSCRIBE', { channel_name: ch.name, user: user.name, datetime: hookboxTime(time) });
      for (const [other, conns] of ch.members) {
        if (other === user) continue;
        for (const c of conns ?? other.conns) c.send(event);
      }
    }
  }

  async unsubscribe(name: string, user: User, conn: Conn | undefined, auth: boolean): Promise<void> {
    const ch = this.ctx.channels.get(name);
    const perConn = conn !== undefined && user.options.per_connection_subscriptions;
    if (!ch || !ch.isMember(user, perConn ? conn : undefined)) throw new ChannelError(`not subscribed to ${name}`);
    const conns = ch.members.get(user);
    if (conns && conn && conns.size > 1) {
      ch.removeMemberConn(user, conn);
      conn.frame('UNSUBSCRIBE', { channel_name: name, user: user.name, datetime: hookboxTime(Date.now()) });
      return;
    }
    let answer: Record<string, unknown> = {};
    if (auth && moderates(ch.options, 'unsubscribe')) {
      const result = await this.ctx.callback('unsubscribe', { channel_name: name, user: user.name }, originOf(conn));
      if (!result.ok) throw new ChannelError(result.msg);
      answer = result.options;
    }
    if (!ch.members.has(user)) return;
    this.leave(ch, user, conn, 'done');
    await this.autoSubscribe(user, answer, originOf(conn));
  }

  /**
   * Removes a member and tells everyone concerned; `notify` also tells the application (a connection
   * closed: `closing`, whose cookie the call carries, as Hookbox's carried the last one's).
   */
  leave(ch: Channel, user: User, closing: Conn | undefined, mode: 'notify' | 'done'): void {
    if (!ch.members.has(user)) return;
    const time = Date.now();
    const event = tail('UNSUBSCRIBE', { channel_name: ch.name, user: user.name, datetime: hookboxTime(time) });
    for (const c of ch.connectionsOf(user)) c.send(event);
    ch.removeMember(user);
    user.subscribedThrough.delete(ch);
    this.deps.presence.remove(ch.name, user.name);
    // Still present through another node: not a leave for the others (nor for the application, nor history).
    if (this.ctx.remotelyPresent(ch, user.name)) return this.lifecycle.maybeDestroy(ch);
    this.data.record(ch, ch.entry('UNSUBSCRIBE', user.name, time));
    if (ch.options.presenceful) for (const c of ch.connections()) c.send(event);
    // Hookbox asks as for an UNSUBSCRIBE frame, but the user leaves whatever the answer.
    if (mode === 'notify' && moderates(ch.options, 'unsubscribe')) {
      this.ctx.notify('unsubscribe', { channel_name: ch.name, user: user.name }, closing?.cookie);
    }
    this.lifecycle.maybeDestroy(ch);
  }

  /** A user's presence through other nodes began or ended: an event here unless a member here shows it already. */
  remoteChanged(channel: string, name: string, present: boolean, nodeLost: boolean): void {
    if (!present && nodeLost) this.lifecycle.orphaned(channel);
    if (!present && !this.ctx.channels.has(channel)) this.data.maybeDrop(channel);
    const ch = this.ctx.channels.get(channel);
    // The last user left through another node: this node's copy may be what keeps the channel.
    if (!present && !nodeLost && ch) this.lifecycle.maybeDestroy(ch);
    if (!ch || ch.destroyed || !ch.options.presenceful) return;
    const user = this.ctx.users.get(name);
    if (user && ch.members.has(user)) return;
    const event = tail(present ? 'SUBSCRIBE' : 'UNSUBSCRIBE', { channel_name: channel, user: name, datetime: hookboxTime(Date.now()) });
    for (const c of ch.connections()) c.send(event);
  }

  /** An application's answer (connect, subscribe, publish, message …) may put the user in channels or take them out. */
  async autoSubscribe(user: User, answer: Record<string, unknown>, origin: Origin): Promise<void> {
    const conn = 'conn' in origin ? origin.conn : undefined;
    for (const name of asList(answer.auto_subscribe)) {
      await this.subscribe(name, user, undefined, false).then(
        () => {
          const ch = this.ctx.channels.get(name);
          if (conn && ch?.members.has(user)) subscribedThrough(user, ch, conn);
        },
        (err: unknown) => conn?.error(null, `auto_subscribe ${name}: ${messageOf(err)}`),
      );
    }
    for (const name of asList(answer.auto_unsubscribe)) {
      const ch = this.ctx.channels.get(name);
      if (ch?.members.has(user)) this.leave(ch, user, undefined, 'done');
    }
  }
}

/** The recovery a subscription opened, if any: closed whatever becomes of the subscription. */
interface Recovery {
  catchingUp?: CatchingUp;
  /** Lets the channel's live publishes reach the connection again (idempotent). */
  release?: () => void;
}

function subscribedThrough(user: User, ch: Channel, conn: Conn): void {
  let conns = user.subscribedThrough.get(ch);
  if (!conns) user.subscribedThrough.set(ch, (conns = new Set()));
  conns.add(conn);
}
