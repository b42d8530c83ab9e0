// The Pusher roster on Redis. A node's entries live as long as its lease in `<prefix>nodes` (node-leases.ts):
// the leases run this part's reap of a dead node. Keys under `<prefix>pusher:`:
//   handed         set   nodes that stopped cleanly and handed their entries over (reaped although alive)
//   ns:<node>      hash  topic → that node's subscriptions      (what to undo when the node is reaped)
//   nm:<node>      set   [topic, user] the node holds in presence topics
//   s:<topic>      hash  node → subscriptions                   (summed: the topic's count)
//   occ            set   occupied topics
//   m:<topic>      hash  user → user_info;  mc:<topic> hash user → nodes holding it;  seq:<topic> member changes
// Every change is made by one Lua script, which PUBLISHes it on `<prefix>pusher` with the node that made it:
// so each change is told once, in the order made, and exactly one node hears it as its own.
import type { Redis } from 'ioredis';
import type { PusherMembers, PusherRoster, RosterChange, TopicCounts } from '../contracts/pusher-roster.js';
import { LEASE_LIVE_LUA, type LeasePart, type NodeLeases } from './node-leases.js';
import { defineScript, type Script } from './script.js';

// Shared Lua: P is the key prefix, NODE the node making the change, CH the pub/sub channel.
const LUA_HELPERS = `
local function count(P, CH, NODE, by, topic, delta, tellRecount)
  local skey = P .. 's:' .. topic
  local before = 0
  for _, v in ipairs(redis.call('HVALS', skey)) do before = before + tonumber(v) end
  local mine = redis.call('HINCRBY', skey, NODE, delta)
  if mine <= 0 then
    redis.call('HDEL', skey, NODE)
    redis.call('HDEL', P .. 'ns:' .. NODE, topic)
  else
    redis.call('HSET', P .. 'ns:' .. NODE, topic, mine)
  end
  local after = before + delta
  if before <= 0 and after > 0 then
    redis.call('SADD', P .. 'occ', topic)
    redis.call('PUBLISH', CH, cjson.encode({kind = 'occupied', topic = topic, by = by}))
  elseif before > 0 and after <= 0 then
    redis.call('SREM', P .. 'occ', topic)
    redis.call('DEL', skey)
    redis.call('PUBLISH', CH, cjson.encode({kind = 'vacated', topic = topic, by = by}))
  elseif tellRecount and delta ~= 0 then
    redis.call('PUBLISH', CH, cjson.encode({kind = 'recounted', topic = topic, by = by}))
  end
end
local function join(P, CH, NODE, topic, user, info)
  redis.call('SADD', P .. 'nm:' .. NODE, cjson.encode({topic, user}))
  local n = redis.call('HINCRBY', P .. 'mc:' .. topic, user, 1)
  if n == 1 then
    redis.call('HSET', P .. 'm:' .. topic, user, info)
    local seq = redis.call('INCR', P .. 'seq:' .. topic)
    redis.call('PUBLISH', CH, cjson.encode({kind = 'member_added', topic = topic, user = user, info = info, seq = seq, by = NODE}))
  end
end
local function leave(P, CH, NODE, by, topic, user)
  redis.call('SREM', P .. 'nm:' .. NODE, cjson.encode({topic, user}))
  local n = redis.call('HINCRBY', P .. 'mc:' .. topic, user, -1)
  if n > 0 then return end
  redis.call('HDEL', P .. 'mc:' .. topic, user)
  if redis.call('HDEL', P .. 'm:' .. topic, user) == 1 then
    local seq = redis.call('INCR', P .. 'seq:' .. topic)
    redis.call('PUBLISH', CH, cjson.encode({kind = 'member_removed', topic = topic, user = user, seq = seq, by = by}))
  end
end
`;

// KEYS: none. ARGV: P, CH, node, topic, delta
const COUNT = `${LUA_HELPERS}
count(ARGV[1], ARGV[2], ARGV[3], ARGV[3], ARGV[4], tonumber(ARGV[5]))
return 1`;

// ARGV: P, CH, node, topic, user, info → {seq, user, info, user, info, …}
const JOIN = `${LUA_HELPERS}
local P, CH, NODE, topic, user, info = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
join(P, CH, NODE, topic, user, info)
local out = {tonumber(redis.call('GET', P .. 'seq:' .. topic) or '0')}
for _, v in ipairs(redis.call('HGETALL', P .. 'm:' .. topic)) do out[#out + 1] = v end
return out`;

