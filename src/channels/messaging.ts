// Publishing to a channel (a browser's PUBLISH, the application's through REST and polling) and private
// messages between users, here and through other nodes (the user relay, which also carries kicks).
import { randomUUID } from 'node:crypto';
import { ChannelError } from './channel-error.js';
import { ChannelPublish } from './channel-publish.js';
import { originOf, type ChannelsContext } from './context.js';
import type { Connections } from './connections.js';
import { hookboxTime } from './hookbox-time.js';
import type { ChannelLifecycle } from './lifecycle.js';
import type { Channel, Conn, User } from './model.js';
import { moderates } from './options.js';
import { tail } from './protocol.js';
import type { Subscriptions } from './subscriptions.js';

export class Messaging {
  constructor(
    private readonly ctx: ChannelsContext,
    private readonly lifecycle: ChannelLifecycle,
    private readonly subscriptions: Subscriptions,
    private readonly connections: Connections,
  ) {}

  private get deps() {
    return this.ctx.deps;
  }

  /**
   * A browser's PUBLISH, subscribed to the channel or not (as in Hookbox): a channel that does not exist
   * yet is made first (the application's create_channel decides); the application may rewrite or narrow it.
   */
  async publishFromConn(conn: Conn, name: string, payload: unknown): Promise<void> {
    // Before the app is asked: a publish the store cannot take is refused whole.
    this.deps.topics.assertWritable();
    const user = conn.user as User;
    const ch = await this.lifecycle.ensureChannel(name, { conn });
    let body = payload;
    if (moderates(ch.options, 'publish') && this.deps.callbacks.enabled) {
      const result = await this.ctx.callback('publish', publishFields(ch, user.name, payload), { conn });
      if (!result.ok) throw new ChannelError(result.msg);
      body = rewritten(result.options, payload);
      if (result.options.only_to_sender === true || result.options.only_to_sender === 1) {
        conn.frame('PUBLISH', { channel_name: name, user: ch.options.anonymous ? null : user.name, payload: body, datetime: hookboxTime(Date.now()) });
        await this.subscriptions.autoSubscribe(user, result.options, { conn });
        return;
      }
      await this.publish(ch, body, ch.options.anonymous ? null : user.name, ch.options.reflective ? undefined : conn);
      await this.subscriptions.autoSubscribe(user, result.options, { conn });
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
    const ch = await this.lifecycle.findChannel(name);
    if (!ch) {
      if (ifMissing === 'ignore') return;
      throw new ChannelError(`Channel ${name} doesn't exist`);
    }
    let body = payload;
    if (sendHook && this.deps.callbacks.enabled) {
      const result = await this.ctx.callback('publish', publishFields(ch, originator ?? '', payload), {});
      if (!result.ok) throw new ChannelError(result.msg);
      body = rewritten(result.options, payload);
    }
    await this.publish(ch, body, ch.options.anonymous ? null : originator);
  }

  /** Commits through the topic core; every consumer of the topic gets it, channel subscribers as PUBLISH (delivery.ts). */
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

  /**
   * A private message. From a browser (conn set) the app is asked when the sender's moderated_message
   * is on; from REST only with send_hook (`askApp`).
   */
  async message(sender: User | string, recipientName: string, payload: unknown, conn: Conn | undefined, askApp = false): Promise<void> {
    const senderName = typeof sender === 'string' ? sender : sender.name;
    const senderUser = typeof sender === 'string' ? this.ctx.users.get(sender) : sender;
    let body = payload;
    let to = recipientName;
    const ask = (conn ? senderUser?.options.moderated_message === true : askApp) && this.deps.callbacks.enabled;
    if (!ask && !this.ctx.userExists(to)) throw new ChannelError(`no such user: ${to}`);
    if (ask) {
      // recipient_exists as Hookbox's form wrote a Python boolean: True / False.
      const fields = { sender: senderName, recipient: to, recipient_exists: this.ctx.userExists(to) ? 'True' : 'False', payload: JSON.stringify(payload ?? null) };
      const result = await this.ctx.callback('message', fields, originOf(conn));
      if (!result.ok) throw new ChannelError(result.msg);
      body = rewritten(result.options, payload);
      if (typeof result.options.override_recipient_name === 'string') to = result.options.override_recipient_name;
      if (senderUser) await this.subscriptions.autoSubscribe(senderUser, result.options, originOf(conn));
    }
    if (!this.ctx.userExists(to)) throw new ChannelError(`no such user: ${to}`);
    const args = { sender: senderName, recipient: to, payload: body ?? null, datetime: hookboxTime(Date.now()) };
    const frameTail = tail('MESSAGE', args);
    const targets = new Set(this.ctx.users.get(to)?.conns);
    const reflect = senderUser?.options.reflective === true;
    if (reflect) for (const c of senderUser.conns) targets.add(c);
    for (const c of targets) c.send(frameTail);
    // The recipient's (and a reflective sender's) connections on other nodes.
    const elsewhere = [to, ...(reflect && senderName !== to ? [senderName] : [])].filter((name) => this.deps.presence.hasRemoteUser(name));
    this.deps.relay.send(elsewhere, 'MESSAGE', args);
  }

  /** A frame from another node for users connected here (each connection gets it once), or a kick. */
  relayed(names: string[], frame: string, args: Record<string, unknown>): void {
    if (frame === 'KICK') {
      for (const name of names) this.connections.kickHere(name, typeof args.reason === 'string' ? args.reason : 'kicked');
      return;
    }
    if (frame !== 'MESSAGE') return;
    const targets = new Set<Conn>();
    for (const name of names) for (const c of this.ctx.users.get(name)?.conns ?? []) targets.add(c);
    if (targets.size === 0) return;
    const frameTail = tail(frame, args);
    for (const c of targets) c.send(frameTail);
  }
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
