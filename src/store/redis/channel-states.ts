// Browser-channel state shared by every node: a hash per channel, `<prefix>channel-state:<name>`
// (key → JSON value). Changes commit to the hash and are told on `<prefix>channel-state` (ChannelNotes:
// every node, the changing one included, applies them in commit order, so copies converge even when
// nodes change the same key at once).
import type { Redis } from 'ioredis';
import { isRecord } from '../../core/is-record.js';
import type { ChannelStates, StateChange } from '../contracts/channel-states.js';
import { ChannelNotes } from './channel-notes.js';

/** Drops a channel's data unless the channel has a persistent record (RedisChannelStore's hash). */
export const DROP_UNLESS_PERSISTENT = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then redis.call('DEL', unpack(KEYS, 2)) end`;


function parseChange(c: unknown): StateChange | undefined {
  if (!isRecord(c)) return undefined;
  if (isRecord(c.replace)) return { replace: c.replace };
  if (isRecord(c.updates) && Array.isArray(c.deletes) && c.deletes.every((k) => typeof k === 'string')) {
    return { updates: c.updates, deletes: c.deletes as string[] };
  }
  return undefined;
}

function applyTo(state: Record<string, unknown>, c: StateChange): Record<string, unknown> {
  if ('replace' in c) return { ...c.replace };
  Object.assign(state, c.updates);
  for (const k of c.deletes) delete state[k];
  return state;
}

const encode = (o: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, JSON.stringify(v ?? null)]));

export class RedisChannelStates implements ChannelStates {
  readonly notes: ChannelNotes<StateChange>;

  constructor(private readonly client: Redis, subscriber: Redis, private readonly prefix: string) {
    this.notes = new ChannelNotes(subscriber, `${prefix}channel-state`, parseChange);
  }

  private key(channel: string): string {
    return `${this.prefix}channel-state:${channel}`;
  }

  start(): Promise<void> {
    return this.notes.start();
  }

  read(channel: string): Promise<Record<string, unknown>> {
    return this.notes.read(
      channel,
      async () => {
        const state: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(await this.client.hgetall(this.key(channel)))) state[k] = JSON.parse(v) as unknown;
        return state;
      },
      applyTo,
    );
  }

  change(channel: string, c: StateChange): Promise<void> {
    return this.notes.commit(channel, c, async (note) => {
      const key = this.key(channel);
      const multi = this.client.multi();
      if ('replace' in c) {
        multi.del(key);
        if (Object.keys(c.replace).length > 0) multi.hset(key, encode(c.replace));
      } else {
        if (Object.keys(c.updates).length > 0) multi.hset(key, encode(c.updates));
        if (c.deletes.length > 0) multi.hdel(key, ...c.deletes);
      }
      multi.publish(this.notes.pubsub, note);
      const failed = ((await multi.exec()) ?? []).find(([err]) => err !== null);
      if (failed) throw failed[0] as Error;
      return true;
    });
  }

  async drop(channel: string): Promise<void> {
    await this.client.eval(DROP_UNLESS_PERSISTENT, 2, `${this.prefix}channels`, this.key(channel), channel);
  }

  onChange(fn: (channel: string, c: StateChange) => void): void {
    this.notes.onChange(fn);
  }
}
