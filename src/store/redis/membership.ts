// Cluster-wide membership counts for browser channels on Redis, so that each membership change is told
// once, by one node. Every change is one Lua step: it updates the counts and answers the changes it made,
// so of several nodes racing, exactly one hears of each.
//   <prefix>presence:held:<node>   set of the [channel, user] entries the node holds (no expiry: a dead
//                                  node's entries wait for a survivor to take them out)
//   <prefix>presence:holders       set of the nodes that may have a held set
//   <prefix>presence:counts        hash entry → how many nodes hold it
//   <prefix>presence:occupancy     hash channel → how many users are in it
// A node whose lease passed (node-leases.ts: stopped, or killed) is reaped by whichever survivor gets there
// first: its entries leave in that one step, and its held set is deleted (so no other survivor reaps it).
import type { Redis } from 'ioredis';
import type { MembershipChange } from '../contracts/channel-presence.js';
import { LEASE_LIVE_LUA } from './node-leases.js';
import { defineScript, type Script } from './script.js';

// KEYS: held set, counts, occupancy, holders, the lease zset. ARGV: mode, node, now (ms), entries…
//  add: the entries this node now holds   remove: those it no longer holds
//  sync: everything it holds (the held set is made equal to it)   reap: the node is dead; take out its entries
// Answers a flat list: kind, channel, user ('' for occupied / vacated), …
const MEMBERSHIP = `${LEASE_LIVE_LUA}
local held, counts, occupancy, holders, nodes = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mode, node, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local function tell(kind, channel, user)
  out[#out + 1] = kind
  out[#out + 1] = channel
  out[#out + 1] = user
end
local function join(entry)
  local ok, pair = pcall(cjson.decode, entry)
  if not ok or type(pair) ~= 'table' or type(pair[1]) ~= 'string' or type(pair[2]) ~= 'string' then return end
  if redis.call('HINCRBY', counts, entry, 1) ~= 1 then return end
  if redis.call('HINCRBY', occupancy, pair[1], 1) == 1 then tell('occupied', pair[1], '') end
  tell('member_added', pair[1], pair[2])
end
local function leave(entry)
  local ok, pair = pcall(cjson.decode, entry)
  if not ok or type(pair) ~= 'table' or type(pair[1]) ~= 'string' or type(pair[2]) ~= 'string' then return end
  local n = redis.call('HINCRBY', counts, entry, -1)
  if n > 0 then return end
  redis.call('HDEL', counts, entry)
  if n < 0 then return end
  tell('member_removed', pair[1], pair[2])
  local m = redis.call('HINCRBY', occupancy, pair[1], -1)
  if m > 0 then return end
  redis.call('HDEL', occupancy, pair[1])
  if m == 0 then tell('vacated', pair[1], '') end
end
if mode == 'add' then
  redis.call('SADD', holders, node)
  for i = 4, #ARGV do
    if redis.call('SADD', held, ARGV[i]) == 1 then join(ARGV[i]) end
  end
elseif mode == 'remove' then
  for i = 4, #ARGV do
    if redis.call('SREM', held, ARGV[i]) == 1 then leave(ARGV[i]) end
  end
elseif mode == 'sync' then
  local want = {}
  for i = 4, #ARGV do want[ARGV[i]] = true end
  for _, entry in ipairs(redis.call('SMEMBERS', held)) do
    if want[entry] then want[entry] = nil else
      redis.call('SREM', held, entry)
      leave(entry)
    end
  end
  for i = 4, #ARGV do
    if want[ARGV[i]] then
      want[ARGV[i]] = nil
      redis.call('SADD', held, ARGV[i])
      join(ARGV[i])
    end
  end
  redis.call('SADD', holders, node)
elseif mode == 'reap' then
  if leaseLive(nodes, node, now) then return out end
  for _, entry in ipairs(redis.call('SMEMBERS', held)) do leave(entry) end
  redis.call('DEL', held)
  redis.call('SREM', holders, node)
end
return out
`;

type Mode = 'add' | 'remove' | 'sync' | 'reap';

export class RedisMembership {
  private readonly script: Script;
  private readonly holdersKey: string;

  constructor(private readonly client: Redis, private readonly prefix: string, private readonly nodesKey: string) {
    this.script = defineScript(client, 'hookhubPresenceMembership', 5, MEMBERSHIP);
    this.holdersKey = `${prefix}presence:holders`;
  }

  /** The node now holds these entries (those it held already change nothing). */
  add(node: string, entries: readonly string[]): Promise<MembershipChange[]> {
    return this.run('add', node, entries);
  }

  remove(node: string, entries: readonly string[]): Promise<MembershipChange[]> {
    return this.run('remove', node, entries);
  }

  /** The node holds exactly these (after a write failed, or the others took it for dead). */
  sync(node: string, entries: readonly string[]): Promise<MembershipChange[]> {
    return this.run('sync', node, entries);
  }

  /** Takes a dead node's entries out, unless it is alive after all or another node did already. */
  reap(node: string): Promise<MembershipChange[]> {
    return this.run('reap', node, []);
  }

  /** Nodes that may hold entries. */
  holders(): Promise<string[]> {
    return this.client.smembers(this.holdersKey);
  }

  private async run(mode: Mode, node: string, entries: readonly string[]): Promise<MembershipChange[]> {
    const keys = [`${this.prefix}presence:held:${node}`, `${this.prefix}presence:counts`, `${this.prefix}presence:occupancy`, this.holdersKey, this.nodesKey];
    return changesOf(await this.script.run(keys, [mode, node, Date.now(), ...entries]));
  }
}

function changesOf(reply: unknown): MembershipChange[] {
  if (!Array.isArray(reply)) throw new Error('unexpected membership reply');
  const changes: MembershipChange[] = [];
  for (let i = 0; i + 2 < reply.length; i += 3) {
    const [kind, channel, user] = [reply[i], reply[i + 1], reply[i + 2]].map(String) as [string, string, string];
    if (kind === 'occupied' || kind === 'vacated') changes.push({ kind, channel });
    else if (kind === 'member_added' || kind === 'member_removed') changes.push({ kind, channel, user });
  }
  return changes;
}
