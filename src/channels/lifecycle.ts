// Channels being made and going away on this node: loading the persistent ones, creation on first use
// (the application's create_channel answer gives the options), options and their polling, destruction.
// A channel exists for the whole cluster (one node is a cluster of one: the store's registry answers
// alike): the registry decides who makes and who destroys it, and each node keeps a copy that follows
// the registry's record (recordChanged).
import { SYSTEM_TOPIC } from '../core/system-events.js';
import { checkTopicName } from '../core/topic-name.js';
import { isHookhubError } from '../core/errors.js';
import type { ChannelRecordChange } from '../store/contracts/channel-registry.js';
import { ChannelError } from './channel-error.js';
import { cookieOf, type ChannelsContext, type Origin } from './context.js';
import type { ChannelData, KeptData } from './data.js';
import { Channel, type ChannelOwner, type Poller } from './model.js';
import { applyChannelOptions, defaultChannelOptions, pollingActive, type ChannelOptions, type OptionChanges } from './options.js';
import { tail } from './protocol.js';

export class ChannelLifecycle {
  private readonly creating = new Map<string, Promise<Channel | undefined>>();

  constructor(
    private readonly ctx: ChannelsContext,
    private readonly data: ChannelData,
    /** Where the channels made here hand their messages (ChannelDelivery). */
    private readonly owner: ChannelOwner,
    private readonly poller: Poller,
  ) {}

  private get deps() {
    return this.ctx.deps;
  }

  /** Loads persistent channels from the store. */
  async load(): Promise<void> {
    if (!(await this.deps.presence.othersAlive())) await this.forgetStoppedCluster();
    for (const record of await this.deps.store.list()) {
      try {
        let { options } = applyChannelOptions(defaultChannelOptions(), record.options, false);
        // Another node may have the channel already (with newer options): its record wins. Every node
        // polls the persistent channels it loads (no node may be left that set their polling).
        options = this.ctx.optionsOf(record.name, (await this.deps.registry.create(record.name, { ...options })).options);
        const kept = await this.data.kept(record.name);
        if (this.ctx.channels.has(record.name)) continue;
        const ch = this.create(record.name, options, kept);
        // The store's state is the newer one: the record is rewritten after each change anyway.
        if (!kept.state) ch.state = { ...record.state };
      } catch (err) {
        this.deps.log.warn({ err, channel: record.name }, 'stored channel skipped');
      }
    }
  }

  /**
   * The first node of a cluster: nobody is connected anywhere, so the non-persistent channels (with
   * their state and history) left by a cluster that stopped or died are gone, as after a restart.
   */
  private async forgetStoppedCluster(): Promise<void> {
    for (const { name, options } of await this.deps.registry.list()) {
      if (this.ctx.optionsOf(name, options).persistent) continue;
      await this.deps.registry.remove(name);
      await Promise.all([this.deps.states.drop(name), this.deps.histories.drop(name)]);
    }
  }

  /** `poll`: this node runs the channel's polling (only the node that set it does, when several have it). */
  private create(name: string, options: ChannelOptions, kept: KeptData = {}, poll = true): Channel {
    const ch = new Channel(name, options, this.owner);
    if (kept.state) ch.state = kept.state;
    if (kept.history) ch.history = kept.history;
    this.ctx.channels.set(name, ch);
    ch.stream = this.deps.topics.openLive(name, ch);
    if (pollingActive(options) && poll) this.poller.start(ch);
    return ch;
  }

  /** The channel, created on first use: the application's create_channel answer gives its options. */
  async ensureChannel(name: string, origin: Origin, askApp = true): Promise<Channel> {
    const made = await this.existingOrMade(name, () => {
      checkName(name);
      return this.clusterChannel(name, origin, askApp, false);
    });
    return made as Channel;
  }

  /**
   * The channel when it exists on any node (REST and admin calls on a channel): a channel made on
   * another node gets its copy here, with the cluster's options.
   */
  async findChannel(name: string): Promise<Channel | undefined> {
    try {
      checkName(name);
    } catch {
      return undefined;
    }
    return this.existingOrMade(name, () => this.clusterChannel(name, {}, false, true));
  }

  /**
   * This node's channel; else the one being made here (waited for); else `make`'s, registered as the
   * creation in flight so that concurrent callers wait for it. No await between the check and the
   * registration.
   */
  private async existingOrMade(name: string, make: () => Promise<Channel | undefined>): Promise<Channel | undefined> {
    for (;;) {
      const existing = this.ctx.channels.get(name);
      if (existing) return existing;
      const pending = this.creating.get(name);
      if (!pending) break;
      const ch = await pending;
      if (ch) return ch;
    }
    const creation = make();
    this.creating.set(name, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(name);
    }
  }