// ARGV: P, CH, node, topic, user
const LEAVE = `${LUA_HELPERS}
leave(ARGV[1], ARGV[2], ARGV[3], ARGV[3], ARGV[4], ARGV[5])
return 1`;

// ARGV: P, topic → {seq, user, info, …}
const MEMBERS = `
local P, topic = ARGV[1], ARGV[2]
local out = {tonumber(redis.call('GET', P .. 'seq:' .. topic) or '0')}
for _, v in ipairs(redis.call('HGETALL', P .. 'm:' .. topic)) do out[#out + 1] = v end
return out`;

// ARGV: P, prefix → {topic, subscriptions, members, …}, sorted by topic: GET /apps/<id>/channels in one call.
const OCCUPIED_COUNTS = `
local P, prefix = ARGV[1], ARGV[2]
local topics = redis.call('SMEMBERS', P .. 'occ')
table.sort(topics)
local out = {}
for _, topic in ipairs(topics) do
  if string.sub(topic, 1, #prefix) == prefix then
    local n = 0
    for _, v in ipairs(redis.call('HVALS', P .. 's:' .. topic)) do n = n + tonumber(v) end
    out[#out + 1] = topic
    out[#out + 1] = n
    out[#out + 1] = redis.call('HLEN', P .. 'm:' .. topic)
  end
end
return out`;

// ARGV: P, CH, dead node, reaping node, now, force ('1': the last node reaps itself on close), lease zset
// Removes the node's subscriptions and members if its lease passed or it handed them over; once, since
// they are deleted in the same step (a second reap finds nothing).
const REAP = `${LUA_HELPERS}${LEASE_LIVE_LUA}
local P, CH, DEAD, by, now, force, NODES = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if force ~= '1' and redis.call('SISMEMBER', P .. 'handed', DEAD) == 0 and leaseLive(NODES, DEAD, now) then return 0 end
redis.call('SREM', P .. 'handed', DEAD)
local subs = redis.call('HGETALL', P .. 'ns:' .. DEAD)
for i = 1, #subs, 2 do count(P, CH, DEAD, by, subs[i], -tonumber(subs[i + 1]), true) end
for _, entry in ipairs(redis.call('SMEMBERS', P .. 'nm:' .. DEAD)) do
  local pair = cjson.decode(entry)
  leave(P, CH, DEAD, by, pair[1], pair[2])
end
redis.call('DEL', P .. 'ns:' .. DEAD, P .. 'nm:' .. DEAD)
return 1`;

// ARGV: P, CH, node, JSON {counts: {topic: n}, members: [[topic, user, info]]}
// Brings the node's entries to what it holds (after writes were lost, or after it was reaped while alive):
// only the differences change anything, so a channel or member that stayed is not told again.
const SYNC = `${LUA_HELPERS}
local P, CH, NODE = ARGV[1], ARGV[2], ARGV[3]
local want = cjson.decode(ARGV[4])
local have = redis.call('HGETALL', P .. 'ns:' .. NODE)
local seen = {}
for i = 1, #have, 2 do
  local topic, cur = have[i], tonumber(have[i + 1])
  seen[topic] = true
  local target = tonumber(want.counts[topic] or 0)
  if target ~= cur then count(P, CH, NODE, NODE, topic, target - cur, true) end
end
for topic, n in pairs(want.counts) do
  if not seen[topic] and tonumber(n) > 0 then count(P, CH, NODE, NODE, topic, tonumber(n), true) end
end
local wanted = {}
for _, m in ipairs(want.members) do wanted[cjson.encode({m[1], m[2]})] = m end
for _, entry in ipairs(redis.call('SMEMBERS', P .. 'nm:' .. NODE)) do
  if wanted[entry] then
    wanted[entry] = nil
  else
    local pair = cjson.decode(entry)
    leave(P, CH, NODE, NODE, pair[1], pair[2])
  end
end
for _, m in pairs(wanted) do join(P, CH, NODE, m[1], m[2], m[3]) end
return 1`;

type Heard = RosterChange & { by: string };

