// A node killed (SIGKILL) while holding webhook claims: another node takes its deliveries over once
// the claims' lease lapses (the dispatcher leases for 6 s, renews every 2 s, looks again every 3 s at most).
import { describe, expect, it } from 'vitest';
import { dispatchForm } from '../helpers/dispatch.js';
import { spawnHub } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';
import { REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { getJson } from './nodes.js';

// DESIGN: a dead node's claimed deliveries are taken over within 10 s.
const TAKEOVER_MS = 10_000;

describe('cluster: failover', () => {
  it('deliveries claimed by a node killed with SIGKILL are taken over by another node once their lease lapses', async () => {
    const prefix = redisPrefix();
    const env = { HOOKHUB_STORE: 'redis', HOOKHUB_REDIS_URL: REDIS_URL, HOOKHUB_REDIS_PREFIX: prefix, HOOKHUB_ALLOW_PRIVATE_TARGETS: '1' };
    const doomed = await spawnHub(env);
    const survivor = await startHub({ store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix });
    // First attempts hang (the doomed node holds them when it dies); later ones succeed.
    const seen = new Map<string, number[]>();
    const receiver = await Receiver.start((req, res) => {
      const id = req.headers['webhook-id'] as string;
      seen.set(id, [...(seen.get(id) ?? []), req.at]);
      if ((seen.get(id) ?? []).length > 1) {
        res.writeHead(200);
        res.end();
      }
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await dispatchForm(doomed.url, { _url: `${receiver.url}/hook`, n: String(i) })).json.id as string);
    await receiver.waitFor(5);
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();
    await receiver.waitFor(10, 15_000);
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    for (const times of seen.values()) {
      expect(times).toHaveLength(2);
      expect(times[1]! - killedAt).toBeLessThanOrEqual(TAKEOVER_MS);
    }
    await until(async () => {
      const { body } = await getJson<{ deliveries: Array<{ status: string }> }>(`${survivor.url}/api/deliveries?status=succeeded`);
      return body.deliveries.length === 5;
    }, 'the survivor records the deliveries as succeeded');
  }, 30_000);

});