  /**
   * The cluster's channel when it exists (its options; the application is not asked again), else a new
   * one for the whole cluster, unless `mustExist`. Two nodes (or two calls) making it at once agree on
   * the first one's options.
   */
  private async clusterChannel(name: string, origin: Origin, askApp: boolean, mustExist: boolean): Promise<Channel | undefined> {
    const known = await this.deps.registry.get(name);
    let made: { options: ChannelOptions; changes?: OptionChanges } | undefined;
    if (known) made = { options: this.ctx.optionsOf(name, known) };
    else if (mustExist) return undefined;
    else {
      const changes = (askApp ? await this.appOptions(name, origin) : undefined) ?? { options: defaultChannelOptions() };
      const answer = await this.deps.registry.create(name, { ...changes.options });
      made = answer.created ? { options: changes.options, changes } : { options: this.ctx.optionsOf(name, answer.options) };
    }
    // Read last: what other nodes keep of its state and history is current when it is made (no await after).
    const kept = await this.data.kept(name);
    const again = this.ctx.channels.get(name);
    if (again) return again;
    const ch = this.create(name, made.options, kept, made.changes !== undefined);
    if (made.changes) return this.seed(ch, made.changes);
    ch.prune();
    return ch;
  }

  /** The application's create_channel answer applied to the defaults; undefined when there is no application. */
  private async appOptions(name: string, origin: Origin): Promise<OptionChanges | undefined> {
    if (!this.deps.callbacks.enabled) return undefined;
    // Hookbox makes this call with the browser's cookie but not for its connection: no X-Real-IP, no SET_COOKIE.
    const result = await this.ctx.callback('create_channel', { channel_name: name }, { cookie: cookieOf(origin) });
    if (!result.ok) throw new ChannelError(result.msg);
    const changes = applyChannelOptions(defaultChannelOptions(), result.options, false);
    this.poller.check(changes.options);
    return changes;
  }

  /** A channel just made takes the history and state its options came with, then is stored if persistent. */
  private async seed(ch: Channel, changes: OptionChanges): Promise<Channel> {
    if (changes.history) await this.data.setHistory(ch, changes.history);
    if (changes.state) await this.data.initialState(ch, changes.state);
    ch.prune();
    await this.data.syncServerPresence(ch);
    await this.data.persist(ch);
    return ch;
  }

  /** REST create_channel: fails when it exists. */
  async createChannel(name: string, input: Record<string, unknown>): Promise<Channel> {
    checkName(name);
    // A copy being made here may be a lookup of a channel that does not exist: the registry decides.
    if (this.ctx.channels.has(name)) throw new ChannelError(`channel ${name} already exists`);
    const changes = applyChannelOptions(defaultChannelOptions(), input, true);
    this.poller.check(changes.options);
    // Made on another node (or by another call on this one) already: it exists for this node too.
    if (!(await this.deps.registry.create(name, { ...changes.options })).created) throw new ChannelError(`channel ${name} already exists`);
    const kept = await this.data.kept(name);
    // Ours in the registry; a subscribe here meanwhile made its copy from our record (not polling it).
    const copy = this.ctx.channels.get(name);
    if (copy && pollingActive(copy.options)) this.poller.start(copy);
    return this.seed(copy ?? this.create(name, changes.options, kept), changes);
  }

  /** `strict` refuses unknown keys (REST); polling answers may carry others, which are ignored. */
  async setChannelOptions(ch: Channel, input: Record<string, unknown>, strict = true): Promise<void> {
    const changes = applyChannelOptions(ch.options, input, strict);
    this.poller.check(changes.options);
    const wasPersistent = ch.options.persistent;
    const pollingChanged = JSON.stringify(ch.options.polling) !== JSON.stringify(changes.options.polling);
    // Every node's copy (this one's too) takes the options when it hears of them (recordChanged).
    if (!(await this.deps.registry.update(ch.name, { ...changes.options }))) throw new ChannelError(`no such channel: ${ch.name}`);
    // New polling runs on this node only (the others stopped theirs).
    if (pollingChanged && pollingActive(ch.options) && !ch.destroyed) this.poller.start(ch);
    if (changes.history) await this.data.setHistory(ch, changes.history);
    ch.prune();
    if (changes.state) await this.data.replaceState(ch, changes.state);
    await this.data.syncServerPresence(ch);
    if (wasPersistent && !ch.options.persistent) await this.deps.store.delete(ch.name);
    await this.data.persist(ch);
    if (wasPersistent) this.maybeDestroy(ch);
  }

  /** New options for this node's copy of a channel; changed polling stops here, and starts again when `pollHere`. */
  private applyOptions(ch: Channel, options: ChannelOptions, pollHere: boolean): void {
    const pollingChanged = JSON.stringify(ch.options.polling) !== JSON.stringify(options.polling);
    ch.options = options;
    ch.prune();
    if (pollingChanged) {
      this.poller.stop(ch);
      if (pollHere && pollingActive(ch.options)) this.poller.start(ch);
    }
  }

