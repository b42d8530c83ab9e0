// WebSub subscriptions shared by every node. One hash per row; an index (topic, callback) → id;
// sorted sets (by insertion) of all rows, rows per topic and rows with an intent awaiting verification.
// Compare-and-set on the intent token runs in Lua, so two nodes verifying at once cannot both win.
// A topic's deliveries are queued by one node at a time: its turn is a key holding the node's id, with a TTL.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineScript, type Script } from './script.js';
import type { DeliveryResult, Subscription, SubscriptionIntent, SubscriptionState, Subscriptions } from '../contracts/subscriptions.js';

const REMOVE_FN = `
local function remove(p, id)
  local hkey = p .. 'websub:sub:' .. id
  local f = redis.call('HMGET', hkey, 'callback', 'topic')
  if not f[1] then return 0 end
  redis.call('DEL', hkey)
  redis.call('HDEL', p .. 'websub:keys', f[2] .. '\\n' .. f[1])
  redis.call('ZREM', p .. 'websub:all', id)
  redis.call('ZREM', p .. 'websub:topic:' .. f[2], id)
  redis.call('ZREM', p .. 'websub:intents', id)
  return 1
end
`;

// ARGV: prefix, callback, topic, mode, token, lease, hasSecret, secret, requestedAt, intentJson, newId
const REQUEST = `
local p = ARGV[1]
local field = ARGV[3] .. '\\n' .. ARGV[2]
local id = redis.call('HGET', p .. 'websub:keys', field)
local hkey
if not id then
  if ARGV[4] == 'unsubscribe' then return false end
  id = ARGV[11]
  hkey = p .. 'websub:sub:' .. id
  local seq = redis.call('INCR', p .. 'websub:seq')
  redis.call('HSET', hkey, 'id', id, 'callback', ARGV[2], 'topic', ARGV[3], 'state', 'pending', 'lease', ARGV[6], 'created', ARGV[9], 'seq', seq)
  if ARGV[7] == '1' then redis.call('HSET', hkey, 'secret', ARGV[8]) end
  redis.call('HSET', p .. 'websub:keys', field, id)
  redis.call('ZADD', p .. 'websub:all', seq, id)
  redis.call('ZADD', p .. 'websub:topic:' .. ARGV[3], seq, id)
else
  hkey = p .. 'websub:sub:' .. id
end
redis.call('HSET', hkey, 'intent', ARGV[10], 'itoken', ARGV[5], 'imode', ARGV[4], 'ilease', ARGV[6])
if ARGV[7] == '1' then redis.call('HSET', hkey, 'isecret', ARGV[8]) else redis.call('HDEL', hkey, 'isecret') end
redis.call('ZADD', p .. 'websub:intents', redis.call('HGET', hkey, 'seq'), id)
return id`;

// ARGV: prefix, op, id, token|json|before|offset, now, cursor
const MUTATE = `${REMOVE_FN}
local p, op, id = ARGV[1], ARGV[2], ARGV[3]
local hkey = p .. 'websub:sub:' .. id
if op == 'remove' then return remove(p, id) end
if op == 'record' then
  if redis.call('EXISTS', hkey) == 1 then redis.call('HSET', hkey, 'last', ARGV[4]) end
  return 1
end
if op == 'advance' then
  if redis.call('EXISTS', hkey) == 0 then return 0 end
  local cursor = redis.call('HGET', hkey, 'cursor')
  if not cursor or tonumber(cursor) < tonumber(ARGV[4]) then redis.call('HSET', hkey, 'cursor', ARGV[4]) end
  return 1
end
if op == 'prune' then
  local n = 0
  for _, sid in ipairs(redis.call('ZRANGE', p .. 'websub:all', 0, -1)) do
    local f = redis.call('HMGET', p .. 'websub:sub:' .. sid, 'state', 'expires', 'itoken')
    if f[1] == 'active' and not f[3] and f[2] and tonumber(f[2]) <= tonumber(ARGV[4]) then n = n + remove(p, sid) end
  end
  return n
end
if redis.call('HGET', hkey, 'itoken') ~= ARGV[4] then return 0 end
local function clearIntent()
  redis.call('HDEL', hkey, 'intent', 'itoken', 'imode', 'ilease', 'isecret')
  redis.call('ZREM', p .. 'websub:intents', id)
end
if op == 'activate' then
  if redis.call('HGET', hkey, 'imode') ~= 'subscribe' then return 0 end
  local lease = tonumber(redis.call('HGET', hkey, 'ilease'))
  local secret = redis.call('HGET', hkey, 'isecret')
  local f = redis.call('HMGET', hkey, 'state', 'expires', 'cursor')
  local live = f[1] == 'active' and f[2] and tonumber(f[2]) > tonumber(ARGV[5]) and f[3]
  if not live then redis.call('HSET', hkey, 'cursor', ARGV[6]) end
  redis.call('HSET', hkey, 'state', 'active', 'lease', lease, 'expires', string.format('%.0f', tonumber(ARGV[5]) + lease * 1000))
  if secret then redis.call('HSET', hkey, 'secret', secret) else redis.call('HDEL', hkey, 'secret') end
  clearIntent()
  return 1
end
if op == 'removeIfIntent' then return remove(p, id) end
if op == 'drop' then
  if redis.call('HGET', hkey, 'state') == 'pending' then return remove(p, id) end
  clearIntent()
  return 1
end
return redis.error_reply('unknown op ' .. op)`;

