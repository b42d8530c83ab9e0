// The webhook queue shared by every node. Each delivery is a hash; it sits in exactly one of three
// sorted sets: `due` (pending, scored by due time), `claimed` (delivering, scored by lease end) or
// `finished` (scored by last update, for prune). A claim is one Lua script moving due ids (and claims
// whose lease lapsed — a dead node's) into `claimed`: each delivery goes to exactly one node.
// `log` (scored by seq) pages the delivery log; idempotency keys are strings with a TTL.
// Over 400 lines, knowingly: the Lua scripts and the key layout they share are kept in one place; the log
// queries (list, search, retention) could move to a file of their own (issue #11).
import type { Redis } from 'ioredis';
import { HookhubError } from '../../core/errors.js';
import { deliveryHost, matchesTarget } from '../contracts/delivery-target.js';
import { HELD_BEHIND_EARLIER, PARKED, type ParkedDelivery, type AttemptOutcome, type ClaimRequest, type DeliveryAttempt, type DeliveryLimits, type DeliveryQuery, type DeliveryQueue, type DeliveryRecord, type DeliveryStatus, type NewDelivery } from '../contracts/delivery-queue.js';
import { defineScript, type Script, type ScriptArg } from './script.js';

/** Candidates looked at per claim in each of `due` and `claimed` before the per-host cap applies. */
const CLAIM_SCAN = 1000;
const PRUNE_BATCH = 500;
const LIST_PAGE = 200;

const INSERT_FN = `
local HELD = '${HELD_BEHIND_EARLIER}'
-- An ordered delivery joins the end of its lane (a list of unfinished ids); behind another it is held.
local function joinLane(p, id, okey)
  if okey == '' then return false end
  redis.call('HSET', p .. 'dq:d:' .. id, 'okey', okey)
  return redis.call('RPUSH', p .. 'dq:lane:' .. okey, id) > 1
end
local function insert(p, id, now, nextAt, claimUntil, okey, fields)
  local hkey = p .. 'dq:d:' .. id
  local seq = redis.call('INCR', p .. 'dq:seq')
  redis.call('HSET', hkey, 'seq', seq, 'created', now, 'updated', now, 'attempts', '[]', 'nattempts', 0, 'next', nextAt, unpack(fields))
  if claimUntil ~= '' then
    redis.call('HSET', hkey, 'status', 'delivering', 'lease', claimUntil)
    redis.call('ZADD', p .. 'dq:claimed', claimUntil, id)
    joinLane(p, id, okey)
  else
    if joinLane(p, id, okey) then nextAt = HELD end
    redis.call('HSET', hkey, 'status', 'pending', 'next', nextAt)
    redis.call('ZADD', p .. 'dq:due', nextAt, id)
  end
  redis.call('ZADD', p .. 'dq:log', seq, id)
end
`;

// ARGV: p, now, idemKey, windowMs, idemTtlMs, maxDepth, id, nextAt, claimUntil, orderKey, fields...
const ENQUEUE = `${INSERT_FN}
local p, now = ARGV[1], tonumber(ARGV[2])
local ikey = ARGV[3]
if ikey ~= '' then
  local seen = redis.call('GET', p .. 'dq:idem:' .. ikey)
  if seen then
    local at, sid = string.match(seen, '^(%d+) (.+)$')
    if at and tonumber(at) > now - tonumber(ARGV[4]) and redis.call('EXISTS', p .. 'dq:d:' .. sid) == 1 then return {sid, 0} end
  end
end
if redis.call('ZCARD', p .. 'dq:due') + redis.call('ZCARD', p .. 'dq:claimed') >= tonumber(ARGV[6]) then return {'', -1} end
insert(p, ARGV[7], ARGV[2], ARGV[8], ARGV[9], ARGV[10], {unpack(ARGV, 11)})
if ikey ~= '' then redis.call('SET', p .. 'dq:idem:' .. ikey, ARGV[2] .. ' ' .. ARGV[7], 'PX', ARGV[5]) end
return {ARGV[7], 1}`;

