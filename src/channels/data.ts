// A channel's state and history, and its persistent record. Every change goes through the stores and
// comes back through their onChange (from this node or another), where this node's copy follows it.
import { randomUUID } from 'node:crypto';
import type { HistoryChange } from '../store/contracts/channel-histories.js';
import type { StateChange } from '../store/contracts/channel-states.js';
import type { ChannelsContext } from './context.js';
import type { Channel } from './model.js';
import { toHistory, type HistoryEntry } from './options.js';
import { tail, type FrameTail } from './protocol.js';

/** What the store keeps of a channel for the other nodes (nothing on one node), read when it is made here. */
export interface KeptData {
  state?: Record<string, unknown>;
  history?: HistoryEntry[];
}

export class ChannelData {
  constructor(private readonly ctx: ChannelsContext) {}

  private get deps() {
    return this.ctx.deps;
  }

  async persist(ch: Channel): Promise<void> {
    if (!ch.options.persistent || ch.destroyed) return;
    await this.deps.store.put({ name: ch.name, options: { ...ch.options }, state: ch.state });
  }

  // ---- state -----------------------------------------------------------------------------------

  async updateState(ch: Channel, updates: Record<string, unknown>, deletes: string[]): Promise<void> {
    await this.deps.states.change(ch.name, { updates, deletes });
    await this.persist(ch);
  }

  async replaceState(ch: Channel, state: Record<string, unknown>): Promise<void> {
    await this.deps.states.change(ch.name, { replace: state });
  }

  /** A new channel's state given by its creator (create_channel, the app's answer): through the store, like every change. */
  async initialState(ch: Channel, state: Record<string, unknown>): Promise<void> {
    ch.state = state;
    await this.deps.states.change(ch.name, { replace: state });
  }

  /** A state change committed on any node (this one's included): applied to this node's copy, told to its members. */
  stateChanged(channel: string, c: StateChange): void {
    const ch = this.ctx.channels.get(channel);
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

  /**
   * server_presenceful (Hookbox): the state of such a channel holds `<name>: true|false` for each user
   * in its server_user_presence, whether that user is connected (anywhere). A user came or went.
   */
  serverPresence(name: string, present: boolean): void {
    for (const ch of this.ctx.channels.values()) {
      if (!ch.options.server_presenceful || !ch.options.server_user_presence.includes(name) || ch.state[name] === present) continue;
      this.ctx.background.run('server presence update failed', { channel: ch.name }, () => this.updateState(ch, { [name]: present }, []));
    }
  }

  /** A server_presenceful channel made or changed: its state takes every listed user's presence now. */
  async syncServerPresence(ch: Channel): Promise<void> {
    if (!ch.options.server_presenceful) return;
    const updates: Record<string, boolean> = {};
    for (const name of ch.options.server_user_presence) {
      const present = this.ctx.userExists(name);
      if (ch.state[name] !== present) updates[name] = present;
    }
    if (Object.keys(updates).length > 0) await this.deps.states.change(ch.name, { updates, deletes: [] });
  }

  // ---- history ---------------------------------------------------------------------------------

  /** Records a history entry through the store; it comes back to historyChanged (from this node or another). */
  record(ch: Channel, entry: HistoryEntry | undefined, offset?: number): void {
    if (!entry) return;
    const item = { id: randomUUID(), entry };
    this.ctx.background.run('channel history append failed', { channel: ch.name }, () => this.deps.histories.append(ch.name, item, ch.options.history_size, offset));
  }

  /** A whole new history (the history option): here at once, and through the store (for the other nodes). */
  async setHistory(ch: Channel, history: HistoryEntry[]): Promise<void> {
    ch.history = history;
    await this.deps.histories.replace(ch.name, history.map((entry) => ({ id: randomUUID(), entry })));
  }

  historyChanged(channel: string, c: HistoryChange): void {
    const ch = this.ctx.channels.get(channel);
    if (!ch || ch.destroyed) return;
    if ('replace' in c) {
      ch.history = this.toEntries(channel, c.replace.map((i) => i.entry));
      ch.prune();
      return;
    }
    const [entry] = this.toEntries(channel, [c.append.entry]);
    if (entry) ch.append(entry);
  }

  /** Entries as the store gives them back: checked (on a shared store another version may have written them). */
  private toEntries(channel: string, entries: unknown[]): HistoryEntry[] {
    try {
      return toHistory(entries);
    } catch (err) {
      this.deps.log.warn({ err, channel }, 'unreadable shared channel history skipped');
      return [];
    }
  }

  // ---- what other nodes keep -------------------------------------------------------------------

  /** What other nodes keep of a channel (its state and history), for a copy made here. */
  async kept(name: string): Promise<KeptData> {
    const [state, items] = await Promise.all([this.deps.states.read(name), this.deps.histories.read(name)]);
    const data: KeptData = {};
    if (Object.keys(state).length > 0) data.state = state;
    const history = this.toEntries(name, items.map((i) => i.entry));
    if (history.length > 0) data.history = history;
    return data;
  }

  /** Nobody is present on any node and the channel is gone here: its shared state and history go (persistent ones keep them). */
  maybeDrop(channel: string): void {
    if (this.deps.presence.remote(channel).size > 0) return;
    this.ctx.background.run('channel state drop failed', { channel }, () => this.deps.states.drop(channel));
    this.ctx.background.run('channel history drop failed', { channel }, () => this.deps.histories.drop(channel));
  }
}
