// The Redis store's one registry of live nodes (node-leases.ts), with parts of its own: each part holds a key
// per node and its reap deletes it in a Lua step that checks the lease, as presence and the Pusher roster do.
// Several registries in one process are several nodes (each on its own connection, in its own key prefix).
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { LEASE_LIVE_LUA, NodeLeases, type LeasePart } from '../../../src/store/redis/node-leases.js';
import { defineScript, type Script } from '../../../src/store/redis/script.js';
import { REDIS_URL, redisPrefix, testRedis } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

// Short leases, so that a node is dead within a second; survivors whose lease lasts the whole test.
const TIMING = { leaseMs: 600, renewMs: 150 };
const LONG = { leaseMs: 60_000, renewMs: 150 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// KEYS: the lease zset, the node's key. ARGV: node, now. 1 when this call took the node's key out.
const REAP = `${LEASE_LIVE_LUA}
if leaseLive(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
return redis.call('DEL', KEYS[2])`;

/** A part holding one key per node; counts the reaps that took something out, and the times it told its state again. */
class KeyPart implements LeasePart {
  reaped: string[] = [];
  retold = 0;
  leftCalls: boolean[] = [];
  /** Reaps that fail before reaching Redis (the next step must try them again). */
  failures = 0;
  private readonly script: Script;

  constructor(private readonly client: Redis, private readonly prefix: string, private readonly name: string, private readonly leases: NodeLeases) {
    this.script = defineScript(client, `testLeasePart${name}`, 2, REAP);
    leases.add(this);
  }

  key(node: string): string {
    return `${this.prefix}part:${this.name}:${node}`;
  }

  /** This node's state, as the part writes it. */
  async hold(): Promise<void> {
    await this.client.set(this.key(this.leases.node), '1');
  }

  async renewed(lapsed: boolean): Promise<void> {
    if (!lapsed) return;
    this.retold++;
    await this.hold();
  }

  async reap(node: string): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`${this.name}: reap failed`);
    }
    if (Number(await this.script.run([this.leases.key, this.key(node)], [node, Date.now()])) === 1) this.reaped.push(node);
  }

  async left(alone: boolean): Promise<void> {
    this.leftCalls.push(alone);
  }
}

interface TestNode {
  leases: NodeLeases;
  parts: [KeyPart, KeyPart];
  client: Redis;
}

const opened: Redis[] = [];
const registries: NodeLeases[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.close();
  for (const c of opened.splice(0)) c.disconnect();
});

function node(prefix: string, timing = TIMING): TestNode {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  opened.push(client);
  const leases = new NodeLeases(client, prefix, timing);
  registries.push(leases);
  return { leases, client, parts: [new KeyPart(client, prefix, 'one', leases), new KeyPart(client, prefix, 'two', leases)] };
}

async function holdAll(n: TestNode): Promise<void> {
  for (const p of n.parts) await p.hold();
}

const exists = async (key: string): Promise<boolean> => (await testRedis().exists(key)) === 1;
const reapsOf = (nodes: TestNode[], part: 0 | 1, dead: string): number => nodes.reduce((n, x) => n + x.parts[part].reaped.filter((d) => d === dead).length, 0);