// ARGV: p, id, now, status, attemptJson, nextAt, hasFollowUp, [followUp: id, nextAt, claimUntil, orderKey, fields...]
const FINISH = `${INSERT_FN}
local p, id = ARGV[1], ARGV[2]
local hkey = p .. 'dq:d:' .. id
if redis.call('EXISTS', hkey) == 1 then
  local attempts = redis.call('HGET', hkey, 'attempts')
  if attempts == '[]' then attempts = '[' .. ARGV[5] .. ']' else attempts = string.sub(attempts, 1, -2) .. ',' .. ARGV[5] .. ']' end
  redis.call('HSET', hkey, 'status', ARGV[4], 'attempts', attempts, 'updated', ARGV[3])
  redis.call('HINCRBY', hkey, 'nattempts', 1)
  redis.call('HDEL', hkey, 'lease')
  redis.call('ZREM', p .. 'dq:claimed', id)
  if ARGV[4] == 'pending' then
    redis.call('HSET', hkey, 'next', ARGV[6])
    redis.call('ZADD', p .. 'dq:due', ARGV[6], id)
    redis.call('ZREM', p .. 'dq:finished', id)
  else
    redis.call('ZREM', p .. 'dq:due', id)
    redis.call('ZADD', p .. 'dq:finished', ARGV[3], id)
    -- Finished: it leaves its lane, and the next one of the lane is due now.
    local okey = redis.call('HGET', hkey, 'okey')
    if okey then
      local lane = p .. 'dq:lane:' .. okey
      redis.call('LREM', lane, 1, id)
      local head = redis.call('LINDEX', lane, 0)
      if head and redis.call('HGET', p .. 'dq:d:' .. head, 'next') == HELD then
        redis.call('HSET', p .. 'dq:d:' .. head, 'next', ARGV[3])
        redis.call('ZADD', p .. 'dq:due', ARGV[3], head)
      end
    end
  end
end
if ARGV[7] == '1' then insert(p, ARGV[8], ARGV[3], ARGV[9], ARGV[10], ARGV[11], {unpack(ARGV, 12)}) end
return 1`;

// ARGV: p, now, limit, leaseUntil, perHost, scan, skipHosts...
const CLAIM = `
local p, now, limit, lease, perHost, scan = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local skip = {}
for i = 7, #ARGV do skip[ARGV[i]] = true end
local cands = {}
local function gather(key)
  local r = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, scan)
  for i = 1, #r, 2 do
    local id = r[i]
    local f = redis.call('HMGET', p .. 'dq:d:' .. id, 'host', 'seq')
    if not f[1] then
      redis.call('ZREM', key, id)
    elseif not skip[f[1]] then
      cands[#cands + 1] = {id = id, key = key, at = tonumber(r[i + 1]), seq = tonumber(f[2]), host = f[1]}
    end
  end
end
gather(p .. 'dq:due')
gather(p .. 'dq:claimed')
table.sort(cands, function(a, b)
  if a.at ~= b.at then return a.at < b.at end
  return a.seq < b.seq
end)
local counts, out = {}, {}
for _, c in ipairs(cands) do
  if #out >= limit then break end
  local n = counts[c.host] or 0
  if n < perHost then
    counts[c.host] = n + 1
    redis.call('ZREM', c.key, c.id)
    redis.call('ZADD', p .. 'dq:claimed', lease, c.id)
    redis.call('HSET', p .. 'dq:d:' .. c.id, 'status', 'delivering', 'lease', lease)
    out[#out + 1] = redis.call('HGETALL', p .. 'dq:d:' .. c.id)
  end
end
return out`;

// ARGV: p, mode (renew|release|recover), time, ids...
const LEASES = `
local p, mode, t = ARGV[1], ARGV[2], ARGV[3]
local ids = {}
if mode == 'recover' then
  ids = redis.call('ZRANGEBYSCORE', p .. 'dq:claimed', '-inf', t)
else
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local n = 0
for _, id in ipairs(ids) do
  if redis.call('ZSCORE', p .. 'dq:claimed', id) then
    local hkey = p .. 'dq:d:' .. id
    if mode == 'renew' then
      redis.call('ZADD', p .. 'dq:claimed', t, id)
      redis.call('HSET', hkey, 'lease', t)
    else
      redis.call('ZREM', p .. 'dq:claimed', id)
      local nextAt = redis.call('HGET', hkey, 'next')
      if not nextAt or tonumber(nextAt) > tonumber(t) then nextAt = t end
      redis.call('HSET', hkey, 'status', 'pending', 'next', nextAt)
      redis.call('HDEL', hkey, 'lease')
      redis.call('ZADD', p .. 'dq:due', nextAt, id)
    end
    n = n + 1
  end
end
return n`;

