// Redis unreachable: /readyz 503 while it is away; at start, exit 2 with one line, or wait with --redis-wait.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.js';
import { showRedisUrl } from '../../src/store/redis/index.js';
import { RedisProxy, escapeRegExp, redisPrefix, redisProxy, redisUrlAt } from '../helpers/redis.js';
import { call, postForm } from '../helpers/http.js';
import { restAuth, restful } from '../helpers/rest-key.js';
import { startHub } from '../helpers/server.js';
import { HookboxClient } from '../helpers/ws-client.js';
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

  it('every producer edge refuses at once with a clear store_unavailable while Redis is away; nothing is committed', async () => {
    const proxy = await redisProxy();
    const hub = await startHub({ ...restful, store: 'redis', redisUrl: proxy.url, redisPrefix: redisPrefix() });
    const browser = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    browser.send('SUBSCRIBE', { channel_name: 'room' });
    await browser.frame('SUBSCRIBE', (a) => a.channel_name === 'room');
    await proxy.cut();
    await until(async () => (await getJson(`${hub.url}/readyz`)).status === 503, '/readyz 503');

    const unavailable = /^store unavailable: Redis is unreachable \(connection \w+\); try again later$/;
    for (const [what, res] of [
      ['/dispatch _topic', await postForm(`${hub.url}/dispatch`, { _topic: 'orders', n: '1' }, restAuth)],
      ['/dispatch _url', await postForm(`${hub.url}/dispatch`, { _url: 'http://127.0.0.1:9/hook', n: '1' }, restAuth)],
      ['/api/topics publish', await call(`${hub.url}/api/topics/orders/publish`, { method: 'POST', headers: { 'content-type': 'text/plain', ...restAuth }, body: 'x' })],
    ] as const) {
      expect([what, res.status, res.headers.get('retry-after')]).toEqual([what, 503, '1']);
      expect(res.body).toMatchObject({ code: 'store_unavailable', error: expect.stringMatching(unavailable) });
    }
    for (const fields of [
      { 'hub.mode': 'publish', 'hub.url': 'http://127.0.0.1:9/feed' } as Record<string, string>,
      { 'hub.mode': 'subscribe', 'hub.topic': 'orders', 'hub.callback': 'http://127.0.0.1:9/cb' },
    ]) {
      const res = await postForm(`${hub.url}/hub`, fields, restAuth);
      expect([fields['hub.mode'], res.status, res.headers.get('retry-after')]).toEqual([fields['hub.mode'], 503, '1']);
      expect(res.text.trim()).toMatch(unavailable);
    }
    const id = browser.send('PUBLISH', { channel_name: 'room', payload: 'hi' });
    expect((await browser.error(id))[2].msg).toMatch(unavailable);
    const rest = await call(`${hub.url}/rest/publish`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify({ channel_name: 'room', payload: 1 }) });
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual([false, { msg: expect.stringMatching(unavailable) }]);

    await proxy.restore();
    await until(async () => (await getJson(`${hub.url}/readyz`)).status === 200, '/readyz 200 again');
    for (const topic of ['orders', 'room']) expect((await hub.topics.bounds(topic)).last).toBe(0);
    expect((await call<{ deliveries: unknown[] }>(`${hub.url}/api/deliveries`, { headers: restAuth })).body.deliveries).toEqual([]);
    expect((await call<{ subscriptions: unknown[] }>(`${hub.url}/api/subscriptions`, { headers: restAuth })).body.subscriptions).toEqual([]);
    expect(browser.all('PUBLISH')).toEqual([]);
    // And once Redis is back, the same publish goes through.
    expect((await postForm(`${hub.url}/dispatch`, { _topic: 'orders', n: '1' }, restAuth)).status).toBe(202);
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
