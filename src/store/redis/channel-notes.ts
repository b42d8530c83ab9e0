// Changes to per-channel data shared by every node (state, history), told on one pub/sub channel.
// A change commits and PUBLISHes in one step, so every node hears the changes in commit order; the node
// that made a change applies it when it hears it back too, so every copy sees the same order.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long a change waits to hear itself back before it is applied here anyway (pub/sub away). */
const ECHO_WAIT_MS = 1000;

type Listener<C> = (channel: string, c: C) => void;

export class ChannelNotes<C> {
  /** Unreadable notes (someone else PUBLISHed on the channel): counted, never fatal. */
  malformed = 0;
  /** Listeners that threw (see emit), and the last error. */
  listenerErrors = 0;
  lastListenerError: unknown;
  readonly node = randomUUID();
  private readonly listeners: Array<Listener<C>> = [];
  /** This node's changes not heard back yet. */
  private readonly waiting = new Map<string, () => void>();
  /** This node's changes applied without their echo (it may still come: then it is skipped). */
  private readonly late = new Set<string>();
  /** Channels being read: changes heard meanwhile, replayed on what was read. */
  private readonly reading = new Map<string, Set<C[]>>();

  constructor(private readonly subscriber: Redis, readonly pubsub: string, private readonly parse: (v: unknown) => C | undefined) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.pubsub) this.heard(text);
    });
    await this.subscriber.subscribe(this.pubsub);
  }

  onChange(fn: Listener<C>): void {
    this.listeners.push(fn);
  }

  private heard(text: string): void {
    let v: { node?: unknown; id?: unknown; channel?: unknown; change?: unknown };
    try {
      v = JSON.parse(text) as typeof v;
    } catch {
      this.malformed++;
      return;
    }
    const change = this.parse(v.change);
    if (typeof v.node !== 'string' || typeof v.id !== 'string' || typeof v.channel !== 'string' || change === undefined) {
      this.malformed++;
      return;
    }
    for (const collected of this.reading.get(v.channel) ?? []) collected.push(change);
    if (v.node === this.node) {
      if (this.late.delete(v.id)) return;
      const resolve = this.waiting.get(v.id);
      this.waiting.delete(v.id);
      this.emit(v.channel, change);
      resolve?.();
      return;
    }
    this.emit(v.channel, change);
  }

  /**
   * Commits a change: `run` gets the note to PUBLISH with it and says whether it was published (a
   * change may turn out to be nothing to do). Resolves once this node's listeners have applied it.
   */
  async commit(channel: string, c: C, run: (note: string) => Promise<boolean>): Promise<void> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const echoed = new Promise<boolean>((resolve) => {
      this.waiting.set(id, () => resolve(true));
      timer = setTimeout(() => resolve(false), ECHO_WAIT_MS);
    });
    try {
      if (!(await run(JSON.stringify({ node: this.node, id, channel, change: c })))) {
        this.waiting.delete(id);
        clearTimeout(timer);
        return;
      }
    } catch (err) {
      this.waiting.delete(id);
      clearTimeout(timer);
      throw err;
    }
    const heard = await echoed;
    clearTimeout(timer);
    if (heard) return;
    // Committed, but the echo is late (subscriber reconnecting): apply it here now, skip the echo later.
    this.waiting.delete(id);
    // Echoes lost for good (pub/sub gone for long) must not pile up.
    if (this.late.size >= 10_000) this.late.clear();
    this.late.add(id);
    this.emit(channel, c);
  }

  /**
   * Reads a channel's data with `load`, then replays the changes heard since the read was sent: they
   * are a suffix of the commit order, so `replay` must only tolerate changes the read already holds.
   */
  async read<T>(channel: string, load: () => Promise<T>, replay: (data: T, c: C) => T): Promise<T> {
    const collected: C[] = [];
    let readers = this.reading.get(channel);
    if (!readers) this.reading.set(channel, (readers = new Set()));
    readers.add(collected);
    try {
      let data: T = await load();
      for (const c of collected) data = replay(data, c);
      return data;
    } finally {
      readers.delete(collected);
      if (readers.size === 0) this.reading.delete(channel);
    }
  }

  /** Each listener on its own: one that throws is counted, and neither the others nor ioredis' handler see it. */
  private emit(channel: string, c: C): void {
    for (const fn of this.listeners) {
      try {
        fn(channel, c);
      } catch (err) {
        this.listenerErrors++;
        this.lastListenerError = err;
      }
    }
  }
}