// ARGV: p, id, now
const RETRY = `
local HELD = '${HELD_BEHIND_EARLIER}'
local p, id, now = ARGV[1], ARGV[2], ARGV[3]
local hkey = p .. 'dq:d:' .. id
local f = redis.call('HMGET', hkey, 'status', 'nattempts', 'max', 'next', 'okey')
if not f[1] then return 'not_found' end
if f[1] == 'delivering' then return 'in_flight' end
if f[4] == HELD then return 'queued' end
local max = tonumber(f[3])
if tonumber(f[2]) + 1 > max then max = tonumber(f[2]) + 1 end
-- A finished ordered delivery queues again at the end of its lane.
if f[1] ~= 'pending' and f[5] and redis.call('RPUSH', p .. 'dq:lane:' .. f[5], id) > 1 then now = HELD end
redis.call('HSET', hkey, 'status', 'pending', 'next', now, 'max', max, 'updated', ARGV[3])
redis.call('ZREM', p .. 'dq:finished', id)
redis.call('ZADD', p .. 'dq:due', now, id)
return 'queued'`;

// ARGV: p, id
const PARK = `
local p, id = ARGV[1], ARGV[2]
local hkey = p .. 'dq:d:' .. id
local status = redis.call('HGET', hkey, 'status')
if status ~= 'pending' and status ~= 'delivering' then return 0 end
redis.call('ZREM', p .. 'dq:claimed', id)
redis.call('HSET', hkey, 'status', 'pending', 'next', '${PARKED}')
redis.call('HDEL', hkey, 'lease')
redis.call('ZADD', p .. 'dq:due', '${PARKED}', id)
return 1`;

// ARGV: p, now, ids...
const UNPARK = `
local p, now, n = ARGV[1], ARGV[2], 0
for i = 3, #ARGV do
  local hkey = p .. 'dq:d:' .. ARGV[i]
  if redis.call('HGET', hkey, 'next') == '${PARKED}' and redis.call('HGET', hkey, 'status') == 'pending' then
    redis.call('HSET', hkey, 'next', now)
    redis.call('ZADD', p .. 'dq:due', now, ARGV[i])
    n = n + 1
  end
end
return n`;

// ARGV: p, before, batch[, keep]: finished before `before`, or (keep given) beyond the `keep` last updated
const PRUNE = `
local p = ARGV[1]
local ids
if ARGV[4] then
  local over = redis.call('ZCARD', p .. 'dq:finished') - tonumber(ARGV[4])
  if over <= 0 then return 0 end
  ids = redis.call('ZRANGE', p .. 'dq:finished', 0, math.min(over, tonumber(ARGV[3])) - 1)
else
  ids = redis.call('ZRANGEBYSCORE', p .. 'dq:finished', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
end
for _, id in ipairs(ids) do
  redis.call('DEL', p .. 'dq:d:' .. id)
  redis.call('ZREM', p .. 'dq:log', id)
  redis.call('ZREM', p .. 'dq:finished', id)
end
return #ids`;

const SECRET_DEFAULT = '0';
const SECRET_NONE = '1';
const SECRET_OWN = '2';

/** The hash fields of a new delivery (status, times and seq are set by the script). */
function fields(d: NewDelivery): ScriptArg[] {
  const f: ScriptArg[] = [
    'id', d.id, 'url', d.url, 'host', deliveryHost(d.url), 'method', d.method, 'headers', JSON.stringify(d.headers),
    'body', d.body, 'max', d.maxAttempts,
    'sm', d.secret === undefined ? SECRET_DEFAULT : d.secret === null ? SECRET_NONE : SECRET_OWN,
  ];
  if (typeof d.secret === 'string') f.push('secret', d.secret);
  if (d.contentType !== undefined) f.push('ct', d.contentType);
  if (d.timeoutMs !== undefined) f.push('timeout', d.timeoutMs);
  if (d.errback !== undefined) f.push('errback', d.errback);
  if (d.callback !== undefined) f.push('callback', d.callback);
  if (d.origin !== undefined) f.push('okind', d.origin.kind, 'oref', d.origin.ref);
  if (d.idempotencyKey !== undefined) f.push('ikey', d.idempotencyKey);
  return f;
}

function insertArgs(d: NewDelivery): ScriptArg[] {
  return [d.id, d.nextAt, d.claimUntil === undefined ? '' : d.claimUntil, d.orderKey ?? '', ...fields(d)];
}

