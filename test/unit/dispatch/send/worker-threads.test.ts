// Delivery threads over real sockets: outcomes come back intact, aborts reach the thread, the SSRF guard
// runs there too, and a thread that dies fails its attempts in flight (retryable) and is replaced.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { threadSender, type ThreadSender } from '../../../../src/dispatch/send/worker-threads.js';

const servers: Server[] = [];
const senders: ThreadSender[] = [];
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function sender(allowPrivateTargets = true, errors: string[] = []): ThreadSender {
  const s = threadSender({ allowPrivateTargets, connections: 4, threads: 2, onError: (m) => errors.push(m) });
  senders.push(s);
  return s;
}

describe('thread sender', () => {
  it('sends method, headers and body, and hands back status, headers and the body up to the cap', async () => {
    const url = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(201, { 'x-echo-method': req.method ?? '', 'x-echo-header': String(req.headers['x-test']) });
        res.end(Buffer.concat([Buffer.from('got:'), ...chunks]));
      });
    });
    const s = sender();
    const r = await s.send({ url: `${url}/p?q=1`, method: 'PUT', headers: { 'x-test': 'yes' }, body: Buffer.from('héllo'), timeoutMs: 5000, keepBytes: 7, successHeaders: true });
    expect(r).toMatchObject({ kind: 'response', status: 201, truncated: true });
    if (r.kind !== 'response') throw new Error('no response');
    expect(r.headers['x-echo-method']).toBe('PUT');
    expect(r.headers['x-echo-header']).toBe('yes');
    expect(Buffer.isBuffer(r.body)).toBe(true);
    expect(r.body.toString('latin1')).toBe(Buffer.from('got:héllo').subarray(0, 7).toString('latin1'));
  });

  it('times out in the thread, and an abort from this thread ends an attempt in flight', async () => {
    const url = await serve(() => {}); // never answers
    const s = sender();
    expect(await s.send({ url, method: 'GET', headers: {}, timeoutMs: 200, keepBytes: 10 })).toMatchObject({ kind: 'error', timeout: true });
    const aborts = new Set<(reason: Error) => void>();
    const pending = s.send({ url, method: 'GET', headers: {}, timeoutMs: 10_000, keepBytes: 10, aborts });
    await new Promise((r) => setTimeout(r, 100));
    expect(aborts.size).toBe(1);
    for (const abort of aborts) abort(new Error('attempt abandoned (shutdown)'));
    expect(await pending).toMatchObject({ kind: 'error', timeout: false, error: expect.stringContaining('abandoned') });
    expect(aborts.size).toBe(0);
  });

  it('refuses a loopback target at connect time without --allow-private-targets', async () => {
    const url = await serve((_req, res) => res.end('ok'));
    const s = sender(false);
    expect(await s.send({ url: url.replace('127.0.0.1', 'localhost'), method: 'GET', headers: {}, timeoutMs: 2000, keepBytes: 10 }))
      .toMatchObject({ kind: 'error', refused: true });
  });

  it('a thread that dies fails its attempts in flight as network errors; sending goes on in this thread', async () => {
    const hang = await serve(() => {});
    const ok = await serve((_req, res) => res.end('ok'));
    const errors: string[] = [];
    const s = sender(true, errors);
    const inFlight = Promise.all([0, 1, 2, 3].map((i) => s.send({ url: `${hang}/${i}`, method: 'GET', headers: {}, timeoutMs: 10_000, keepBytes: 10 })));
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(s.workers.map((w) => w.terminate()));
    for (const r of await inFlight) expect(r).toMatchObject({ kind: 'error', timeout: false, refused: false, error: expect.stringContaining('delivery thread exited') });
    expect(errors.some((m) => m.includes('sending from the main thread'))).toBe(true);
    expect(await s.send({ url: ok, method: 'GET', headers: {}, timeoutMs: 2000, keepBytes: 10 })).toMatchObject({ kind: 'response', status: 200 });
  });
});
