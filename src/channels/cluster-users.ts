// REST calls on a user (get_user_info, set_user_options, subscribe, unsubscribe) wherever the user is
// connected: this node's connections, and those on other nodes, asked over the user relay. Presence
// says which live nodes have the user; a node that does not answer in time is taken as gone.
import { isHookhubError } from '../core/errors.js';
import type { ChannelPresence } from '../store/contracts/channel-presence.js';
import type { UserAnswer, UserRelay, UserRequest } from '../store/contracts/user-relay.js';
import type { ChannelsNode } from './node.js';
import { ChannelError } from './channel-error.js';
import { applyUserOptions, defaultUserOptions } from './options.js';

/** How long another node may take to answer a request that asks nothing of the application. */
const INFO_TIMEOUT_MS = 2000;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export class ClusterUsers {
  /** `actTimeoutMs` bounds a request that may ask the application (subscribe): above the callback timeout. */
  constructor(
    private readonly node: ChannelsNode,
    private readonly presence: ChannelPresence,
    private readonly relay: UserRelay,
    private readonly actTimeoutMs: number,
  ) {
    relay.onAsk((request) => this.answer(request));
  }

  /** Connected here or through another live node. */
  exists(name: string): boolean {
    return this.node.users.has(name) || this.presence.hasRemoteUser(name);
  }

  /** `{name, channels, connections, options}` over every node: channels and connections of all of them. */
  async info(name: string): Promise<Record<string, unknown>> {
    const here = this.node.users.get(name);
    const answers = await Promise.all(this.presence.userNodes(name).map((node) => this.relay.ask(node, { op: 'info', user: name }, INFO_TIMEOUT_MS)));
    const parts = [...(here ? [this.node.userInfo(here)] : []), ...answers.flatMap((a) => (a?.ok ? [a.result] : []))];
    const first = parts[0];
    if (!first) throw new ChannelError(`no such user: ${name}`);
    const channels = new Set<string>();
    const connections: string[] = [];
    for (const part of parts) {
      for (const c of strings(part.channels)) channels.add(c);
      connections.push(...strings(part.connections));
    }
    // set_user_options reaches every node, so the copies agree; this node's is the one it acts on.
    return { name, channels: [...channels], connections, options: first.options };
  }

  async setOptions(name: string, input: Record<string, unknown>): Promise<void> {
    // Refused here, before any node changes anything.
    applyUserOptions(defaultUserOptions(), input, true);
    await this.everywhere(name, () => ({ op: 'set_options', user: name, options: input }), false, false);
  }

  async subscribe(channel: string, name: string, auth: boolean): Promise<void> {
    await this.everywhere(name, (ask) => ({ op: 'subscribe', user: name, channel, auth: ask }), auth, true);
  }

  async unsubscribe(channel: string, name: string, auth: boolean): Promise<void> {
    await this.everywhere(name, (ask) => ({ op: 'unsubscribe', user: name, channel, auth: ask }), auth, false);
  }

  /**
   * Carries a request out on every node the user is connected through, this one first. Only the first
   * node that does it asks the application (`auth`): the join or leave is one for the cluster. With
   * `stopOnRefusal`, a refusal before any node did it is the answer; otherwise the first refusal is,
   * when no node did it.
   */
  private async everywhere(name: string, request: (auth: boolean) => UserRequest, auth: boolean, stopOnRefusal: boolean): Promise<void> {
    const nodes: Array<string | undefined> = this.presence.userNodes(name);
    if (this.node.users.has(name)) nodes.unshift(undefined);
    let done = false;
    let refusal: string | undefined;
    for (const node of nodes) {
      const req = request(auth && !done);
      const answer = node === undefined ? await this.answer(req) : await this.relay.ask(node, req, this.actTimeoutMs);
      if (!answer) continue; // gone meanwhile
      if (answer.ok) {
        done = true;
        continue;
      }
      if (stopOnRefusal && !done) throw new ChannelError(answer.msg);
      refusal ??= answer.msg;
    }
    if (!done) throw new ChannelError(refusal ?? `no such user: ${name}`);
  }

  /** Does a request for a user connected here (asked by this node or another). */
  private async answer(request: UserRequest): Promise<UserAnswer> {
    const user = this.node.users.get(request.user);
    if (!user) return { ok: false, msg: `no such user: ${request.user}` };
    try {
      switch (request.op) {
        case 'info':
          return { ok: true, result: this.node.userInfo(user) };
        case 'set_options':
          this.node.setUserOptions(user, request.options);
          break;
        case 'subscribe':
          // Hookbox asks create_channel for a channel that does not exist, send_hook or not.
          await this.node.subscribe(request.channel, user, undefined, request.auth, true);
          break;
        case 'unsubscribe':
          await this.node.unsubscribe(request.channel, user, undefined, request.auth);
          break;
      }
      return { ok: true, result: {} };
    } catch (err) {
      if (err instanceof ChannelError || isHookhubError(err)) return { ok: false, msg: (err as Error).message };
      throw err;
    }
  }
}
