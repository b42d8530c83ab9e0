// /dispatch _url end to end: real Hookhub, real receivers on 127.0.0.1.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startHub } from '../helpers/server.js';
import { Receiver } from '../helpers/receiver.js';
import { dispatchForm, dispatchJson, getDelivery, waitForStatus } from '../helpers/dispatch.js';
import { until } from '../helpers/wait.js';

const SECRET = 'whsec_' + Buffer.from('a very secret signing key!').toString('base64');
const headersOf = (h: Record<string, unknown>) => h as Record<string, string>;

const rawServers: Array<{ close: () => void }> = [];
afterEach(() => rawServers.splice(0).forEach((s) => s.close()));

describe('dispatch: --delivery-threads', () => {
  it('sends from worker threads: signed, retried after a 503, the response reaches the _callback', async () => {
    const hub = await startHub({ signingSecret: SECRET, deliveryThreads: 2, retrySchedule: [0, 100] });
    let calls = 0;
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(++calls === 1 ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: calls }));
    });
    const cb = await Receiver.start();
    const { json } = await dispatchJson(hub.url, { _url: `${rx.url}/hook`, _callback: `${cb.url}/cb`, event: 'threaded' });
    const reqs = await rx.waitFor(2);
    for (const req of reqs) {
      expect(req.headers['webhook-id']).toBe(json.id);
      expect(new Webhook(SECRET).verify(req.body.toString(), headersOf(req.headers))).toEqual({ event: 'threaded' });
    }
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts.map((a) => a.status)).toEqual([503, 200]);
    const [report] = await cb.waitFor(1);
    expect(JSON.parse(report!.body.toString())).toMatchObject({ id: json.id, response: { status: 200, body: '{"accepted":2}' } });
  });
});

describe('dispatch: what the target receives', () => {
  it('a JSON payload: POSTed once as JSON, signed (standardwebhooks verifies), the 202 id as webhook-id', async () => {
    const hub = await startHub({ signingSecret: SECRET });
    const rx = await Receiver.start();
    const { status, json } = await dispatchJson(hub.url, { _url: `${rx.url}/hook?x=1`, event: 'created', n: 3, nested: { a: [1] } });
    expect(status).toBe(202);
    expect(typeof json.id).toBe('string');
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/hook?x=1');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['webhook-id']).toBe(json.id);
    expect(new Webhook(SECRET).verify(req!.body.toString(), headersOf(req!.headers))).toEqual({ event: 'created', n: 3, nested: { a: [1] } });
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ status: 200, error: null, response: 'ok' });
    expect(typeof d.attempts[0]!.duration_ms).toBe('number');
    expect(d).toMatchObject({ id: json.id, url: `${rx.url}/hook?x=1`, method: 'POST' });
  });

  it('a form payload keeps its exact bytes and content type, without the control fields', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const body = `b=2&_url=${encodeURIComponent(rx.url)}&a=%C3%A9t%C3%A9+x&a=second&empty=`;
    expect((await dispatchForm(hub.url, body)).status).toBe(202);
    const [req] = await rx.waitFor(1);
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req!.body.toString('latin1')).toBe('b=2&a=%C3%A9t%C3%A9+x&a=second&empty=');
    // Unsigned without a signing secret, but still identified.
    expect(req!.headers['webhook-signature']).toBeUndefined();
    expect(req!.headers['webhook-id']).toBeTruthy();
  });

  it('an empty payload is a GET without body (Hookah)', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const { json } = await dispatchForm(hub.url, { _url: `${rx.url}/ping` });
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('GET');
    expect(req!.url).toBe('/ping');
    expect(req!.body.length).toBe(0);
    expect(req!.headers['content-type']).toBeUndefined();
    expect(req!.headers['webhook-id']).toBe(json.id);
  });

  it('_method GET with form fields sends them in the query string', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    await dispatchForm(hub.url, `_url=${encodeURIComponent(rx.url + '/q?k=1')}&_method=GET&a=1&b=x+y`);
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('GET');
    expect(req!.url).toBe('/q?k=1&a=1&b=x+y');
    expect(req!.body.length).toBe(0);
  });

  it('a multipart payload is forwarded as multipart with its files', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const form = new FormData();
    form.append('_url', rx.url);
    form.append('title', 'report');
    form.append('file', new Blob([Buffer.from([0, 1, 2, 255])], { type: 'application/octet-stream' }), 'data.bin');
    const res = await fetch(`${hub.url}/dispatch`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const got = await new Response(req!.body, { headers: { 'content-type': req!.headers['content-type']! } }).formData();
    expect(got.get('title')).toBe('report');
    expect(got.has('_url')).toBe(false);
    const file = got.get('file') as File;
    expect(file.name).toBe('data.bin');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('_method and _headers (JSON text in a form body, an object in a JSON body)', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    await dispatchForm(hub.url, { _url: rx.url, _method: 'put', _headers: '{"X-Custom":"one","X-N":2}', a: '1' });
    await dispatchJson(hub.url, { _url: rx.url, _method: 'PATCH', _headers: { 'X-Custom': 'two' }, a: 2 });
    await rx.waitFor(2);
    const byMethod = Object.fromEntries(rx.received.map((r) => [r.method, r]));
    expect(byMethod.PUT!.headers['x-custom']).toBe('one');
    expect(byMethod.PUT!.headers['x-n']).toBe('2');
    expect(byMethod.PUT!.body.toString()).toBe('a=1');
    expect(byMethod.PATCH!.headers['x-custom']).toBe('two');
    expect(JSON.parse(byMethod.PATCH!.body.toString())).toEqual({ a: 2 });
  });

  it('_secret signs one delivery: whsec_ form or raw text, both verified by standardwebhooks', async () => {
    const hub = await startHub({ signingSecret: SECRET });
    const rx = await Receiver.start();
    const own = 'whsec_' + Buffer.from('per-request key').toString('base64');
    const a = await dispatchJson(hub.url, { _url: `${rx.url}/a`, _secret: own, v: 1 });
    const b = await dispatchJson(hub.url, { _url: `${rx.url}/b`, _secret: 'just some text', v: 2 });
    await rx.waitFor(2);
    const reqA = rx.received.find((r) => r.url === '/a')!;
    const reqB = rx.received.find((r) => r.url === '/b')!;
    expect(new Webhook(own).verify(reqA.body.toString(), headersOf(reqA.headers))).toEqual({ v: 1 });
    expect(() => new Webhook(SECRET).verify(reqA.body.toString(), headersOf(reqA.headers))).toThrow();
    expect(new Webhook('just some text', { format: 'raw' }).verify(reqB.body.toString(), headersOf(reqB.headers))).toEqual({ v: 2 });
    expect([reqA.headers['webhook-id'], reqB.headers['webhook-id']]).toEqual([a.json.id, b.json.id]);
  });
});