function parseHeard(text: string): Heard | { signal: string } | undefined {
  const v = JSON.parse(text) as Record<string, unknown>;
  if (typeof v.signal === 'string') return { signal: v.signal };
  if (typeof v.topic !== 'string' || typeof v.by !== 'string') return undefined;
  const { topic, by } = v;
  if (v.kind === 'occupied' || v.kind === 'vacated' || v.kind === 'recounted') return { kind: v.kind, topic, by };
  if (typeof v.user !== 'string' || typeof v.seq !== 'number') return undefined;
  if (v.kind === 'member_added' && typeof v.info === 'string') return { kind: v.kind, topic, user: v.user, info: v.info, seq: v.seq, by };
  if (v.kind === 'member_removed') return { kind: v.kind, topic, user: v.user, seq: v.seq, by };
  return undefined;
}

function membersOf(reply: unknown): PusherMembers {
  const list = reply as Array<string | number>;
  const users = new Map<string, string>();
  for (let i = 1; i + 1 < list.length; i += 2) users.set(String(list[i]), String(list[i + 1]));
  return { users, seq: Number(list[0] ?? 0) };
}

export class RedisPusherRoster implements PusherRoster, LeasePart {
  readonly node: string;
  /** Failed refreshes and unreadable notes (the next refresh repairs). */
  errors = 0;
  lastError: Error | undefined;
  private readonly p: string;
  private readonly channel: string;
  private readonly scripts: Record<'count' | 'join' | 'leave' | 'members' | 'occupiedCounts' | 'reap' | 'sync', Script>;
  private readonly changeListeners: Array<(change: RosterChange, mine: boolean) => void> = [];
  private readonly signalListeners: Array<(note: string) => void> = [];
  /** What this node told Redis: told again if it was reaped while alive (cut off past its lease). */
  private readonly ownCounts = new Map<string, number>();
  private readonly ownMembers = new Map<string, Map<string, string>>();
  /** A write failed (Redis away): Redis may differ from own*, brought in line at the next refresh. */
  private dirty = false;
  private closed = false;
  /** Handed over to a live node: the survivors reap our entries. */
  private handed = false;

