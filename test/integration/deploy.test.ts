// examples/deploy, as docs/operations.md uses it: the systemd unit passes `systemd-analyze verify`, the nginx
// recipe proxies a real Hookhub over TLS (HTTP, SSE, WebSocket upgrade, the redirect), the Grafana dashboard
// covers every hookhub_* metric the server exports, and backup.mjs copies a running sqlite store that restores.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { freePort } from '../helpers/free-port.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const deploy = (name: string) => join(root, 'examples/deploy', name);
const run = promisify(execFile);
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});

describe('examples/deploy/hookhub.service', () => {
  it.skipIf(!has('systemd-analyze'))('passes systemd-analyze verify without a warning', async () => {
    // verify checks that ExecStart's program exists: a stand-in at the path, the unit otherwise as shipped.
    const dir = tempDir();
    const program = join(dir, 'hookhub');
    writeFileSync(program, '#!/bin/sh\nexit 0\n');
    chmodSync(program, 0o755);
    const unit = readFileSync(deploy('hookhub.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/local/bin/hookhub serve ');
    writeFileSync(join(dir, 'hookhub.service'), unit.replaceAll('/usr/local/bin/hookhub', program));
    const result = spawnSync('systemd-analyze', ['verify', join(dir, 'hookhub.service')], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('examples/deploy/nginx.conf', () => {
  it.skipIf(!has('nginx') || !has('openssl'))('proxies Hookhub over TLS: HTTP, SSE as it happens, the WebSocket upgrade, http → https', async () => {
    const hub = await startHub();
    const dir = tempDir();
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hooks.example.com',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    // The recipe as shipped, but on free ports, this hub, the test certificate and IPv4 only.
    const site = readFileSync(deploy('nginx.conf'), 'utf8')
      .replace(/^\s*listen \[::\]:\d+.*$/gm, '')
      .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
      .replace('listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`)
      .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${new URL(hub.url).port};`)
      .replace('/etc/letsencrypt/live/hooks.example.com/fullchain.pem', join(dir, 'cert.pem'))
      .replace('/etc/letsencrypt/live/hooks.example.com/privkey.pem', join(dir, 'key.pem'));
    writeFileSync(join(dir, 'hookhub.conf'), site);
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/hookhub.conf;
}
`);
    const test = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    expect(test.stderr).toContain('syntax is ok');
    expect(test.status).toBe(0);
    const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(nginx);
    const base = `https://127.0.0.1:${tlsPort}`;
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = request(`${base}${path}`, { rejectUnauthorized: false, headers: { host: 'hooks.example.com', ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject).end();
      });
    await until(async () => (await get('/healthz').catch(() => ({ status: 0 }))).status === 200 || undefined, 'nginx up', 10_000);
    expect(JSON.parse((await get('/healthz')).body)).toEqual({ status: 'ok' });

    // SSE through the proxy: the event arrives while the response is still open (not held in a buffer).
    const events: string[] = [];
    const sse = request(`${base}/sse?topic=through-nginx`, { rejectUnauthorized: false, headers: { host: 'hooks.example.com', accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8').on('data', (d: string) => events.push(d));
    });
    sse.on('error', () => {}).end();
    await until(() => events.length > 0 || undefined, 'the SSE stream open', 10_000);
    const published = await fetch(`${hub.url}/api/topics/through-nginx/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    expect(published.status).toBe(202);
    await until(() => events.join('').includes('"data":{"n":1}') || undefined, 'the event through nginx', 10_000);
    sse.destroy();

    // WebSocket: the upgrade passes, and a CONNECT is answered.
    const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/ws`, { rejectUnauthorized: false, headers: { host: 'hooks.example.com' } });
    const frames: unknown[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    ws.send(JSON.stringify([0, 'CONNECT', { payload: { name: 'via-nginx' } }]));
    await until(() => frames.some((f) => Array.isArray(f) && f[1] === 'CONNECTED') || undefined, 'CONNECTED through nginx', 10_000);
    ws.close();

    // Plain HTTP is redirected to https.
    const plain = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      httpRequest(`http://127.0.0.1:${httpPort}/healthz`, { headers: { host: 'hooks.example.com' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      }).on('error', reject).end();
    });
    expect(plain).toEqual({ status: 301, location: 'https://hooks.example.com/healthz' });
  });
});

describe('examples/deploy/grafana-dashboard.json', () => {
  it('charts every hookhub_* metric the server exports, and only those; process panels use the standard names', async () => {
    const hub = await startHub();
    const exported = new Set([...(await (await fetch(`${hub.url}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const dashboard = JSON.parse(readFileSync(deploy('grafana-dashboard.json'), 'utf8')) as { panels: Array<{ type: string; targets?: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:hookhub|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
    const hookhub = [...exported].filter((n) => n.startsWith('hookhub_')).sort();
    expect(hookhub.length).toBeGreaterThan(20);
    expect(hookhub.filter((n) => !used.has(n))).toEqual([]);
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    expect([...used].some((n) => n.startsWith('process_')) && [...used].some((n) => n.startsWith('nodejs_'))).toBe(true);
  });
});

describe('examples/deploy/backup.mjs', () => {
  it('backs up a running sqlite store; the copy restores what was there at the backup', async () => {
    const dataDir = tempDir();
    const hub = await startHub({ store: 'sqlite', dataDir });
    const publish = (n: number) => fetch(`${hub.url}/api/topics/orders/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
    for (const n of [1, 2, 3]) expect((await publish(n)).status).toBe(202);
    const backup = join(tempDir(), 'hookhub-backup.db');
    // While the hub runs and keeps writing.
    const writing = publish(4);
    const { stdout } = await run(process.execPath, [deploy('backup.mjs'), join(dataDir, 'hookhub.db'), backup]);
    await writing;
    expect(stdout).toMatch(/^backup .*: integrity ok, 1 topics, [34] messages, 0 deliveries\n$/);
    expect((await publish(5)).status).toBe(202);
    await stopHub(hub);

    if (has('sqlite3')) {
      // The same with the sqlite3 command line (docs/operations.md gives both).
      const cli = join(tempDir(), 'cli.db');
      await run('sqlite3', [join(dataDir, 'hookhub.db'), '.timeout 5000', `.backup ${cli}`]);
      expect((await run('sqlite3', [cli, 'PRAGMA integrity_check; SELECT count(*) FROM messages;'])).stdout).toBe('ok\n5\n');
    }

    // Restore: the copy as <data-dir>/hookhub.db of a stopped server.
    const restoredDir = tempDir();
    copyFileSync(backup, join(restoredDir, 'hookhub.db'));
    const restored = await startHub({ store: 'sqlite', dataDir: restoredDir });
    const history = (await (await fetch(`${restored.url}/api/topics/orders/history`)).json()) as { messages: Array<{ data: { n: number } }> };
    const ns = history.messages.map((m) => m.data.n);
    expect(ns.slice(0, 3)).toEqual([1, 2, 3]);
    expect(ns).not.toContain(5);
    // A second run refuses to overwrite a backup.
    const again = await run(process.execPath, [deploy('backup.mjs'), join(restoredDir, 'hookhub.db'), backup]).catch((err: { code: number; stderr: string }) => err);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('exists') });
  });
});