describe('dispatch: retries', () => {
  it('--retry-schedule 0s,1s,1s style: exactly three attempts, one webhook-id, then failed', async () => {
    const hub = await startHub({ retrySchedule: [0, 200, 200], signingSecret: SECRET });
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(503);
      res.end('down');
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    const d = await waitForStatus(hub.url, json.id!, 'failed');
    expect(d.attempts.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([json.id]));
    // Every attempt is signed afresh and verifies.
    for (const r of rx.received) expect(new Webhook(SECRET).verify(r.body.toString(), headersOf(r.headers))).toEqual({ a: 1 });
    expect(rx.received[1]!.at - rx.received[0]!.at).toBeGreaterThanOrEqual(190);
    expect(rx.received[2]!.at - rx.received[1]!.at).toBeGreaterThanOrEqual(190);
  });

  it('succeeds on a later attempt after 500, 408 and 429', async () => {
    const hub = await startHub({ retrySchedule: [0, 20, 20, 20, 20] });
    const answers = [500, 408, 429, 200];
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(answers.shift() ?? 200);
      res.end();
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts.map((a) => a.status)).toEqual([500, 408, 429, 200]);
  });

  it('410 and other 4xx are final after one attempt', async () => {
    const hub = await startHub({ retrySchedule: [0, 20, 20] });
    for (const code of [410, 404, 400]) {
      const rx = await Receiver.start((_req, res) => {
        res.writeHead(code);
        res.end('no');
      });
      const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
      const d = await waitForStatus(hub.url, json.id!, 'failed');
      expect(d.attempts.map((a) => a.status)).toEqual([code]);
      expect(rx.received).toHaveLength(1);
    }
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const hub = await startHub({ retrySchedule: [0, 10, 10] });
    let n = 0;
    const rx = await Receiver.start((_req, res) => {
      n++;
      if (n === 1) res.writeHead(429, { 'retry-after': '1' });
      else if (n === 2) res.writeHead(503, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
      else res.writeHead(200);
      res.end();
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    await waitForStatus(hub.url, json.id!, 'succeeded', 15_000);
    const [r1, r2, r3] = rx.received;
    expect(r2!.at - r1!.at).toBeGreaterThanOrEqual(990);
    // An HTTP date has second precision: at least one second later, well beyond the 10 ms schedule.
    expect(r3!.at - r2!.at).toBeGreaterThanOrEqual(1000);
  });

  it('a receiver that hangs: the attempt times out (_timeout), then the retry succeeds', async () => {
    const hub = await startHub({ retrySchedule: [0, 50] });
    let n = 0;
    const rx = await Receiver.start((_req, res) => {
      if (++n === 1) return; // never answers
      res.writeHead(200);
      res.end();
    });
    const { json } = await dispatchForm(hub.url, { _url: rx.url, _timeout: '300ms', a: '1' });
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts).toHaveLength(2);
    expect(d.attempts[0]!.status).toBeNull();
    expect(d.attempts[0]!.error).toMatch(/timeout/);
    expect(d.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(290);
    expect(d.attempts[1]!.status).toBe(200);
  });

  it('the --delivery-timeout applies without _timeout', async () => {
    const hub = await startHub({ retrySchedule: [0], deliveryTimeout: 200 });
    const rx = await Receiver.start(() => {});
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    const d = await waitForStatus(hub.url, json.id!, 'failed');
    expect(d.attempts[0]!.error).toMatch(/timeout/);
  });

  it('a receiver that resets the connection or answers garbage: retried', async () => {
    const hub = await startHub({ retrySchedule: [0, 50, 50] });
    let connections = 0;
    const server = createServer((socket: Socket) => {
      connections++;
      const n = connections;
      socket.once('data', () => {
        if (n === 1) socket.resetAndDestroy();
        else if (n === 2) socket.end('this is not HTTP at all\r\n\r\n');
        else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    rawServers.push(server);
    const { port } = server.address() as AddressInfo;
    const { json } = await dispatchJson(hub.url, { _url: `http://127.0.0.1:${port}/`, a: 1 });
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts.map((a) => a.status)).toEqual([null, null, 200]);
    expect(d.attempts[0]!.error).toBeTruthy();
    expect(d.attempts[1]!.error).toBeTruthy();
  });

  it('a receiver that is down: connection refused is retried', async () => {
    const hub = await startHub({ retrySchedule: [0, 20] });
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const { json } = await dispatchJson(hub.url, { _url: `http://127.0.0.1:${port}/`, a: 1 });
    const d = await waitForStatus(hub.url, json.id!, 'failed');
    expect(d.attempts).toHaveLength(2);
    expect(d.attempts[0]!.error).toMatch(/ECONNREFUSED/);
  });
});

describe('dispatch: reports, idempotency, resend', () => {
  it('_errback gets the failure report after the last attempt', async () => {
    const hub = await startHub({ retrySchedule: [0, 20] });
    const target = await Receiver.start((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const errback = await Receiver.start();
    const { json } = await dispatchForm(hub.url, { _url: target.url, _errback: `${errback.url}/failed`, a: '1' });
    const [report] = await errback.waitFor(1);
    expect(report!.method).toBe('POST');
    expect(report!.url).toBe('/failed');
    expect(report!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(report!.body.toString()) as { id: string; url: string; status: string; attempts: Array<Record<string, unknown>> };
    expect(body).toMatchObject({ id: json.id, url: target.url, status: 'failed' });
    expect(body.attempts).toHaveLength(2);
    for (const a of body.attempts) {
      expect(Object.keys(a).sort()).toEqual(['at', 'error', 'status']);
      expect(a.status).toBe(500);
      expect(Number.isNaN(Date.parse(a.at as string))).toBe(false);
    }
    expect(target.received).toHaveLength(2);
  });

  it('_callback gets the target response: text body, or base64 when not UTF-8', async () => {
    const hub = await startHub();
    const text = await Receiver.start((_req, res) => {
      res.writeHead(201, { 'x-answer': 'yes', 'content-type': 'text/plain' });
      res.end('héllo');
    });
    const binary = await Receiver.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from([0xff, 0xfe, 0x00]));
    });
    const callback = await Receiver.start();
    const a = await dispatchJson(hub.url, { _url: text.url, _callback: `${callback.url}/cb`, q: 1 });
    await callback.waitFor(1);
    const b = await dispatchJson(hub.url, { _url: binary.url, _callback: `${callback.url}/cb`, q: 2 });
    await callback.waitFor(2);
    const [ra, rb] = callback.received.map((r) => JSON.parse(r.body.toString()) as { id: string; url: string; response: Record<string, unknown> });
    expect(ra).toMatchObject({ id: a.json.id, url: text.url, response: { status: 201, body: 'héllo' } });
    expect((ra!.response.headers as Record<string, string>)['x-answer']).toBe('yes');
    expect(ra!.response.encoding).toBeUndefined();
    expect(rb).toMatchObject({ id: b.json.id, response: { status: 200, body: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'), encoding: 'base64' } });
  });

  it('_callback forwards at most 64 KiB of a large response body, marked truncated; the log keeps 1 KiB', async () => {
    const hub = await startHub();
    const big = await Receiver.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('y'.repeat(200_000));
    });
    const callback = await Receiver.start();
    const { json } = await dispatchJson(hub.url, { _url: big.url, _callback: callback.url, q: 1 });
    const [report] = await callback.waitFor(1);
    const body = JSON.parse(report!.body.toString()) as { response: { body: string; truncated?: boolean } };
    expect(body.response.body).toBe('y'.repeat(64 * 1024));
    expect(body.response.truncated).toBe(true);
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts[0]!.response).toBe('y'.repeat(1024));
  });

  it('an Idempotency-Key (header or _idempotency_key) repeated answers the first id and queues nothing', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const first = await dispatchJson(hub.url, { _url: rx.url, a: 1 }, { 'idempotency-key': 'order-42' });
    const again = await dispatchJson(hub.url, { _url: rx.url, a: 2 }, { 'idempotency-key': 'order-42' });
    expect(first.status).toBe(202);
    expect(again).toEqual({ status: 202, json: { id: first.json.id } });
    const f1 = await dispatchForm(hub.url, { _url: rx.url, _idempotency_key: 'form-1', a: '1' });
    const f2 = await dispatchForm(hub.url, { _url: rx.url, _idempotency_key: 'form-1', a: '2' });
    expect(f2.json.id).toBe(f1.json.id);
    expect(f1.json.id).not.toBe(first.json.id);
    await waitForStatus(hub.url, first.json.id!, 'succeeded');
    await waitForStatus(hub.url, f1.json.id!, 'succeeded');
    const list = (await (await fetch(`${hub.url}/api/deliveries`)).json()) as { deliveries: unknown[] };
    expect(list.deliveries).toHaveLength(2);
    expect(rx.received.map((r) => r.body.toString()).sort()).toEqual(['a=1', '{"a":1}']);
  });

  it('POST /api/deliveries/:id/retry sends one more attempt of the same delivery', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    let answer = 500;
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(answer);
      res.end();
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    await waitForStatus(hub.url, json.id!, 'failed');
    answer = 200;
    const res = await fetch(`${hub.url}/api/deliveries/${json.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: json.id });
    const d = await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(d.attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(rx.received.map((r) => r.headers['webhook-id'])).toEqual([json.id, json.id]);
    // A failed resend is one attempt too: failed again after it.
    answer = 503;
    await fetch(`${hub.url}/api/deliveries/${json.id}/retry`, { method: 'POST' });
    const again = await waitForStatus(hub.url, json.id!, 'failed');
    expect(again.attempts.map((a) => a.status)).toEqual([500, 200, 503]);
    expect((await fetch(`${hub.url}/api/deliveries/nope/retry`, { method: 'POST' })).status).toBe(404);
    expect((await getDelivery(hub.url, 'nope')).status).toBe(404);
  });

  it('a resend asked while an attempt is in flight follows that attempt', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    let release: (() => void) | undefined;
    const rx = await Receiver.start((_req, res) => {
      release = () => res.end('done');
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    await rx.waitFor(1);
    const res = await fetch(`${hub.url}/api/deliveries/${json.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    release!();
    await rx.waitFor(2);
    release!();
    const d = await until(async () => {
      const r = await getDelivery(hub.url, json.id!);
      return r.json.status === 'succeeded' && r.json.attempts.length === 2 ? r.json : undefined;
    }, 'two recorded attempts');
    expect(d.attempts.map((a) => a.status)).toEqual([200, 200]);
    expect(rx.received.map((r) => r.headers['webhook-id'])).toEqual([json.id, json.id]);
    expect((await getDelivery(hub.url, 'nope')).status).toBe(404);
  });
});
