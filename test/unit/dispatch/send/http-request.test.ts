// One attempt on its own, against a real local server: answers, informational responses, the kept-bytes cap,
// the timeout, an abort from outside (shutdown) and connection errors are all values, never throws.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAttempt, type AttemptRequest } from '../../../../src/dispatch/send/http-request.js';
import { until } from '../../../helpers/wait.js';

let server: Server;
let base: string;
const agent = new Agent({ connections: 4 });
const received: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  received.push({ method: req.method, url: req.url, headers: req.headers, body });
  const path = (req.url ?? '').split('?')[0];
  if (path === '/ok') {
    res.setHeader('x-multi', ['a', 'b']);
    res.end('fine');
  } else if (path === '/hints') {
    res.writeEarlyHints({ link: '</style.css>; rel=preload' }, () => res.writeHead(201).end('made'));
  } else if (req.url === '/big') res.end('x'.repeat(100_000));
  else if (path === '/slow') setTimeout(() => res.end('late'), 2000).unref();
  else res.writeHead(503, { 'retry-after': '7' }).end();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const req = (path: string, over: Partial<AttemptRequest> = {}): AttemptRequest => ({
  url: `${base}${path}`, method: 'POST', headers: { 'content-type': 'text/plain', 'x-test': '1' }, body: Buffer.from('hello'),
  timeoutMs: 5000, keepBytes: 1024, ...over,
});

describe('sendAttempt', () => {
  it('sends method, path with query, headers and body; answers status, flattened headers and body', async () => {
    const res = await sendAttempt(agent, req('/ok?a=1&b=2', { successHeaders: true }));
    expect(res).toMatchObject({ kind: 'response', status: 200, truncated: false });
    if (res.kind !== 'response') throw new Error('no response');
    expect(res.body.toString()).toBe('fine');
    expect(res.headers['x-multi']).toBe('a, b');
    expect(res.durationMs).toBeGreaterThanOrEqual(0);
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/ok?a=1&b=2', body: 'hello', headers: { 'x-test': '1', 'content-type': 'text/plain' } });
    // Unasked, a 2xx answer's headers are not parsed (a non-2xx answer's always are: Retry-After).
    const plain = await sendAttempt(agent, req('/ok'));
    expect(plain).toMatchObject({ kind: 'response', status: 200, headers: {} });
  });

  it('skips informational responses and reports the final one; other statuses are answers too', async () => {
    const hinted = await sendAttempt(agent, req('/hints'));
    expect(hinted).toMatchObject({ kind: 'response', status: 201 });
    const failed = await sendAttempt(agent, req('/fail', { method: 'GET', body: Buffer.alloc(0) }));
    expect(failed).toMatchObject({ kind: 'response', status: 503, headers: { 'retry-after': '7' } });
    expect(received.at(-1)).toMatchObject({ method: 'GET', body: '' });
  });

  it('keeps at most keepBytes of the body, marked truncated', async () => {
    const res = await sendAttempt(agent, req('/big', { keepBytes: 1000 }));
    expect(res).toMatchObject({ kind: 'response', status: 200, truncated: true });
    if (res.kind === 'response') expect(res.body.length).toBe(1000);
  });

  it('times out as a value, and an abort from outside ends the attempt at once', async () => {
    const timedOut = await sendAttempt(agent, req('/slow', { timeoutMs: 200 }));
    expect(timedOut).toMatchObject({ kind: 'error', timeout: true, refused: false });
    if (timedOut.kind === 'error') expect(timedOut.error).toMatch(/timeout: no complete answer within 200 ms/);

    const aborts = new Set<(reason: Error) => void>();
    const pending = sendAttempt(agent, req('/slow', { aborts }));
    await until(() => aborts.size === 1 && received.filter((r) => r.url === '/slow').length === 2, 'the second slow request arrives');
    for (const abort of aborts) abort(new Error('attempt abandoned (shutdown)'));
    const abandoned = await pending;
    expect(abandoned).toMatchObject({ kind: 'error', timeout: false, error: expect.stringMatching(/abandoned/) });
    expect(aborts.size).toBe(0);
  });

  it('reports connection errors with their code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const res = await sendAttempt(agent, req('/', { url: `http://127.0.0.1:${port}/` }));
    expect(res).toMatchObject({ kind: 'error', timeout: false, refused: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
