// Topic log shared by every node. One Lua script assigns the offset (HINCRBY), keeps the message in
// the topic's stream (trimmed to its history size) and PUBLISHes it on the prefix's one pub/sub
// channel — so the publish order is the offset order. Every node (the publishing one included) hands
// messages to its listeners from that channel, per topic in offset order; a hole (a missed pub/sub
// message, e.g. across a reconnect) is filled from history first.
//
// Keys: <p>topic:<name> hash {last, size, epoch}, <p>history:<name> stream (ids "<offset>-0"),
// <p>topics set of names; channel <p>messages. The epoch is set when the hash is made: a Redis that lost
// its data makes the hash again, with a new epoch, and its offsets start again at 1.
// Wire/stream entry: "<offset>\n<header JSON {topic,id,time,contentType,epoch}>\n<body bytes>" (the script
// adds the epoch to the header; entries written before epochs have none).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { newEpoch } from '../../core/epoch.js';
import type { Message, NewMessage } from '../../core/message.js';
import type { TopicBounds, TopicInfo, TopicLog, TopicPage } from '../../core/topic-log.js';
import { defineScript, type Script } from './script.js';

const APPEND = `
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[6])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local off = redis.call('HINCRBY', KEYS[1], 'last', 1)
local size = tonumber(redis.call('HGET', KEYS[1], 'size') or ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
local header = string.sub(ARGV[1], 1, -2) .. ',"epoch":"' .. epoch .. '"}'
local entry = string.format('%.0f', off) .. '\\n' .. header .. '\\n' .. ARGV[2]
if size > 0 then redis.call('XADD', KEYS[2], string.format('%.0f', off) .. '-0', 'm', entry) end
if off > size then redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', off - size + 1) .. '-0') end
redis.call('PUBLISH', ARGV[5], entry)
return {off, epoch}`;

const SET_SIZE = `
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'size') else redis.call('HSET', KEYS[1], 'size', ARGV[1]) end
redis.call('HSETNX', KEYS[1], 'last', 0)
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
local keep = tonumber(redis.call('HGET', KEYS[1], 'size') or ARGV[2])
if last > keep then redis.call('XTRIM', KEYS[2], 'MINID', string.format('%.0f', last - keep + 1) .. '-0') end
return last`;

const BOUNDS = `
local meta = redis.call('HMGET', KEYS[1], 'last', 'epoch')
local last = tonumber(meta[1] or '0')
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local first = ''
if head[1] then first = head[1][1] end
return {last, first, meta[2] or ''}`;

interface Header {
  topic: string;
  id: string;
  time: number;
  contentType: string;
  author?: string;
  /** Added by the append script: the epoch of the log. */
  epoch?: string;
}

const NL = 0x0a;

/** Parses one stream entry / pub/sub payload. */
export function decodeEntry(entry: Buffer): Message {
  const a = entry.indexOf(NL);
  const b = entry.indexOf(NL, a + 1);
  if (a < 0 || b < 0) throw new Error('malformed topic log entry');
  const offset = Number(entry.subarray(0, a).toString('latin1'));
  const h = JSON.parse(entry.subarray(a + 1, b).toString('utf8')) as Header;
  if (!Number.isSafeInteger(offset) || offset < 1 || typeof h?.topic !== 'string' || typeof h.id !== 'string') {
    throw new Error('malformed topic log entry');
  }
  const m: Message = { topic: h.topic, offset, id: h.id, time: h.time, contentType: h.contentType, body: entry.subarray(b + 1) };
  if (typeof h.author === 'string') m.author = h.author;
  if (typeof h.epoch === 'string' && h.epoch !== '') m.epoch = h.epoch;
  return m;
}

/** Per topic on this node: the last offset handed to listeners, and what waits behind a hole. */
interface Feed {
  topic: string;
  /** False until the first message of the topic arrives here: then `delivered` starts just before it. */
  known: boolean;
  delivered: number;
  /** The epoch of the log `delivered` counts in (undefined until a message with one arrives). */
  epoch: string | undefined;
  queue: Message[];
  pumping: boolean;
  waiters: Array<{ offset: number; epoch: string | undefined; resolve: () => void }>;
}

/** A message of the log the feed follows (entries from before epochs have none: they belong to any). */
const sameLog = (feed: Feed, m: Message): boolean => m.epoch === undefined || feed.epoch === undefined || m.epoch === feed.epoch;

/** How long append waits for its own message to come back over pub/sub before taking the local copy. */
const ECHO_WAIT_MS = 1000;
const FILL_PAGE = 1000;

export class RedisTopicLog implements TopicLog {
  private readonly listeners: Array<(m: Message) => void> = [];
  private readonly feeds = new Map<string, Feed>();
  private readonly appendScript: Script;
  private readonly setSizeScript: Script;
  private readonly boundsScript: Script;
  private readonly channel: string;
  private readonly topicsKey: string;
  private connectedOnce = false;
  /** Pub/sub payloads on our channel that were not topic log entries. */
  malformed = 0;
  lastMalformed: Error | undefined;
  /** History reads (hole filling, catching up) that failed; retried on the next message or reconnect. */
  readErrors = 0;
  lastReadError: Error | undefined;
  /** Listeners that threw on a message: counted, never allowed out of the pub/sub handler. */
  listenerErrors = 0;
  lastListenerError: Error | undefined;
  private closed = false;

  constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly defaultHistorySize: number,
  ) {
    this.channel = `${prefix}messages`;
    this.topicsKey = `${prefix}topics`;
    this.appendScript = defineScript(client, 'hookhubTopicAppend', 3, APPEND);
    this.setSizeScript = defineScript(client, 'hookhubTopicSetSize', 3, SET_SIZE);
    this.boundsScript = defineScript(client, 'hookhubTopicBounds', 2, BOUNDS);
  }

  private metaKey(topic: string): string {
    return `${this.prefix}topic:${topic}`;
  }

  private historyKey(topic: string): string {
    return `${this.prefix}history:${topic}`;
  }

  /** Subscribes to the message channel; resolves once the subscription is live. */
  async start(): Promise<void> {
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
      if (channel.toString() !== this.channel) return;
      let m: Message;
      try {
        m = decodeEntry(payload);
      } catch (err) {
        // Not ours (someone else PUBLISHed on the channel): counted, never fatal.
        this.malformed++;
        this.lastMalformed = err as Error;
        return;
      }
      try {
        this.receive(m);
      } catch (err) {
        // An exception here would be an uncaught one in ioredis' event handler: the process would exit.
        this.noteListenerError(err);
      }
    });
    // After a reconnect (ioredis resubscribes first) messages published meanwhile come from history.
    // Subscribing again (a no-op when ioredis already did) orders the history reads after the subscription.
    this.subscriber.on('ready', () => {
      if (!this.connectedOnce || this.closed) return;
      void this.subscriber.subscribe(this.channel).then(
        () => {
          for (const feed of this.feeds.values()) this.catchUp(feed);
        },
        // Lost again: the next 'ready' catches up.
        (err: unknown) => this.noteReadError(err),
      );
    });
    await this.subscriber.subscribe(this.channel);
    this.connectedOnce = true;
  }

  private noteListenerError(err: unknown): void {
    this.listenerErrors++;
    this.lastListenerError = err as Error;
  }

  private noteReadError(err: unknown): void {
    this.readErrors++;
    this.lastReadError = err as Error;
  }

  close(): void {
    this.closed = true;
    for (const feed of this.feeds.values()) for (const w of feed.waiters.splice(0)) w.resolve();
  }

  private feed(topic: string): Feed {
    let feed = this.feeds.get(topic);
    if (!feed) {
      feed = { topic, known: false, delivered: 0, epoch: undefined, queue: [], pumping: false, waiters: [] };
      this.feeds.set(topic, feed);
    }
    return feed;
  }

  private know(feed: Feed, offset: number): void {
    if (feed.known) return;
    feed.known = true;
    feed.delivered = offset - 1;
  }

  /**
   * Follows the log into `epoch`. Another epoch than the feed's means Redis lost the log and it began
   * again: the feed starts over before offset 1 (holes are then read from the new log's history), and
   * what waited for the old log is let go.
   */
  private follow(feed: Feed, epoch: string | undefined): void {
    if (epoch === undefined || feed.epoch === epoch) return;
    const previous = feed.epoch;
    feed.epoch = epoch;
    if (previous === undefined) return;
    feed.delivered = 0;
    feed.queue = feed.queue.filter((m) => sameLog(feed, m));
    const stale = feed.waiters.filter((w) => w.epoch !== epoch);
    feed.waiters = feed.waiters.filter((w) => w.epoch === epoch);
    for (const w of stale) w.resolve();
  }

  private receive(m: Message): void {
    const feed = this.feed(m.topic);
    this.follow(feed, m.epoch);
    this.know(feed, m.offset);
    if (!feed.pumping && feed.queue.length === 0 && m.offset <= feed.delivered + 1) {
      if (m.offset === feed.delivered + 1) this.deliver(feed, m);
      return;
    }
    feed.queue.push(m);
    void this.pump(feed);
  }

  private deliver(feed: Feed, m: Message): void {
    feed.delivered = m.offset;
    for (const fn of this.listeners) {
      try {
        fn(m);
      } catch (err) {
        this.noteListenerError(err);
      }
    }
    if (feed.waiters.length > 0) {
      const ready = feed.waiters.filter((w) => w.offset <= feed.delivered);
      feed.waiters = feed.waiters.filter((w) => w.offset > feed.delivered);
      for (const w of ready) w.resolve();
    }
  }

  /** Delivers queued messages in offset order, reading holes from history first. */
  private async pump(feed: Feed): Promise<void> {
    if (feed.pumping) return;
    feed.pumping = true;
    try {
      while (feed.queue.length > 0 && !this.closed) {
        feed.queue.sort((x, y) => x.offset - y.offset);
        const next = feed.queue[0] as Message;
        if (next.offset > feed.delivered + 1) {
          let missing: Message[] = [];
          try {
            missing = await this.read(feed.topic, feed.delivered, Math.min(next.offset - feed.delivered - 1, FILL_PAGE));
          } catch (err) {
            // Redis unreachable: what history holds is read on the next message or reconnect.
            this.noteReadError(err);
          }
          const before = feed.delivered;
          for (const m of missing) if (m.offset > feed.delivered && m.offset < next.offset && sameLog(feed, m)) this.deliver(feed, m);
          // A full page that got us further: read on. Otherwise history no longer holds the rest of the
          // hole (trimmed) and the stream goes on after it.
          if (missing.length === FILL_PAGE && feed.delivered > before && feed.delivered < next.offset - 1) continue;
        }
        feed.queue.shift();
        if (next.offset > feed.delivered && sameLog(feed, next)) this.deliver(feed, next);
      }
    } finally {
      feed.pumping = false;
    }
  }

  /** Reads what this node may have missed on a topic (after a reconnect, or a lost echo). */
  private catchUp(feed: Feed, own?: Message): void {
    if (own) {
      this.follow(feed, own.epoch);
      this.know(feed, own.offset);
    }
    if (!feed.known) return;
    // The log's epoch first: one that began again while we were away is read from its start.
    void this.bounds(feed.topic).then((b) => {
      if (b.epoch !== '') this.follow(feed, b.epoch);
      return this.read(feed.topic, feed.delivered, FILL_PAGE);
    }).then(
      (missed) => {
        feed.queue.push(...missed);
        if (own) feed.queue.push(own);
        void this.pump(feed);
      },
      (err: unknown) => {
        this.noteReadError(err);
        if (own) {
          feed.queue.push(own);
          void this.pump(feed);
        }
      },
    );
  }

  async append(topic: string, input: NewMessage): Promise<Message> {
    const header: Header = { topic, id: input.id ?? randomUUID(), time: Date.now(), contentType: input.contentType };
    if (input.author !== undefined) header.author = input.author;
    const [offsetReply, epoch] = (await this.appendScript.run(
      [this.metaKey(topic), this.historyKey(topic), this.topicsKey],
      [JSON.stringify(header), input.body, this.defaultHistorySize, topic, this.channel, newEpoch()],
    )) as [number, string];
    const offset = Number(offsetReply);
    const m: Message = { topic, offset, id: header.id, time: header.time, contentType: header.contentType, body: input.body, epoch };
    if (header.author !== undefined) m.author = header.author;
    // Listeners get it from pub/sub, like every other node; resolve once they have.
    const feed = this.feed(topic);
    if ((!feed.known || feed.epoch !== epoch || feed.delivered < offset) && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.catchUp(feed, m), ECHO_WAIT_MS);
        feed.waiters.push({ offset, epoch, resolve: () => {
          clearTimeout(timer);
          resolve();
        } });
      });
    }
    return m;
  }

  async read(topic: string, since: number, limit: number): Promise<Message[]> {
    if (limit <= 0) return [];
    const start = `${Math.max(0, Math.floor(since)) + 1}-0`;
    const entries = await this.client.xrangeBuffer(this.historyKey(topic), start, '+', 'COUNT', limit);
    return entries.map(([, fields]) => decodeEntry(fields[1] as Buffer));
  }

  async bounds(topic: string): Promise<TopicBounds> {
    const [last, head, epoch] = (await this.boundsScript.run([this.metaKey(topic), this.historyKey(topic)], [])) as [number, string, string];
    const first = head ? Number(head.split('-')[0]) : last + 1;
    return { first, last, epoch };
  }

  onAppend(fn: (m: Message) => void): void {
    this.listeners.push(fn);
  }

  async setHistorySize(topic: string, size: number | null): Promise<void> {
    await this.setSizeScript.run(
      [this.metaKey(topic), this.historyKey(topic), this.topicsKey],
      [size === null ? '' : String(size), this.defaultHistorySize, topic, newEpoch()],
    );
  }

  async list(page: TopicPage = {}): Promise<TopicInfo[]> {
    const after = page.after;
    const sorted = (await this.client.smembers(this.topicsKey)).filter((t) => after === undefined || t > after).sort();
    // Only the page's topics are read (names are small; their details are not).
    const names = sorted.slice(0, page.limit ?? sorted.length);
    if (names.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const name of names) {
      pipeline.hmget(this.metaKey(name), 'last', 'size');
      pipeline.xlen(this.historyKey(name));
    }
    const results = (await pipeline.exec()) ?? [];
    return names.map((topic, i) => {
      const [err1, meta] = results[2 * i] ?? [null, null];
      const [err2, kept] = results[2 * i + 1] ?? [null, 0];
      if (err1) throw err1;
      if (err2) throw err2;
      const [last, size] = meta as [string | null, string | null];
      return { topic, last: Number(last ?? 0), kept: Number(kept), historySize: size === null ? this.defaultHistorySize : Number(size) };
    });
  }

  async count(): Promise<number> {
    return this.client.scard(this.topicsKey);
  }
}