  /** The cluster's record of a channel changed (on any node, this one included): this node's copy follows. */
  recordChanged(channel: string, c: ChannelRecordChange): void {
    const ch = this.ctx.channels.get(channel);
    if (!ch || ch.destroyed) return;
    if ('destroyed' in c) return this.destroyHere(ch);
    this.applyOptions(ch, this.ctx.optionsOf(channel, c.set), false);
  }

  /**
   * Removes a channel at once (REST destroy_channel): members are told UNSUBSCRIBE; the app is not asked.
   * On every node; resolves once the others are told.
   */
  async destroy(ch: Channel): Promise<void> {
    if (ch.destroyed) return;
    this.destroyHere(ch);
    await this.deps.registry.remove(ch.name);
  }

  /** This node's copy goes: its members are told UNSUBSCRIBE. */
  private destroyHere(ch: Channel): void {
    if (ch.destroyed) return;
    for (const user of [...ch.members.keys()]) {
      const leaveTail = tail('UNSUBSCRIBE', { channel_name: ch.name, user: user.name });
      for (const conn of ch.connectionsOf(user)) conn.send(leaveTail);
    }
    for (const user of ch.members.keys()) this.deps.presence.remove(ch.name, user.name);
    ch.clearMembers();
    ch.destroyed = true;
    this.ctx.channels.delete(ch.name);
    if (ch.stream) this.deps.topics.close([ch.name], ch.stream);
    ch.stream = undefined;
    this.poller.stop(ch);
    if (!ch.options.persistent) this.data.maybeDrop(ch.name);
    if (ch.options.persistent) this.ctx.background.run('channel delete failed', { channel: ch.name }, () => this.deps.store.delete(ch.name));
  }

  /** REST destroy_channel: with send_hook the application may refuse. */
  async destroyFromApp(ch: Channel, sendHook: boolean): Promise<void> {
    if (sendHook && this.deps.callbacks.enabled) {
      const result = await this.deps.callbacks.call('destroy_channel', { channel_name: ch.name });
      if (!result.ok) throw new ChannelError(result.msg);
    }
    await this.destroy(ch);
  }

  /**
   * An empty, non-persistent channel goes away — once the application agrees: a destroy_channel call
   * that is refused or fails (unreachable app, timeout, bad answer) keeps the channel, as in Hookbox.
   * It must be empty on every node (users present through others keep it); every node that sees it
   * empty may get here at once: the one that takes the registry's turn decides.
   */
  maybeDestroy(ch: Channel): void {
    const empty = (): boolean => !ch.destroyed && ch.members.size === 0 && !ch.options.persistent && this.deps.presence.remote(ch.name).size === 0;
    if (!empty()) return;
    const registry = this.deps.registry;
    this.ctx.background.run('channel destroy failed', { channel: ch.name }, async () => {
      if (!(await registry.takeTurn(ch.name))) return;
      try {
        if (!empty()) return;
        if (this.deps.callbacks.enabled) {
          const r = await this.deps.callbacks.call('destroy_channel', { channel_name: ch.name });
          if (!r.ok) this.deps.log.debug({ channel: ch.name, msg: r.msg }, 'channel kept: destroy_channel refused or failed');
          if (!r.ok || !empty()) return;
        }
        await this.destroy(ch);
      } finally {
        await registry.endTurn(ch.name);
      }
    });
  }

  /**
   * The last users of a channel went with their node (died or stopped): nobody left there to destroy a
   * non-persistent channel, so every node that sees it empty does (idempotent; the app is not asked).
   */
  orphaned(channel: string): void {
    const registry = this.deps.registry;
    const empty = (): boolean => (this.ctx.channels.get(channel)?.members.size ?? 0) === 0 && this.deps.presence.remote(channel).size === 0;
    if (!empty()) return;
    this.ctx.background.run('orphaned channel removal failed', { channel }, async () => {
      if (!(await registry.takeTurn(channel))) return;
      try {
        const record = await registry.get(channel);
        if (!record || this.ctx.optionsOf(channel, record).persistent || !empty()) return;
        await registry.remove(channel);
      } finally {
        await registry.endTurn(channel);
      }
    });
  }
}

function checkName(name: string): void {
  try {
    checkTopicName(name);
  } catch (err) {
    throw new ChannelError(isHookhubError(err) ? err.message.replace(/^topic/, 'channel_name') : 'bad channel_name');
  }
  // A channel is its topic: as one, the system topic would let browsers read (and forge) operational events.
  if (name === SYSTEM_TOPIC) throw new ChannelError(`channel_name ${SYSTEM_TOPIC} is the system topic of operational events, not a channel`);
}