function fromHash(h: Record<string, Buffer>): DeliveryRecord | undefined {
  const s = (k: string): string | undefined => h[k]?.toString('utf8');
  const n = (k: string): number => Number(s(k));
  const id = s('id');
  if (id === undefined) return undefined;
  const d: DeliveryRecord = {
    seq: n('seq'),
    id,
    url: s('url') ?? '',
    method: s('method') ?? 'POST',
    headers: JSON.parse(s('headers') ?? '{}') as Record<string, string>,
    body: h.body ?? Buffer.alloc(0),
    maxAttempts: n('max'),
    nextAt: n('next'),
    status: s('status') as DeliveryStatus,
    attempts: JSON.parse(s('attempts') ?? '[]') as DeliveryAttempt[],
    createdAt: n('created'),
    updatedAt: n('updated'),
  };
  const sm = s('sm');
  if (sm === SECRET_NONE) d.secret = null;
  else if (sm === SECRET_OWN && h.secret !== undefined) d.secret = s('secret') as string;
  if (h.ct !== undefined) d.contentType = s('ct') as string;
  if (h.timeout !== undefined) d.timeoutMs = n('timeout');
  if (h.errback !== undefined) d.errback = s('errback') as string;
  if (h.callback !== undefined) d.callback = s('callback') as string;
  if (h.okind !== undefined && h.oref !== undefined) d.origin = { kind: s('okind') as string, ref: s('oref') as string };
  if (h.ikey !== undefined) d.idempotencyKey = s('ikey') as string;
  if (h.lease !== undefined) d.leaseUntil = n('lease');
  if (h.okey !== undefined) d.orderKey = s('okey') as string;
  return d;
}

/** A transaction's replies; the first error is thrown. */
function results<T>(replies: Array<[Error | null, unknown]> | null): T[] {
  if (replies === null) throw new Error('Redis transaction aborted');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}

/** HGETALL's flat [field, value, …] reply as an object. */
function pairs(flat: Buffer[]): Record<string, Buffer> {
  const h: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[(flat[i] as Buffer).toString('utf8')] = flat[i + 1] as Buffer;
  return h;
}

export class RedisDeliveryQueue implements DeliveryQueue {
  private readonly enqueueScript: Script;
  private readonly finishScript: Script;
  private readonly claimScript: Script;
  private readonly leasesScript: Script;
  private readonly retryScript: Script;
  private readonly pruneScript: Script;
  private readonly parkScript: Script;
  private readonly unparkScript: Script;
  private readonly due: string;
  private readonly claimed: string;

  constructor(private readonly client: Redis, private readonly prefix: string) {
    this.enqueueScript = defineScript(client, 'hookhubDqEnqueue', 0, ENQUEUE);
    this.finishScript = defineScript(client, 'hookhubDqFinish', 0, FINISH);
    this.claimScript = defineScript(client, 'hookhubDqClaim', 0, CLAIM);
    this.leasesScript = defineScript(client, 'hookhubDqLeases', 0, LEASES);
    this.retryScript = defineScript(client, 'hookhubDqRetry', 0, RETRY);
    this.pruneScript = defineScript(client, 'hookhubDqPrune', 0, PRUNE);
    this.parkScript = defineScript(client, 'hookhubDqPark', 0, PARK);
    this.unparkScript = defineScript(client, 'hookhubDqUnpark', 0, UNPARK);
    this.due = `${prefix}dq:due`;
    this.claimed = `${prefix}dq:claimed`;
  }

  private key(id: string): string {
    return `${this.prefix}dq:d:${id}`;
  }

  async enqueue(d: NewDelivery, limits: DeliveryLimits): Promise<{ id: string; created: boolean }> {
    const window = limits.idempotencyWindowMs;
    const [id, created] = (await this.enqueueScript.run([], [
      this.prefix, Date.now(), d.idempotencyKey ?? '', window, Math.max(1000, Math.ceil(window)), limits.maxDepth, ...insertArgs(d),
    ])) as [string, number];
    if (created < 0) throw new HookhubError('queue_full', `webhook queue is full (${limits.maxDepth} deliveries waiting)`);
    return { id, created: created === 1 };
  }

  async claim(req: ClaimRequest): Promise<DeliveryRecord[]> {
    const rows = (await this.claimScript.runBuffer([], [
      this.prefix, req.now, req.limit, req.now + req.leaseMs, req.perHost, CLAIM_SCAN, ...req.skipHosts,
    ])) as Buffer[][];
    return rows.map((flat) => fromHash(pairs(flat))).filter((r): r is DeliveryRecord => r !== undefined);
  }

  async finish(id: string, outcome: AttemptOutcome, followUp?: NewDelivery): Promise<void> {
    const now = Date.now();
    await this.finishScript.run([], [
      this.prefix, id, now, outcome.status, JSON.stringify(outcome.attempt), outcome.nextAt ?? now,
      followUp ? '1' : '0', ...(followUp ? insertArgs(followUp) : []),
    ]);
  }

