// What the router refuses before any route runs — a path segment longer than it matches, a path that is not
// valid percent-encoding — is answered as every other error of the app: {error, code}, no echo of the path,
// over plain HTTP and on a WebSocket upgrade alike (whose socket is then let go).
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../src/server.js';
import { testConfig } from '../helpers/config.js';
import { call } from '../helpers/http.js';
import { captureLog } from '../helpers/log-capture.js';
import { rawExchange } from '../helpers/raw-post.js';
import { startHub } from '../helpers/server.js';

const bodyOf = (answer: string): unknown => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe('router refusals', () => {
  it('a topic longer than the router matches: 414 {error, code: uri_too_long}, on publish, history and /sse', async () => {
    const hub = await startHub();
    const long = 't'.repeat(1100);
    for (const [method, path] of [['POST', `/api/topics/${long}/publish`], ['GET', `/api/topics/${long}/history`], ['GET', `/api/topics/${long}/publish?`]] as const) {
      const res = await call(`${hub.url}${path}`, method === 'POST' ? { method, headers: { 'content-type': 'text/plain' }, body: 'x' } : { method });
      expect(res.status, path.slice(-20)).toBe(414);
      expect(res.body).toEqual({ error: 'a path segment is longer than 1024 characters', code: 'uri_too_long' });
      expect(res.text).not.toContain(long);
    }
  });

  it('a path that is not valid percent-encoding: 400 {error, code: bad_request}', async () => {
    const hub = await startHub();
    const answer = await rawExchange(hub.url, 'GET /api/topics/%E0%A4%A/history HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(answer)).toEqual({ error: 'malformed URL: the path is not valid percent-encoding', code: 'bad_request' });
  });

  it('on a WebSocket upgrade the same answer, and the socket is ended (the server still stops)', async () => {
    const hub = await startHub();
    const upgrade = (path: string): string =>
      `GET ${path} HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    // Our side stays open: the server must end the refused upgrade's socket by itself.
    const bad = await rawExchange(hub.url, upgrade('/ws%ZZ'), false);
    expect(bad).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(bad)).toMatchObject({ code: 'bad_request' });
    const long = await rawExchange(hub.url, upgrade(`/api/topics/${'t'.repeat(1100)}/history`), false);
    expect(long).toMatch(/^HTTP\/1\.1 414 /);
    expect(bodyOf(long)).toMatchObject({ code: 'uri_too_long' });
    const stopped = await Promise.race([hub.close().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still open after 5 s'), 5000))]);
    expect(stopped).toBe('stopped');
  });

  it('each refusal gets its request line while request lines are logged (Fastify runs no hook for them), key redacted', async () => {
    const log = captureLog('info');
    const hub = await startServer(testConfig({ logLevel: 'info' }), { logger: log.logger as unknown as FastifyBaseLogger });
    try {
      const long = `/api/topics/${'t'.repeat(1100)}/history?key=s3cret`;
      expect((await call(`${hub.url}${long}`)).status).toBe(414);
      expect(await rawExchange(hub.url, 'GET /api/topics/%E0%A4%A/history HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
      await new Promise((r) => setTimeout(r, 50));
      const lines = log.lines.filter((l) => l.msg === 'request');
      expect(lines.map((l) => [l.method, l.status])).toEqual([['GET', 414], ['GET', 400]]);
      expect(lines[0]?.url).toBe(long.replace('s3cret', '[redacted]'));
      expect(lines[1]?.url).toBe('/api/topics/%E0%A4%A/history');
      expect(JSON.stringify(log.lines)).not.toContain('s3cret');
      expect(new Set(lines.map((l) => l.reqId)).size).toBe(2);
    } finally {
      await hub.close();
    }
  });
});
