// Connections and users on this node: CONNECT (the application's connect callback names the user),
// a connection going away (and the user with its last one), kicks (on other nodes too), user options.
import { randomUUID } from 'node:crypto';
import { ChannelError } from './channel-error.js';
import type { ChannelsContext } from './context.js';
import type { ChannelData } from './data.js';
import { payloadValue } from './hookbox-wire.js';
import { Conn, User, type FrameSink } from './model.js';
import { applyUserOptions, defaultUserOptions, type UserOptions } from './options.js';
import type { Subscriptions } from './subscriptions.js';

const CLOSE_POLICY = 1008;

export class Connections {
  private guestCounter = 0;

  constructor(
    private readonly ctx: ChannelsContext,
    private readonly data: ChannelData,
    private readonly subscriptions: Subscriptions,
  ) {}

  private get deps() {
    return this.ctx.deps;
  }

  get count(): number {
    return this.ctx.conns.size;
  }

  open(sink: FrameSink, headerCookie: string | undefined, transport: string, origin?: string, realIp?: string): Conn {
    const conn = new Conn(sink, headerCookie, transport, origin, realIp);
    this.ctx.conns.add(conn);
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
      const result = await this.ctx.callback('connect', fields, { conn });
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
    let user = this.ctx.users.get(name);
    // The rest of the connect answer may carry user options (Hookbox); other keys are ignored.
    let options: UserOptions;
    try {
      options = applyUserOptions(user?.options ?? defaultUserOptions(), answer, false);
    } catch (err) {
      conn.state = 'initial';
      throw err;
    }
    if (!user) {
      const elsewhere = this.ctx.userExists(name);
      this.ctx.users.set(name, (user = new User(name)));
      this.deps.presence.addUser(name);
      if (!elsewhere) this.data.serverPresence(name, true);
    }
    user.options = options;
    user.addConn(conn);
    conn.user = user;
    conn.state = 'connected';
    // Hookbox's CONNECTED echoes the payload as the client sent it, unless the application overrides it.
    const echoed = 'override_payload' in answer ? answer.override_payload : (args.payload ?? (conn.lineFramed ? 'null' : null));
    conn.frame('CONNECTED', { name, payload: echoed });
    // A new connection of a user already in channels learns about them.
    for (const ch of user.channels) if (ch.members.get(user) === null) conn.frame('SUBSCRIBE', this.subscriptions.subscribeArgs(ch, user, conn));
    await this.subscriptions.autoSubscribe(user, answer, { conn });
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
    this.ctx.conns.delete(conn);
    const user = conn.user;
    if (!user || !wasConnected) return;
    user.removeConn(conn);
    for (const ch of [...user.channels]) {
      const through = user.subscribedThrough.get(ch);
      const wasThrough = through?.delete(conn) === true;
      const conns = ch.members.get(user);
      if (conns) {
        ch.removeMemberConn(user, conn);
        if (conns.size === 0) this.subscriptions.leave(ch, user, conn, 'notify');
      } else if (wasThrough && user.options.global_unsubscriptions) {
        // Hookbox: the connection that subscribed goes, and takes the user's other connections out with it.
        this.subscriptions.leave(ch, user, conn, 'notify');
      }
    }
    if (user.conns.size > 0) return;
    // The unsubscribe and disconnect calls carry the cookie of the user's last connection (Hookbox).
    for (const ch of [...user.channels]) this.subscriptions.leave(ch, user, conn, 'notify');
    this.ctx.users.delete(user.name);
    this.deps.presence.removeUser(user.name);
    this.ctx.notify('disconnect', { name: user.name }, conn.cookie);
    if (!this.ctx.userExists(user.name)) this.data.serverPresence(user.name, false);
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

  /** This node's connections of the user (a kick here, or relayed from another node). */
  kickHere(name: string, reason: string): boolean {
    const user = this.ctx.users.get(name);
    if (!user) return false;
    // The user is gone at once (leave events, disconnect callback), not when each close handshake ends.
    for (const conn of [...user.conns]) {
      conn.sink.close(CLOSE_POLICY, reason);
      this.closed(conn);
    }
    return true;
  }

  /** The ids of this node's connected connections (get_server_info, as Hookbox listed them). */
  connectionIds(): string[] {
    return [...this.ctx.conns].filter((c) => c.state === 'connected').map((c) => c.id);
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
}