  constructor(private readonly client: Redis, private readonly subscriber: Redis, prefix: string, private readonly leases: NodeLeases) {
    this.node = leases.node;
    this.p = `${prefix}pusher:`;
    this.channel = `${prefix}pusher`;
    this.scripts = {
      count: defineScript(client, 'hookhubPusherCount', 0, COUNT),
      join: defineScript(client, 'hookhubPusherJoin', 0, JOIN),
      leave: defineScript(client, 'hookhubPusherLeave', 0, LEAVE),
      members: defineScript(client, 'hookhubPusherMembers', 0, MEMBERS),
      occupiedCounts: defineScript(client, 'hookhubPusherOccupiedCounts', 0, OCCUPIED_COUNTS),
      reap: defineScript(client, 'hookhubPusherReap', 0, REAP),
      sync: defineScript(client, 'hookhubPusherSync', 0, SYNC),
    };
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.channel) this.heard(text);
    });
    await this.subscriber.subscribe(this.channel);
  }

  /** Stops writing; the leases' close ends this node's lease, then left() runs. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Our lease has ended (clean stop): a live node reaps our subscriptions and members at its next step
   * (within RENEW_MS) and reports them as its own changes (its webhooks still run). With no other node
   * alive, this node removes them itself (unless it handed them over to a node that has died since).
   */
  async left(alone: boolean): Promise<void> {
    if (alone && !this.handed) await this.scripts.reap.run([], [this.p, this.channel, this.node, this.node, Date.now(), '1', this.leases.key]);
  }

  async handOver(): Promise<boolean> {
    if (this.closed || this.client.status !== 'ready') return false;
    try {
      if ((await this.leases.liveOthers()).length === 0) return false;
      // From here on this node's entries are the survivors' to remove: no write may undo part of them first.
      this.closed = true;
      await this.client.sadd(`${this.p}handed`, this.node);
      this.handed = true;
      return true;
    } catch (err) {
      this.noteError(err);
      return false;
    }
  }

  async count(topic: string, delta: 1 | -1): Promise<void> {
    if (this.closed) return;
    const n = (this.ownCounts.get(topic) ?? 0) + delta;
    if (n > 0) this.ownCounts.set(topic, n);
    else this.ownCounts.delete(topic);
    await this.write(this.scripts.count.run([], [this.p, this.channel, this.node, topic, delta]));
  }

  async join(topic: string, user: string, info: string): Promise<PusherMembers> {
    if (this.closed) return this.members(topic);
    let mine = this.ownMembers.get(topic);
    if (!mine) this.ownMembers.set(topic, (mine = new Map()));
    mine.set(user, info);
    return membersOf(await this.write(this.scripts.join.run([], [this.p, this.channel, this.node, topic, user, info])));
  }

  async leave(topic: string, user: string): Promise<void> {
    const mine = this.ownMembers.get(topic);
    mine?.delete(user);
    if (mine?.size === 0) this.ownMembers.delete(topic);
    if (this.closed) return;
    await this.write(this.scripts.leave.run([], [this.p, this.channel, this.node, topic, user]));
  }

  /** A write of this node's entries: one that fails marks them for the next refresh to bring in line. */
  private async write<T>(run: Promise<T>): Promise<T> {
    try {
      return await run;
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  async members(topic: string): Promise<PusherMembers> {
    return membersOf(await this.scripts.members.run([], [this.p, topic]));
  }

  async subscriptions(topic: string): Promise<number> {
    const values = await this.client.hvals(`${this.p}s:${topic}`);
    return values.reduce((sum, v) => sum + Number(v), 0);
  }

  async occupied(prefix: string): Promise<string[]> {
    return (await this.client.smembers(`${this.p}occ`)).filter((t) => t.startsWith(prefix)).sort();
  }

  async occupiedCounts(prefix: string): Promise<TopicCounts[]> {
    const list = (await this.scripts.occupiedCounts.run([], [this.p, prefix])) as Array<string | number>;
    const out: TopicCounts[] = [];
    for (let i = 0; i + 2 < list.length; i += 3) out.push({ topic: String(list[i]), subscriptions: Number(list[i + 1]), members: Number(list[i + 2]) });
    return out;
  }

  onChange(fn: (change: RosterChange, mine: boolean) => void): void {
    this.changeListeners.push(fn);
  }

  async signal(note: string): Promise<void> {
    await this.client.publish(this.channel, JSON.stringify({ signal: note }));
  }

  onSignal(fn: (note: string) => void): void {
    this.signalListeners.push(fn);
  }

  // ---- the leases' part ---------------------------------------------------------------------

  /** Our lease had lapsed (the others may have reaped us), or a write failed: tell our state again. */
  async renewed(lapsed: boolean): Promise<void> {
    if (this.closed || !(this.dirty || (lapsed && (this.ownCounts.size > 0 || this.ownMembers.size > 0)))) return;
    try {
      await this.sync();
    } catch (err) {
      this.noteError(err);
    }
  }

  /** Removes a dead (or handed-over) node's subscriptions and members, reported as this node's changes. */
  async reap(node: string): Promise<void> {
    await this.scripts.reap.run([], [this.p, this.channel, node, this.node, Date.now(), '0', this.leases.key]);
  }

  /** Nodes that handed their entries over (alive still, closing). */
  strays(): Promise<string[]> {
    return this.client.smembers(`${this.p}handed`);
  }

  private async sync(): Promise<void> {
    this.dirty = false;
    const members: Array<[string, string, string]> = [];
    for (const [topic, users] of this.ownMembers) for (const [user, info] of users) members.push([topic, user, info]);
    const desired = { counts: Object.fromEntries(this.ownCounts), members };
    await this.write(this.scripts.sync.run([], [this.p, this.channel, this.node, JSON.stringify(desired)]));
  }

  private heard(text: string): void {
    let note: ReturnType<typeof parseHeard>;
    try {
      note = parseHeard(text);
    } catch (err) {
      return this.noteError(err);
    }
    if (!note) return this.noteError(new Error(`unreadable roster note: ${text.slice(0, 100)}`));
    // Each listener on its own: an exception here would escape into ioredis' event handler.
    if ('signal' in note) {
      for (const fn of this.signalListeners) this.guard(() => fn((note as { signal: string }).signal));
      return;
    }
    const { by, ...change } = note;
    for (const fn of this.changeListeners) this.guard(() => fn(change as RosterChange, by === this.node));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.noteError(err);
    }
  }

  private noteError(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err : new Error(String(err));
  }
}
