// The real CLI: configuration errors, --help, readiness, metrics, graceful shutdown.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { runCli, spawnHub } from '../helpers/process.js';
import { startHub, tempDir } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';

describe('command line', () => {
  it.each([
    [['serve', '--port', 'abc'], {}, /--port/],
    [['serve'], { HOOKHUB_STORE: 'cassandra' }, /--store/],
    [['serve', '--no-such-flag'], {}, /no-such-flag/],
    [['serve'], { HOOKHUB_MAX_BODY: 'lots' }, /--max-body/],
  ])('a bad option %j %j fails at start with one line naming it, exit 2', async (args, env, pattern) => {
    const run = runCli(args, env);
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(pattern);
  });

  it('an unknown key in the config file fails naming it', async () => {
    const file = join(tempDir(), 'hookhub.yaml');
    writeFileSync(file, 'port: 0\nlisten-everywhere: true\n');
    const run = runCli(['serve', '--config', file]);
    expect((await run.exited).code).toBe(2);
    expect(run.stderr.join('\n')).toMatch(/unknown option "listen-everywhere"/);
  });

  it('serve --help lists every option with its default and variable', async () => {
    const run = runCli(['serve', '--help']);
    expect((await run.exited).code).toBe(0);
    const text = run.stdout.join('\n');
    for (const opt of ['--port', '--host', '--store', '--data-dir', '--redis-url', '--api-key', '--signing-secret', '--cb-url', '--retry-schedule', '--history-size', '--public-url', '--allow-private-targets']) {
      expect(text).toContain(opt);
    }
    expect(text).toContain('HOOKHUB_REDIS_URL');
    expect(text).toMatch(/--port <int>.*\(default 8080\)/);
  });

  it('serves on the sqlite default, ends streams and exits 0 on SIGTERM', async () => {
    const dataDir = tempDir();
    const hub = await spawnHub({ HOOKHUB_DATA_DIR: dataDir });
    expect((await call(`${hub.url}/healthz`)).status).toBe(200);
    expect((await call<{ store: string }>(`${hub.url}/readyz`)).body).toMatchObject({ status: 'ready', store: 'sqlite' });
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=bye`);
    await call(`${hub.url}/api/topics/bye/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'last' });
    await client.waitForLines(1);
    hub.proc.kill('SIGTERM');
    await client.ended();
    expect(client.res.complete).toBe(true); // a clean end of the chunked body, not a reset
    expect(await hub.exited).toEqual({ code: 0, signal: null });
    expect(hub.stdout.some((l) => l.includes('shutting down'))).toBe(true);

    // What was accepted is still there after the restart.
    const again = await spawnHub({ HOOKHUB_DATA_DIR: dataDir });
    const history = await call<{ messages: Array<{ data: string }> }>(`${again.url}/api/topics/bye/history`);
    expect(history.body.messages.map((m) => m.data)).toEqual(['last']);
    again.proc.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('refuses a second server on a data directory in use, in one line, and the first keeps serving', async () => {
    const dataDir = tempDir();
    const first = await spawnHub({ HOOKHUB_DATA_DIR: dataDir });
    const second = runCli(['serve'], { HOOKHUB_PORT: '0', HOOKHUB_DATA_DIR: dataDir });
    expect((await second.exited).code).toBe(2);
    expect(second.stderr.join('\n')).toMatch(/^hookhub: cannot start: the data directory .* is in use by another Hookhub process/);
    expect((await call(`${first.url}/readyz`)).status).toBe(200);
    // kill -9 frees it: the next server starts on the same directory.
    first.proc.kill('SIGKILL');
    await first.exited;
    const next = await spawnHub({ HOOKHUB_DATA_DIR: dataDir });
    expect((await call(`${next.url}/readyz`)).status).toBe(200);
    next.proc.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  });

  it('logs one line per request without secrets', async () => {
    const hub = await spawnHub({ HOOKHUB_STORE: 'memory', HOOKHUB_STREAM_KEY: 'topsecret', HOOKHUB_API_KEY: 'apikey123' });
    await call(`${hub.url}/sse?topic=x&key=wrong-but-secret`);
    await call(`${hub.url}/dispatch`, { method: 'POST', headers: { authorization: 'Bearer apikey123' } });
    await until(() => hub.stdout.filter((l) => l.includes('"msg":"request"')).length >= 2, 'request log lines');
    const all = hub.stdout.join('\n');
    expect(all).not.toContain('wrong-but-secret');
    expect(all).not.toContain('apikey123');
    expect(all).not.toContain('topsecret');
    expect(hub.stdout.filter((l) => l.includes('/sse?topic=x&key=[redacted]'))).toHaveLength(1);
  });
});

describe('operations', () => {
  it('/metrics exposes connections, published and delivered counts', async () => {
    const hub = await startHub();
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=m`);
    await call(`${hub.url}/api/topics/m/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    await client.waitForLines(1);
    const text = await until(async () => {
      const t = (await call(`${hub.url}/metrics`)).text;
      return /hookhub_messages_delivered_total\{transport="stream"\} 1/.test(t) ? t : undefined;
    }, 'delivered metric');
    expect(text).toMatch(/hookhub_connections\{transport="stream"\} 1/);
    expect(text).toMatch(/hookhub_messages_published_total 1/);
    client.close();
  });
});
