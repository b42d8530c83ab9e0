// Which browser channels exist on the cluster, with their options: one hash, `<prefix>channel-records`
// (name → JSON options). Each change commits and is told on `<prefix>channel-record` in one script
// (ChannelNotes: every node, the changing one included, hears the changes in commit order).
import type { Redis } from 'ioredis';
import { isRecord } from '../../core/is-record.js';
import type { ChannelRecordChange, ChannelRegistry } from '../contracts/channel-registry.js';
import { ChannelNotes } from './channel-notes.js';
import { defineScript, type Script } from './script.js';


function parseChange(c: unknown): ChannelRecordChange | undefined {
  if (!isRecord(c)) return undefined;
  if (isRecord(c.set)) return { set: c.set };
  if (c.destroyed === true) return { destroyed: true };
  return undefined;
}

/** Creates unless present: nil when created (and told), else the options already there. */
const CREATE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return false
end
return redis.call('HGET', KEYS[1], ARGV[1])`;

/** Sets the options of an existing record (and tells): 1, or 0 when there is none. */
const UPDATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

/** Deletes the record (and tells): 1, or 0 when there was none. */
const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

const END_TURN = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end`;

/** How long a node's turn to destroy an empty channel lasts at most (it asks the app: --cb-timeout). */
const TURN_MS = 30_000;

export class RedisChannelRegistry implements ChannelRegistry {
  readonly notes: ChannelNotes<ChannelRecordChange>;
  private readonly key: string;
  private readonly createScript: Script;
  private readonly updateScript: Script;
  private readonly removeScript: Script;

  constructor(private readonly client: Redis, subscriber: Redis, private readonly prefix: string) {
    this.key = `${prefix}channel-records`;
    this.notes = new ChannelNotes(subscriber, `${prefix}channel-record`, parseChange);
    this.createScript = defineScript(client, 'hookhubChannelCreate', 1, CREATE);
    this.updateScript = defineScript(client, 'hookhubChannelUpdate', 1, UPDATE);
    this.removeScript = defineScript(client, 'hookhubChannelRemove', 1, REMOVE);
  }

  start(): Promise<void> {
    return this.notes.start();
  }

  get(channel: string): Promise<Record<string, unknown> | undefined> {
    return this.notes.read(
      channel,
      async () => {
        const text = await this.client.hget(this.key, channel);
        return text === null ? undefined : this.parse(text);
      },
      (_, c) => ('set' in c ? c.set : undefined),
    );
  }

  async list(): Promise<Array<{ name: string; options: Record<string, unknown> }>> {
    const all = await this.client.hgetall(this.key);
    return Object.entries(all).map(([name, text]) => ({ name, options: this.parse(text) }));
  }

  async create(channel: string, options: Record<string, unknown>): Promise<{ created: boolean; options: Record<string, unknown> }> {
    let existing: Record<string, unknown> | undefined;
    await this.notes.commit(channel, { set: options }, async (note) => {
      const found = await this.createScript.run([this.key], [channel, JSON.stringify(options), this.notes.pubsub, note]);
      if (typeof found === 'string') existing = this.parse(found);
      return typeof found !== 'string';
    });
    return existing ? { created: false, options: existing } : { created: true, options };
  }

  async update(channel: string, options: Record<string, unknown>): Promise<boolean> {
    let done = false;
    await this.notes.commit(channel, { set: options }, async (note) => {
      done = (await this.updateScript.run([this.key], [channel, JSON.stringify(options), this.notes.pubsub, note])) === 1;
      return done;
    });
    return done;
  }

  async remove(channel: string): Promise<boolean> {
    let done = false;
    await this.notes.commit(channel, { destroyed: true }, async (note) => {
      done = (await this.removeScript.run([this.key], [channel, this.notes.pubsub, note])) === 1;
      return done;
    });
    return done;
  }

  private turnKey(channel: string): string {
    return `${this.prefix}channel-turn:${channel}`;
  }

  async takeTurn(channel: string): Promise<boolean> {
    return (await this.client.set(this.turnKey(channel), this.notes.node, 'PX', TURN_MS, 'NX')) === 'OK';
  }

  async endTurn(channel: string): Promise<void> {
    // Only our own turn (ours may have lapsed and another node's begun).
    await this.client.eval(END_TURN, 1, this.turnKey(channel), this.notes.node);
  }

  onChange(fn: (channel: string, c: ChannelRecordChange) => void): void {
    this.notes.onChange(fn);
  }

  private parse(text: string): Record<string, unknown> {
    const v: unknown = JSON.parse(text);
    if (!isRecord(v)) throw new Error(`unreadable channel record: ${text.slice(0, 100)}`);
    return v;
  }
}
