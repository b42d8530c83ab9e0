// Browser-channel state shared by every node: a hash per channel, `<prefix>channel-state:<name>`
// (key → JSON value). A change commits to the hash and PUBLISHes on `<prefix>channel-state` in one
// MULTI, so every node hears the changes in commit order; the node that made a change applies it when
// it hears it too, so all copies converge even when nodes change the same key at once.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChannelStates, StateChange } from './interface.js';

/** How long a change waits to hear itself back before it is applied here anyway (pub/sub away). */
const ECHO_WAIT_MS = 1000;

const DROP = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then redis.call('DEL', KEYS[2]) end`;

type Note = { node: string; id: string; channel: string; change: StateChange };

type Listener = (channel: string, c: StateChange) => void;

function parseNote(text: string): Note | undefined {
  const v = JSON.parse(text) as Partial<Note>;
  if (typeof v.node !== 'string' || typeof v.id !== 'string' || typeof v.channel !== 'string') return undefined;
  const c = v.change as Partial<Record<string, unknown>> | undefined;
  if (!c || typeof c !== 'object') return undefined;
  const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isRecord(c.replace)) return { node: v.node, id: v.id, channel: v.channel, change: { replace: c.replace } };
  if (isRecord(c.updates) && Array.isArray(c.deletes) && c.deletes.every((k) => typeof k === 'string')) {
    return { node: v.node, id: v.id, channel: v.channel, change: { updates: c.updates, deletes: c.deletes as string[] } };
  }
  return undefined;
}

function applyTo(state: Record<string, unknown>, c: StateChange): Record<string, unknown> {
  if ('replace' in c) return { ...c.replace };
  Object.assign(state, c.updates);
  for (const k of c.deletes) delete state[k];
  return state;
}

export class RedisChannelStates implements ChannelStates {
  readonly shared = true;
  /** Unreadable notes (someone else PUBLISHed on the channel): counted, never fatal. */
  malformed = 0;
  private readonly node = randomUUID();
  private readonly pubsub: string;
  private readonly listeners: Listener[] = [];
  /** This node's changes not heard back yet. */
  private readonly waiting = new Map<string, () => void>();
  /** This node's changes applied without their echo (it may still come: then it is skipped). */
  private readonly late = new Set<string>();
  /** Channels being read: changes heard meanwhile, replayed on what was read. */
  private readonly reading = new Map<string, Set<StateChange[]>>();

  constructor(private readonly client: Redis, private readonly subscriber: Redis, private readonly prefix: string) {
    this.pubsub = `${prefix}channel-state`;
  }

  private key(channel: string): string {
    return `${this.prefix}channel-state:${channel}`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.pubsub) return;
      let note: Note | undefined;
      try {
        note = parseNote(text);
      } catch {
        note = undefined;
      }
      if (!note) {
        this.malformed++;
        return;
      }
      this.heard(note);
    });
    await this.subscriber.subscribe(this.pubsub);
  }

  private heard(note: Note): void {
    for (const collected of this.reading.get(note.channel) ?? []) collected.push(note.change);
    if (note.node === this.node) {
      if (this.late.delete(note.id)) return;
      const resolve = this.waiting.get(note.id);
      this.waiting.delete(note.id);
      this.emit(note.channel, note.change);
      resolve?.();
      return;
    }
    this.emit(note.channel, note.change);
  }

  async read(channel: string): Promise<Record<string, unknown>> {
    const collected: StateChange[] = [];
    let readers = this.reading.get(channel);
    if (!readers) this.reading.set(channel, (readers = new Set()));
    readers.add(collected);
    try {
      const raw = await this.client.hgetall(this.key(channel));
      let state: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw)) state[k] = JSON.parse(v) as unknown;
      // Changes heard since the read was sent: a suffix of the commit order, so replaying them is exact.
      for (const c of collected) state = applyTo(state, c);
      return state;
    } finally {
      readers.delete(collected);
      if (readers.size === 0) this.reading.delete(channel);
    }
  }

  async change(channel: string, c: StateChange): Promise<void> {
    const key = this.key(channel);
    const multi = this.client.multi();
    const encode = (o: Record<string, unknown>): Record<string, string> =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, JSON.stringify(v ?? null)]));
    if ('replace' in c) {
      multi.del(key);
      if (Object.keys(c.replace).length > 0) multi.hset(key, encode(c.replace));
    } else {
      if (Object.keys(c.updates).length > 0) multi.hset(key, encode(c.updates));
      if (c.deletes.length > 0) multi.hdel(key, ...c.deletes);
    }
    const id = randomUUID();
    multi.publish(this.pubsub, JSON.stringify({ node: this.node, id, channel, change: c }));
    let timer: NodeJS.Timeout | undefined;
    const echoed = new Promise<boolean>((resolve) => {
      this.waiting.set(id, () => resolve(true));
      timer = setTimeout(() => resolve(false), ECHO_WAIT_MS);
    });
    try {
      const results = (await multi.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0] as Error;
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

  async drop(channel: string): Promise<void> {
    // A persistent channel (its record in RedisChannelStore's hash) keeps its state.
    await this.client.eval(DROP, 2, `${this.prefix}channels`, this.key(channel), channel);
  }

  onChange(fn: Listener): void {
    this.listeners.push(fn);
  }

  private emit(channel: string, c: StateChange): void {
    for (const fn of this.listeners) fn(channel, c);
  }
}
