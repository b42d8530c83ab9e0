// Redis unreachable: /readyz 503 while it is away; at start, exit 2 with one line, or wait with --redis-wait.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.js';
import { showRedisUrl } from '../../src/store/redis.js';
import { RedisProxy, escapeRegExp, redisPrefix, redisProxy, redisUrlAt } from '../helpers/redis.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { getJson } from './nodes.js';

describe('cluster: Redis unreachable', () => {
  it('/readyz answers 503 while Redis is unreachable and 200 once it is back', async () => {
    const proxy = await redisProxy();
    const hub = await startHub({ store: 'redis', redisUrl: proxy.url, redisPrefix: redisPrefix() });
    expect((await getJson(`${hub.url}/readyz`)).status).toBe(200);
    await proxy.cut();
    const down = await getJson<{ status: string; store: string; error: string }>(`${hub.url}/readyz`);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', store: 'redis' });
    expect(down.body.error).toMatch(/Redis/);
    expect((await getJson(`${hub.url}/healthz`)).status).toBe(200);
    await proxy.restore();
    await until(async () => (await getJson(`${hub.url}/readyz`)).status === 200, '/readyz 200 again');
  });

  it('--store redis with Redis unreachable exits 2 with one line naming --redis-url', async () => {
    const run = runCli(['serve', '--store', 'redis', '--redis-url', 'redis://127.0.0.1:1', '--port', '0']);
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(/^hookhub: cannot start: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1 \(--redis-url\)/);
  });

  it('--redis-wait waits with a log line and serves once Redis answers', async () => {
    const port = await RedisProxy.freePort();
    const run = runCli(['serve', '--store', 'redis', '--redis-url', redisUrlAt(port), '--redis-prefix', redisPrefix(), '--redis-wait', '--port', '0']);
    await until(() => run.stderr.find((l) => l.includes('waiting for Redis')), 'the waiting line', 15_000);
    expect(run.stderr[0]).toMatch(new RegExp(`^hookhub: waiting for Redis at ${escapeRegExp(showRedisUrl(redisUrlAt(port)))} \\(--redis-wait\\)`));
    expect(run.proc.exitCode).toBeNull();
    await redisProxy(port);
    const listening = await until(() => run.stdout.find((l) => l.includes('hookhub listening')), 'listening', 15_000);
    const { url } = JSON.parse(listening) as { url: string };
    expect((await getJson(`${url}/readyz`)).status).toBe(200);
  });
});