// KEYS: turn key. ARGV: node, ms. The holder keeps its turn; anyone takes a lapsed one.
const TAKE_TURN = `
local holder = redis.call('GET', KEYS[1])
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

const END_TURN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

function fromHash(h: Record<string, string>): Subscription | undefined {
  if (h.id === undefined) return undefined;
  return {
    id: h.id,
    callback: h.callback as string,
    topic: h.topic as string,
    state: h.state as SubscriptionState,
    secret: h.secret ?? null,
    leaseSeconds: Number(h.lease),
    expiresAt: h.expires === undefined ? null : Number(h.expires),
    createdAt: Number(h.created),
    lastDelivery: h.last === undefined ? null : (JSON.parse(h.last) as DeliveryResult),
    intent: h.intent === undefined ? null : (JSON.parse(h.intent) as SubscriptionIntent),
    cursor: h.cursor === undefined ? null : Number(h.cursor),
  };
}

export class RedisSubscriptions implements Subscriptions {
  private readonly requestScript: Script;
  private readonly mutateScript: Script;
  private readonly takeTurnScript: Script;
  private readonly endTurnScript: Script;
  /** This node, as a turn holder. */
  private readonly node = randomUUID();
  /** Topics whose turn this node took (given back at shutdown). */
  private readonly turns = new Set<string>();

  constructor(private readonly client: Redis, private readonly prefix: string) {
    this.requestScript = defineScript(client, 'hookhubWebsubRequest', 0, REQUEST);
    this.mutateScript = defineScript(client, 'hookhubWebsubMutate', 0, MUTATE);
    this.takeTurnScript = defineScript(client, 'hookhubWebsubTakeTurn', 1, TAKE_TURN);
    this.endTurnScript = defineScript(client, 'hookhubWebsubEndTurn', 1, END_TURN);
  }

  private mutate(op: string, id: string, arg: string | number = '', now = 0, cursor = 0): Promise<number> {
    return this.mutateScript.run([], [this.prefix, op, id, arg, now, cursor]) as Promise<number>;
  }

  private turnKey(topic: string): string {
    return `${this.prefix}websub:turn:${topic}`;
  }

  private async rows(ids: readonly string[]): Promise<Subscription[]> {
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(`${this.prefix}websub:sub:${id}`);
    const out: Subscription[] = [];
    for (const [err, h] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      const row = fromHash(h as Record<string, string>);
      if (row) out.push(row);
    }
    return out;
  }

  async request(callback: string, topic: string, intent: SubscriptionIntent): Promise<Subscription | null> {
    const id = (await this.requestScript.run([], [
      this.prefix, callback, topic, intent.mode, intent.token, intent.leaseSeconds,
      intent.secret === null ? '0' : '1', intent.secret ?? '', intent.requestedAt, JSON.stringify(intent), randomUUID(),
    ])) as string | null;
    if (id === null) return null;
    return (await this.get(id)) ?? null;
  }

  async get(id: string): Promise<Subscription | undefined> {
    return fromHash(await this.client.hgetall(`${this.prefix}websub:sub:${id}`));
  }

  async find(callback: string, topic: string): Promise<Subscription | undefined> {
    const id = await this.client.hget(`${this.prefix}websub:keys`, `${topic}\n${callback}`);
    return id === null ? undefined : this.get(id);
  }

  async activate(id: string, token: string, now: number, cursor: number): Promise<boolean> {
    return (await this.mutate('activate', id, token, now, cursor)) === 1;
  }

  async advance(id: string, offset: number): Promise<void> {
    await this.mutate('advance', id, offset);
  }

  async takeTurn(topic: string, ms: number): Promise<boolean> {
    const taken = (await this.takeTurnScript.run([this.turnKey(topic)], [this.node, Math.max(1, Math.round(ms))])) === 1;
    if (taken) this.turns.add(topic);
    else this.turns.delete(topic);
    return taken;
  }

  async endTurns(): Promise<void> {
    const topics = [...this.turns];
    this.turns.clear();
    await Promise.all(topics.map((t) => this.endTurnScript.run([this.turnKey(t)], [this.node])));
  }

  async removeIfIntent(id: string, token: string): Promise<boolean> {
    return (await this.mutate('removeIfIntent', id, token)) === 1;
  }

  async dropIntent(id: string, token: string): Promise<void> {
    await this.mutate('drop', id, token);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.mutate('remove', id)) === 1;
  }

  async list(topic?: string): Promise<Subscription[]> {
    const key = topic === undefined ? `${this.prefix}websub:all` : `${this.prefix}websub:topic:${topic}`;
    const rows = await this.rows(await this.client.zrange(key, '0', '-1'));
    // Oldest first, as created (the sorted set keeps insertion order for equal times).
    return rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.createdAt - b.r.createdAt || a.i - b.i).map((x) => x.r);
  }

  async withIntent(): Promise<Subscription[]> {
    return this.rows(await this.client.zrange(`${this.prefix}websub:intents`, '0', '-1'));
  }

  async activeFor(topic: string, now: number): Promise<Subscription[]> {
    const rows = await this.rows(await this.client.zrange(`${this.prefix}websub:topic:${topic}`, '0', '-1'));
    return rows.filter((s) => s.state === 'active' && (s.expiresAt ?? 0) > now);
  }

  async recordDelivery(id: string, result: DeliveryResult): Promise<void> {
    await this.mutate('record', id, JSON.stringify(result));
  }

  async prune(before: number): Promise<number> {
    return this.mutate('prune', '', String(before));
  }

  async count(): Promise<number> {
    return this.client.zcard(`${this.prefix}websub:all`);
  }
}