describe('redis node leases', () => {
  it('renewed leases keep nodes alive: none is reaped, each sees the other; a clean stop ends the lease at once', async () => {
    const prefix = redisPrefix();
    const a = node(prefix);
    const b = node(prefix);
    await a.leases.start();
    await b.leases.start();
    await holdAll(a);
    await holdAll(b);
    await sleep(TIMING.leaseMs * 3);
    expect(await a.leases.liveOthers()).toEqual([b.leases.node]);
    expect(await b.leases.liveOthers()).toEqual([a.leases.node]);
    // Told once, at the first renewal (a node starting anew), never again while renewed in time.
    for (const n of [a, b]) {
      for (const p of n.parts) expect([p.reaped, p.retold]).toEqual([[], 1]);
    }
    expect(await exists(a.parts[0].key(a.leases.node))).toBe(true);

    await a.leases.close();
    expect(a.parts.map((p) => p.leftCalls)).toEqual([[false], [false]]);
    expect(await b.leases.liveOthers()).toEqual([]);
    await until(async () => !(await exists(a.parts[1].key(a.leases.node))), 'the stopped node reaped');
    expect(b.parts.map((p) => p.reaped)).toEqual([[a.leases.node], [a.leases.node]]);
    await until(async () => (await testRedis().zscore(a.leases.key, a.leases.node)) === null, 'the stopped node forgotten');
    await b.leases.close();
    expect(b.parts.map((p) => p.leftCalls)).toEqual([[true], [true]]);
  });

  it('a dead node is reaped exactly once per part when two survivors race', async () => {
    const prefix = redisPrefix();
    const dead = node(prefix);
    const a = node(prefix, LONG);
    const b = node(prefix, LONG);
    await dead.leases.tick();
    await holdAll(dead);
    // Killed: its lease is not renewed any more.
    dead.client.disconnect();
    await a.leases.tick();
    await b.leases.tick();
    await sleep(TIMING.leaseMs + 50);
    for (let i = 0; i < 3; i++) await Promise.all([a.leases.tick(), b.leases.tick()]);
    const gone = dead.leases.node;
    expect([reapsOf([a, b], 0, gone), reapsOf([a, b], 1, gone)]).toEqual([1, 1]);
    for (const p of dead.parts) expect(await exists(p.key(gone))).toBe(false);
    expect(await testRedis().zscore(a.leases.key, gone)).toBeNull();
  });

  it('a part whose reap failed is tried again at the next step, and the others are not reaped twice', async () => {
    const prefix = redisPrefix();
    const dead = node(prefix);
    const a = node(prefix, LONG);
    await dead.leases.tick();
    await holdAll(dead);
    dead.client.disconnect();
    a.parts[0].failures = 1;
    await sleep(TIMING.leaseMs + 50);
    const gone = dead.leases.node;
    await a.leases.tick();
    expect(a.parts.map((p) => p.reaped)).toEqual([[], [gone]]);
    expect(await exists(dead.parts[0].key(gone))).toBe(true);
    // Still in the zset: the next step finds it dead again.
    expect(await testRedis().zscore(a.leases.key, gone)).not.toBeNull();
    expect(a.leases.errors).toBe(1);
    await a.leases.tick();
    expect(a.parts.map((p) => p.reaped)).toEqual([[gone], [gone]]);
    expect(await exists(dead.parts[0].key(gone))).toBe(false);
    expect(await testRedis().zscore(a.leases.key, gone)).toBeNull();
  });

  it('a node reaped while alive (paused past its lease) registers again and tells its state again', async () => {
    const prefix = redisPrefix();
    const paused = node(prefix);
    const a = node(prefix, LONG);
    await paused.leases.tick();
    await holdAll(paused);
    await a.leases.tick();
    await sleep(TIMING.leaseMs + 50);
    await a.leases.tick();
    const id = paused.leases.node;
    expect(a.parts.map((p) => p.reaped)).toEqual([[id], [id]]);
    for (const p of paused.parts) expect(await exists(p.key(id))).toBe(false);

    await paused.leases.tick();
    expect(paused.parts.map((p) => p.retold)).toEqual([2, 2]);
    for (const p of paused.parts) expect(await exists(p.key(id))).toBe(true);
    await a.leases.tick();
    expect(await a.leases.liveOthers()).toEqual([id]);
    expect(a.parts.map((p) => p.reaped)).toEqual([[id], [id]]);
    for (const p of paused.parts) expect(await exists(p.key(id))).toBe(true);
    // A renewal in time tells nothing again.
    await paused.leases.tick();
    expect(paused.parts.map((p) => p.retold)).toEqual([2, 2]);
  });
});
