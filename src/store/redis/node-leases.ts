// The one registry of live nodes for the Redis store: `<prefix>nodes`, a zset node → lease expiry (ms).
// Each node renews its own lease; a node whose lease passed is dead to every part of the store at once.
// The parts that keep per-node entries (presence, the Pusher roster) register here: the registry renews,
// answers which other nodes are alive, and runs each part's reap of every dead node. Each part's reap is
// its own Lua script that checks the lease (LEASE_LIVE_LUA) and takes the node's entries out in the same
// step, deleting them: so of several survivors racing, exactly one takes out each part's entries, and a
// part whose reap failed is tried again at the next step (the node leaves the zset only once every part
// reaped it). A node that finds its own lease missing or lapsed (starting, or paused, cut off) tells its
// parts to write their state again: the survivors may have reaped it.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineScript, type Script } from './script.js';

/** A node's entries live this long past its last renewal. */
export const LEASE_MS = 6000;
/** Renew (and look for dead nodes) this often. */
export const RENEW_MS = 2000;

/**
 * Lua for a part's reap script: whether `node`'s lease in the zset `nodes` has not passed at `now`.
 * A node missing from the zset is dead (it ended its lease, or was reaped already).
 */
export const LEASE_LIVE_LUA = `
local function leaseLive(nodes, node, now)
  local expiry = redis.call('ZSCORE', nodes, node)
  return expiry ~= false and tonumber(expiry) > tonumber(now)
end
`;

// KEYS: nodes. ARGV: node, expiry, now → {lapsed (1: the lease had passed or was gone), node, expiry, …}
const RENEW = `
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local out = {(old and tonumber(old) > tonumber(ARGV[3])) and 0 or 1}
for _, v in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do out[#out + 1] = v end
return out`;

// KEYS: nodes. ARGV: node, now. Forgets a reaped node, unless it renewed meanwhile.
const FORGET = `${LEASE_LIVE_LUA}
if leaseLive(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])`;

/** A part of the store with entries per node. */
export interface LeasePart {
  /**
   * After each renewal of this node's lease. `lapsed`: it had passed or was missing (the first renewal, or
   * Redis lost it), so the others may have reaped this node's entries: write them all again.
   */
  renewed(lapsed: boolean): Promise<void>;
  /**
   * Takes a dead node's entries out, if its lease has passed (or the part released them) and they are still
   * there: one Lua step, so it happens once whichever nodes race. Rejects on failure (tried again later).
   */
  reap(node: string): Promise<void>;
  /**
   * Other nodes whose entries this part wants reaped although they are not among the lapsed leases (gone from
   * the zset, or handed over); `live` as of this step. Their reap still checks the lease.
   */
  strays?(live: ReadonlySet<string>): Promise<string[]>;
  /** This node's lease just ended on a clean stop; `alone`: no other node is alive to reap it. */
  left?(alone: boolean): Promise<void>;
}

export interface LeaseTiming {
  leaseMs: number;
  renewMs: number;
}

export class NodeLeases {
  readonly node = randomUUID();
  /** Failed renewals and reaps (never fatal: the next step tries again). */
  errors = 0;
  lastError: Error | undefined;
  readonly key: string;
  private readonly parts: LeasePart[] = [];
  private readonly renewScript: Script;
  private readonly forgetScript: Script;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly client: Redis, prefix: string, readonly timing: LeaseTiming = { leaseMs: LEASE_MS, renewMs: RENEW_MS }) {
    this.key = `${prefix}nodes`;
    this.renewScript = defineScript(client, 'hookhubLeaseRenew', 1, RENEW);
    this.forgetScript = defineScript(client, 'hookhubLeaseForget', 1, FORGET);
  }

  /** Parts register before start(). */
  add(part: LeasePart): void {
    this.parts.push(part);
  }

  /** Registers this node (first renewal and reaping step), then renews every renewMs. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.timing.renewMs);
    this.timer.unref();
  }

  /** One renewal and reaping step (the timer's; a step already running is waited for instead). */
  tick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ticking ??= this.step()
      .catch((err: unknown) => this.noteError(err))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** Live nodes other than this one. */
  async liveOthers(): Promise<string[]> {
    return (await this.client.zrangebyscore(this.key, `(${Date.now()}`, '+inf')).filter((n) => n !== this.node);
  }

  /** Ends this node's lease now (its parts' entries are the survivors' to reap), then tells the parts. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.ticking;
    if (this.client.status !== 'ready') return;
    try {
      const alone = (await this.liveOthers()).length === 0;
      await this.client.zadd(this.key, 0, this.node);
      for (const part of this.parts) await part.left?.(alone).catch((err: unknown) => this.noteError(err));
    } catch (err) {
      this.noteError(err);
    }
  }

  private async step(): Promise<void> {
    const now = Date.now();
    const reply = (await this.renewScript.run([this.key], [this.node, now + this.timing.leaseMs, now])) as string[];
    const lapsed = Number(reply[0]) === 1;
    const live = new Set<string>();
    const dead = new Set<string>();
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const node = String(reply[i]);
      if (node !== this.node) (Number(reply[i + 1]) > now ? live : dead).add(node);
    }
    for (const part of this.parts) await part.renewed(lapsed).catch((err: unknown) => this.noteError(err));
    await this.reap(dead, live, now);
  }

  /** Runs every part's reap of every dead node; a node every part reaped leaves the zset. */
  private async reap(dead: ReadonlySet<string>, live: ReadonlySet<string>, now: number): Promise<void> {
    const unfinished = new Set<string>();
    for (const part of this.parts) {
      const strays = part.strays ? await part.strays(live).catch((err: unknown) => (this.noteError(err), [])) : [];
      for (const node of new Set([...dead, ...strays])) {
        if (node === this.node) continue;
        try {
          await part.reap(node);
        } catch (err) {
          unfinished.add(node);
          this.noteError(err);
        }
      }
    }
    for (const node of dead) {
      if (!unfinished.has(node)) await this.forgetScript.run([this.key], [node, now]);
    }
  }

  private noteError(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err : new Error(String(err));
  }
}