  async renew(ids: readonly string[], leaseUntil: number): Promise<void> {
    if (ids.length > 0) await this.leasesScript.run([], [this.prefix, 'renew', leaseUntil, ...ids]);
  }

  async release(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.leasesScript.run([], [this.prefix, 'release', Date.now(), ...ids]);
  }

  /** Shared store: only claims whose lease ended by `now` (another node may hold the others, alive). */
  async recover(now: number): Promise<number> {
    return Number(await this.leasesScript.run([], [this.prefix, 'recover', now]));
  }

  async nextDueAt(): Promise<number | undefined> {
    const [due, lease] = results<string[]>(await this.client.multi()
      .zrange(this.due, '0', '0', 'WITHSCORES')
      .zrange(this.claimed, '0', '0', 'WITHSCORES')
      .exec());
    const times = [due?.[1], lease?.[1]].filter((t): t is string => t !== undefined).map(Number);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    return fromHash(await this.client.hgetallBuffer(this.key(id)));
  }

  private async records(ids: readonly string[]): Promise<DeliveryRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetallBuffer(this.key(id));
    const out: DeliveryRecord[] = [];
    for (const [err, h] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      const r = fromHash(h as Record<string, Buffer>);
      if (r) out.push(r);
    }
    return out;
  }

  async list(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const log = `${this.prefix}dq:log`;
    const ids: string[] = [];
    let max = q.before === undefined ? '+inf' : `(${q.before}`;
    const filtered = q.status !== undefined || q.target !== undefined;
    while (ids.length < q.limit) {
      const page = await this.client.zrevrangebyscore(log, max, '-inf', 'WITHSCORES', 'LIMIT', 0, filtered ? LIST_PAGE : q.limit - ids.length);
      const pageIds = page.filter((_, i) => i % 2 === 0);
      if (pageIds.length === 0) break;
      if (!filtered) ids.push(...pageIds);
      else {
        const pipeline = this.client.pipeline();
        for (const id of pageIds) pipeline.hmget(this.key(id), 'status', 'url');
        const rows = (await pipeline.exec()) ?? [];
        pageIds.forEach((id, i) => {
          const [err, row] = rows[i] ?? [null, null];
          if (err) throw err;
          const [status, url] = (row ?? [null, null]) as [string | null, string | null];
          if (status === null || url === null || ids.length >= q.limit) return;
          if (q.status !== undefined && status !== q.status) return;
          if (q.target !== undefined && !matchesTarget(url, q.target)) return;
          ids.push(id);
        });
      }
      max = `(${page[page.length - 1]}`;
      if (pageIds.length < (filtered ? LIST_PAGE : 1)) break;
    }
    return this.records(ids.slice(0, q.limit));
  }

  async retry(id: string, now: number): Promise<'queued' | 'in_flight' | 'not_found'> {
    return (await this.retryScript.run([], [this.prefix, id, now])) as 'queued' | 'in_flight' | 'not_found';
  }

  async park(id: string): Promise<void> {
    await this.parkScript.run([], [this.prefix, id]);
  }

  /** Parked ids share one score: their seqs give the order. */
  async unpark(matches: (d: ParkedDelivery) => boolean, now: number, limit = Infinity): Promise<number> {
    const ids = await this.client.zrangebyscore(this.due, PARKED, PARKED);
    if (ids.length === 0) return 0;
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hmget(this.key(id), 'url', 'seq', 'created');
    const rows = results<[string | null, string | null, string | null]>(await pipeline.exec());
    const chosen = ids
      .map((id, i) => ({ id, url: rows[i]?.[0] ?? null, seq: Number(rows[i]?.[1]), createdAt: Number(rows[i]?.[2]) }))
      .filter((p) => p.url !== null && matches({ url: p.url, createdAt: p.createdAt }))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((p) => p.id);
    let n = 0;
    for (let i = 0; i < chosen.length; i += 500) n += Number(await this.unparkScript.run([], [this.prefix, now, ...chosen.slice(i, i + 500)]));
    return n;
  }

  async depth(): Promise<number> {
    const [due, claimed] = results<number>(await this.client.multi().zcard(this.due).zcard(this.claimed).exec());
    return Number(due) + Number(claimed);
  }

  async pruneBeyond(keep: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = Number(await this.pruneScript.run([], [this.prefix, 0, PRUNE_BATCH, keep]));
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }

  async prune(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = Number(await this.pruneScript.run([], [this.prefix, before, PRUNE_BATCH]));
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }
}
