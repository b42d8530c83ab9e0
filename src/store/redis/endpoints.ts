// Endpoint settings, health and flow-control permits shared by every node. Records live in one hash
// (`ep:records`, id → "<version> <json>", written by compare-and-set); a concurrency slot is a member of
// `ep:slots:<id>` scored by when it lapses (a dead node's slots come back); the token bucket is
// `ep:bucket:<id>`. Permits use Redis's clock, so nodes with skewed clocks share one bucket fairly.
import type { Redis } from 'ioredis';
import type { EndpointBook, EndpointLimiter, EndpointRecord, FlowLimits, PermitAnswer } from '../contracts/endpoints.js';
import { SLOT_RETRY_MS } from '../local/endpoint-limiter.js';
import { defineScript, type Script } from './script.js';

// KEYS: records hash; ARGV: id, expected version, json
const PUT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = 0
if cur then v = tonumber(string.match(cur, '^(%d+) ')) end
if v ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], (v + 1) .. ' ' .. ARGV[3])
return 1`;

// KEYS: slots zset, bucket hash; ARGV: delivery id, concurrency, rate, burst, holdMs, slotRetryMs
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local conc, rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= conc then return tonumber(ARGV[6]) end
end
if rate > 0 then
  if burst < 1 then burst = 1 end
  local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local tokens, at = tonumber(b[1]) or burst, tonumber(b[2]) or now
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  if tokens < 1 then
    redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', now)
    return math.max(1, math.ceil((1 - tokens) * 1000 / rate))
  end
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'at', now)
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst * 1000 / rate) + 60000)
end
if conc > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]) + 60000)
end
return 0`;

export class RedisEndpointBook implements EndpointBook {
  private readonly putScript: Script;
  private readonly key: string;

  constructor(private readonly client: Redis, prefix: string) {
    this.putScript = defineScript(client, 'hookhubEpPut', 1, PUT);
    this.key = `${prefix}ep:records`;
  }

  private static parse(value: string): EndpointRecord {
    const space = value.indexOf(' ');
    return { ...(JSON.parse(value.slice(space + 1)) as EndpointRecord), version: Number(value.slice(0, space)) };
  }

  async list(): Promise<EndpointRecord[]> {
    const all = await this.client.hgetall(this.key);
    return Object.values(all).map(RedisEndpointBook.parse).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(id: string): Promise<EndpointRecord | undefined> {
    const value = await this.client.hget(this.key, id);
    return value === null ? undefined : RedisEndpointBook.parse(value);
  }

  async put(record: EndpointRecord): Promise<boolean> {
    const { version, ...rest } = record;
    return Number(await this.putScript.run([this.key], [record.id, version, JSON.stringify(rest)])) === 1;
  }

  async remove(id: string): Promise<void> {
    await this.client.hdel(this.key, id);
  }
}

export class RedisEndpointLimiter implements EndpointLimiter {
  private readonly acquireScript: Script;

  constructor(private readonly client: Redis, private readonly prefix: string) {
    this.acquireScript = defineScript(client, 'hookhubEpAcquire', 2, ACQUIRE);
  }

  async acquire(endpoint: string, deliveryId: string, limits: FlowLimits, _now: number, holdMs: number): Promise<PermitAnswer> {
    const wait = Number(await this.acquireScript.run(
      [`${this.prefix}ep:slots:${endpoint}`, `${this.prefix}ep:bucket:${endpoint}`],
      [deliveryId, limits.concurrency, limits.rate, limits.burst, holdMs, SLOT_RETRY_MS],
    ));
    return wait === 0 ? { granted: true } : { granted: false, retryInMs: wait };
  }

  async release(endpoint: string, deliveryId: string): Promise<void> {
    await this.client.zrem(`${this.prefix}ep:slots:${endpoint}`, deliveryId);
  }
}
