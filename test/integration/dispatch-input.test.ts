// Every refused /dispatch input: a clear error, the right status, and nothing queued or sent.
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { Receiver } from '../helpers/receiver.js';
import { dispatchForm, dispatchJson, listDeliveries } from '../helpers/dispatch.js';
import type { Hookhub } from '../../src/server.js';

async function expectNothingQueued(hub: Hookhub, rx?: Receiver): Promise<void> {
  const list = await listDeliveries(hub.url);
  expect(list.json.deliveries).toEqual([]);
  expect(await hub.store.deliveries.depth()).toBe(0);
  if (rx) expect(rx.received).toEqual([]);
}

describe('dispatch: bad input', () => {
  it('neither _url nor _topic → 400', async () => {
    const hub = await startHub();
    const res = await dispatchForm(hub.url, { a: '1' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/_url or _topic is required/);
    await expectNothingQueued(hub);
  });

  it('malformed URL and unsupported schemes → 400 with the reason', async () => {
    const hub = await startHub();
    for (const [url, reason] of [
      ['not a url', /not an absolute URL/],
      ['/relative/path', /not an absolute URL/],
      ['ftp://example.com/x', /must use http or https, not ftp/],
      ['javascript:alert(1)', /must use http or https/],
      ['file:///etc/passwd', /must use http or https, not file/],
    ] as const) {
      const res = await dispatchForm(hub.url, { _url: url, a: '1' });
      expect(res.status, url).toBe(400);
      expect(res.json.error).toMatch(reason);
    }
    await expectNothingQueued(hub);
  });

  it('a private target without --allow-private-targets → 400 naming the flag', async () => {
    const hub = await startHub({ allowPrivateTargets: false });
    const rx = await Receiver.start();
    const res = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/_url points to a private or loopback address \(127\.0\.0\.1\).*--allow-private-targets/);
    await expectNothingQueued(hub, rx);
  });

  it('_headers that is not a JSON object → 400 (form text and JSON body)', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    for (const bad of ['[1,2]', 'not json', '"text"', '42', 'null']) {
      const res = await dispatchForm(hub.url, { _url: rx.url, _headers: bad, a: '1' });
      expect(res.status, bad).toBe(400);
      expect(res.json.error).toMatch(/_headers must be a JSON object/);
    }
    for (const bad of [['x'], 'x', 7, true]) {
      const res = await dispatchJson(hub.url, { _url: rx.url, _headers: bad, a: 1 });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.json.error).toMatch(/_headers/);
    }
    const nested = await dispatchJson(hub.url, { _url: rx.url, _headers: { 'X-A': { deep: 1 } } });
    expect(nested.status).toBe(400);
    expect(nested.json.error).toMatch(/value of X-A must be text/);
    const framing = await dispatchJson(hub.url, { _url: rx.url, _headers: { 'Content-Length': '5' } });
    expect(framing.status).toBe(400);
    expect(framing.json.error).toMatch(/may not set Content-Length/);
    const crlf = await dispatchJson(hub.url, { _url: rx.url, _headers: { 'X-A': 'a\r\nInjected: 1' } });
    expect(crlf.status).toBe(400);
    await expectNothingQueued(hub, rx);
  });

  it('bad _method, _timeout, _secret, _errback, _callback → 400', async () => {
    const hub = await startHub();
    const rx = await Receiver.start();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ _method: 'CONNECT' }, /_method must be one of/],
      [{ _timeout: 'soon' }, /_timeout must be a duration/],
      [{ _timeout: '0' }, /_timeout must be a duration/],
      [{ _timeout: '1h' }, /_timeout must be a duration/],
      [{ _secret: 'whsec_' }, /base64/],
      [{ _errback: 'gopher://x/' }, /_errback must use http or https/],
      [{ _callback: 'nope' }, /_callback is not an absolute URL/],
    ];
    for (const [fields, reason] of cases) {
      const res = await dispatchForm(hub.url, { _url: rx.url, a: '1', ...fields });
      expect(res.status, JSON.stringify(fields)).toBe(400);
      expect(res.json.error).toMatch(reason);
    }
    // A GET cannot carry a JSON payload.
    const get = await dispatchJson(hub.url, { _url: rx.url, _method: 'GET', a: 1 });
    expect(get.status).toBe(400);
    expect(get.json.error).toMatch(/GET cannot carry/);
    await expectNothingQueued(hub, rx);
  });

  it('malformed bodies → 400; unsupported content type → 415', async () => {
    const hub = await startHub();
    const bad = await fetch(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"_url": ' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/malformed JSON/);
    const xml = await fetch(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<a/>' });
    expect(xml.status).toBe(415);
    await expectNothingQueued(hub);
  });

  it('a body over --max-body → 413', async () => {
    const hub = await startHub({ maxBody: 1024 });
    const rx = await Receiver.start();
    const res = await dispatchForm(hub.url, { _url: rx.url, big: 'x'.repeat(2000) });
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/larger than 1024 bytes/);
    await expectNothingQueued(hub, rx);
  });

  it('a queue over --max-queue-depth → 503, nothing more queued', async () => {
    const hub = await startHub({ maxQueueDepth: 2, retrySchedule: [3_600_000] });
    const rx = await Receiver.start();
    expect((await dispatchJson(hub.url, { _url: rx.url, n: 1 })).status).toBe(202);
    expect((await dispatchJson(hub.url, { _url: rx.url, n: 2 })).status).toBe(202);
    const full = await dispatchJson(hub.url, { _url: rx.url, n: 3 });
    expect(full.status).toBe(503);
    expect(full.json.error).toMatch(/queue is full/);
    expect((await listDeliveries(hub.url)).json.deliveries).toHaveLength(2);
  });

  it('with --api-key, /dispatch and /api/deliveries need the Bearer key', async () => {
    const hub = await startHub({ apiKey: 'k3y' });
    const rx = await Receiver.start();
    expect((await dispatchJson(hub.url, { _url: rx.url, a: 1 })).status).toBe(401);
    expect((await listDeliveries(hub.url)).status).toBe(401);
    expect((await fetch(`${hub.url}/api/deliveries/x/retry`, { method: 'POST' })).status).toBe(401);
    const auth = { authorization: 'Bearer k3y' };
    const ok = await dispatchJson(hub.url, { _url: rx.url, a: 1 }, auth);
    expect(ok.status).toBe(202);
    await rx.waitFor(1);
    expect((await listDeliveries(hub.url, '', auth)).json.deliveries.map((d) => d.id)).toEqual([ok.json.id]);
  });
});
