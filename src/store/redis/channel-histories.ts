// Browser-channel history shared by every node: a list per channel, `<prefix>channel-history:<name>`
// (JSON items, oldest first, trimmed to the channel's history_size), told on `<prefix>channel-history`
// (ChannelNotes: every node applies appends in commit order). Every node that has a channel sees its
// publishes; `<prefix>channel-history-offset:<name>` keeps the last offset recorded so one entry is kept.
import type { Redis } from 'ioredis';
import type { ChannelHistories, HistoryChange, HistoryItem } from '../contracts/channel-histories.js';
import { defineScript, type Script } from './script.js';
import { ChannelNotes } from './channel-notes.js';
import { DROP_UNLESS_PERSISTENT } from './channel-states.js';

// KEYS: list, last offset. ARGV: item, keep, offset (0: none), pub/sub channel, note.
const APPEND = `
local offset = tonumber(ARGV[3])
if offset > 0 then
  if offset <= tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
  redis.call('SET', KEYS[2], ARGV[3])
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

const isItem = (x: unknown): x is HistoryItem => typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'string' && 'entry' in x;

function parseChange(c: unknown): HistoryChange | undefined {
  if (typeof c !== 'object' || c === null) return undefined;
  const v = c as { append?: unknown; replace?: unknown };
  if (isItem(v.append)) return { append: v.append };
  if (Array.isArray(v.replace) && v.replace.every(isItem)) return { replace: v.replace };
  return undefined;
}

/** A change heard while reading: an append the read already holds is skipped. */
function replay(items: HistoryItem[], c: HistoryChange): HistoryItem[] {
  if ('replace' in c) return c.replace.slice();
  if (!items.some((i) => i.id === c.append.id)) items.push(c.append);
  return items;
}

export class RedisChannelHistories implements ChannelHistories {
  readonly notes: ChannelNotes<HistoryChange>;
  private readonly appendScript: Script;

  constructor(private readonly client: Redis, subscriber: Redis, private readonly prefix: string) {
    this.notes = new ChannelNotes(subscriber, `${prefix}channel-history`, parseChange);
    this.appendScript = defineScript(client, 'hookhubChannelHistoryAppend', 2, APPEND);
  }

  private keys(channel: string): [string, string] {
    return [`${this.prefix}channel-history:${channel}`, `${this.prefix}channel-history-offset:${channel}`];
  }

  start(): Promise<void> {
    return this.notes.start();
  }

  read(channel: string): Promise<HistoryItem[]> {
    return this.notes.read(
      channel,
      async () => (await this.client.lrange(this.keys(channel)[0], 0, -1)).map((text) => JSON.parse(text) as unknown).filter(isItem),
      replay,
    );
  }

  append(channel: string, item: HistoryItem, keep: number, offset = 0): Promise<void> {
    return this.notes.commit(channel, { append: item }, async (note) => {
      const done = await this.appendScript.run(this.keys(channel), [JSON.stringify(item), Math.max(1, keep), offset, this.notes.pubsub, note]);
      return done === 1;
    });
  }

  replace(channel: string, items: HistoryItem[]): Promise<void> {
    return this.notes.commit(channel, { replace: items }, async (note) => {
      const [list] = this.keys(channel);
      const multi = this.client.multi().del(list);
      if (items.length > 0) multi.rpush(list, ...items.map((i) => JSON.stringify(i)));
      multi.publish(this.notes.pubsub, note);
      const failed = ((await multi.exec()) ?? []).find(([err]) => err !== null);
      if (failed) throw failed[0] as Error;
      return true;
    });
  }

  async drop(channel: string): Promise<void> {
    await this.client.eval(DROP_UNLESS_PERSISTENT, 3, `${this.prefix}channels`, ...this.keys(channel), channel);
  }

  onChange(fn: (channel: string, c: HistoryChange) => void): void {
    this.notes.onChange(fn);
  }
}
