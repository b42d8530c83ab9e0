// What the admin console reads and does with browser channels: counts, pages of channels and users as
// JSON, one channel's details, its options, kicks and the recent application callbacks. The console sees
// only this (through channels/index.ts), never ChannelsNode or its model.
import { HookhubError } from '../core/errors.js';
import { pageOf, type Page, type PageQuery } from '../http/paging.js';
import type { AppCallbacks } from './callbacks.js';
import type { ChannelsNode } from './node.js';
import type { Channel, User } from './model.js';
import { ChannelError } from './channel-error.js';

/** A channel the console found. */
export interface AdminChannel {
  readonly name: string;
  /** Its info (Hookbox's), a summary and its members with their connections. */
  details(): Record<string, unknown>;
  /** Applies new options (Hookbox names; unknown names refused with bad_request); answers the channel's options now. */
  setOptions(input: Record<string, unknown>): Promise<unknown>;
}

export interface ChannelsAdminView {
  counts(): { channels: number; users: number; connections: number; callbacksEnabled: boolean };
  /** Whether this node has the channel. */
  has(channel: string): boolean;
  channelPage(q: PageQuery): Page<Record<string, unknown>>;
  /** The channel, made known on this node when another node has it; undefined when none has it. */
  find(channel: string): Promise<AdminChannel | undefined>;
  userPage(q: PageQuery): Page<Record<string, unknown>>;
  /** Disconnects every connection of the user; false when it is not connected here. */
  kick(user: string, reason: string): boolean;
  /** Whether callbacks go to an application, and the latest ones, newest first. */
  callbacks(): { enabled: boolean; callbacks: Array<Record<string, unknown>> };
}

function userJson(user: User): Record<string, unknown> {
  return {
    name: user.name,
    connections: [...user.conns].map((c) => ({ id: c.id, transport: c.transport })),
    channels: [...user.channels].map((c) => c.name),
    options: user.options,
  };
}

function channelSummary(ch: Channel): Record<string, unknown> {
  let connections = 0;
  for (const _ of ch.connections()) connections++;
  return {
    name: ch.name,
    users: ch.members.size,
    connections,
    historyEntries: ch.history.length,
    persistent: ch.options.persistent,
    presenceful: ch.options.presenceful,
    polling: ch.options.polling.url !== '' ? ch.options.polling.url : null,
  };
}

function adminChannel(node: ChannelsNode, ch: Channel): AdminChannel {
  return {
    name: ch.name,
    details: () => {
      const members = [...ch.members.entries()].map(([user, conns]) => ({
        name: user.name,
        connections: [...(conns ?? user.conns)].map((c) => c.id),
      }));
      return { ...ch.info(), summary: channelSummary(ch), members };
    },
    setOptions: async (input) => {
      try {
        await node.setChannelOptions(ch, input, true);
      } catch (err) {
        if (err instanceof ChannelError) throw new HookhubError('bad_request', err.message);
        throw err;
      }
      return ch.options;
    },
  };
}

export function channelsAdminView(channels: { node: ChannelsNode; callbacks: AppCallbacks }): ChannelsAdminView {
  const { node, callbacks } = channels;
  const page = <T>(items: Iterable<T>, key: (item: T) => string, json: (item: T) => Record<string, unknown>, q: PageQuery) => {
    const p = pageOf(items, key, q);
    return { items: p.items.map(json), ...(p.nextCursor !== undefined ? { nextCursor: p.nextCursor } : {}) };
  };
  return {
    counts: () => ({ channels: node.channels.size, users: node.users.size, connections: node.connectionCount, callbacksEnabled: callbacks.enabled }),
    has: (channel) => node.channels.has(channel),
    channelPage: (q) => page(node.channels.values(), (ch) => ch.name, channelSummary, q),
    find: async (name) => {
      const ch = await node.findChannel(name);
      return ch ? adminChannel(node, ch) : undefined;
    },
    userPage: (q) => page(node.users.values(), (user) => user.name, userJson, q),
    kick: (user, reason) => node.kick(user, reason),
    callbacks: () => ({
      enabled: callbacks.enabled,
      callbacks: callbacks.recent.slice().reverse().map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    }),
  };
}
