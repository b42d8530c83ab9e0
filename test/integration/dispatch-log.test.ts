// The delivery log API, retention, metrics, attempt log lines, the WebhookQueue interface and shutdown.
import { describe, expect, it } from 'vitest';
import { captureLog } from '../helpers/log-capture.js';
import { testConfig } from '../helpers/config.js';
import type { AttemptEvent } from '../../src/core/webhooks.js';
import { startServer } from '../../src/server.js';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { Receiver } from '../helpers/receiver.js';
import { dispatchJson, getDelivery, listDeliveries, waitForStatus } from '../helpers/dispatch.js';
import { until } from '../helpers/wait.js';

describe('dispatch: delivery log', () => {
  it('lists newest first, filters by status and target, pages with next_cursor', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const ok = await Receiver.start();
    const bad = await Receiver.start((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await dispatchJson(hub.url, { _url: `${ok.url}/ok`, i })).json.id!);
    const badId = (await dispatchJson(hub.url, { _url: `${bad.url}/bad`, i: 9 })).json.id!;
    await waitForStatus(hub.url, badId, 'failed');
    for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');

    const all = await listDeliveries(hub.url);
    expect(all.json.deliveries.map((d) => d.id)).toEqual([badId, ...ids.slice().reverse()]);
    expect(all.json.next_cursor).toBeUndefined();
    expect((await listDeliveries(hub.url, 'status=failed')).json.deliveries.map((d) => d.id)).toEqual([badId]);
    expect((await listDeliveries(hub.url, 'status=succeeded')).json.deliveries).toHaveLength(5);
    expect((await listDeliveries(hub.url, `target=${encodeURIComponent(bad.url)}`)).json.deliveries.map((d) => d.id)).toEqual([badId]);
    expect((await listDeliveries(hub.url, `target=${new URL(ok.url).host}`)).json.deliveries).toHaveLength(5);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listDeliveries(hub.url, `limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.json.deliveries.map((d) => d.id));
      cursor = page.json.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(all.json.deliveries.map((d) => d.id));

    const one = await getDelivery(hub.url, badId);
    expect(one.json).toMatchObject({ id: badId, url: `${bad.url}/bad`, status: 'failed' });
    expect(one.json.attempts[0]).toMatchObject({ status: 404, error: expect.stringMatching(/404/) });
    expect(JSON.stringify(one.json)).not.toMatch(/secret"/);

    for (const q of ['status=done', 'limit=0', 'limit=x', 'cursor=abc']) {
      const res = await listDeliveries(hub.url, q);
      expect(res.status, q).toBe(400);
      expect(res.json.error).toBeTruthy();
    }
    const missing = await getDelivery(hub.url, 'no-such-id');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'no delivery no-such-id', code: 'not_found' });
  });

  it('searches by id, endpoint, status and time range, paging through filters with next_cursor', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const a = await Receiver.start();
    const b = await Receiver.start((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const early: string[] = [];
    for (let i = 0; i < 3; i++) early.push((await dispatchJson(hub.url, { _url: `${a.url}/x`, i })).json.id!);
    for (const id of early) await waitForStatus(hub.url, id, 'succeeded');
    const mid = new Date().toISOString();
    await until(() => Date.now() > Date.parse(mid) + 5 || undefined, 'the clock to move on', 1000, 2);
    const late: string[] = [];
    for (let i = 0; i < 3; i++) late.push((await dispatchJson(hub.url, { _url: `${a.url}/y`, i })).json.id!);
    const bad = (await dispatchJson(hub.url, { _url: `${b.url}/z` })).json.id!;
    for (const id of late) await waitForStatus(hub.url, id, 'succeeded');
    await waitForStatus(hub.url, bad, 'failed');
    const ids = async (q: string) => (await listDeliveries(hub.url, q)).json.deliveries.map((d) => d.id);

    expect(await ids(`endpoint=${encodeURIComponent(a.url)}`)).toEqual([...early, ...late].reverse());
    expect(await ids(`endpoint=${encodeURIComponent(b.url)}`)).toEqual([bad]);
    expect(await ids(`since=${encodeURIComponent(mid)}&status=succeeded`)).toEqual([...late].reverse());
    expect(await ids(`until=${encodeURIComponent(mid)}`)).toEqual([...early].reverse());
    expect(await ids(`id=${bad}`)).toEqual([bad]);
    expect(await ids(`id=${bad}&status=succeeded`)).toEqual([]);
    // Filtered pages carry next_cursor too.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listDeliveries(hub.url, `endpoint=${encodeURIComponent(a.url)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.json.deliveries.map((d) => d.id));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(await ids(`endpoint=${encodeURIComponent(a.url)}`));
    expect((await listDeliveries(hub.url, 'since=yesterday')).status).toBe(400);
  });

  it('retention by count keeps the last updated finished deliveries', async () => {
    const hub = await startHub({ retrySchedule: [0], retention: 10_000, retentionCount: 2 });
    const receiver = await Receiver.start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await dispatchJson(hub.url, { _url: `${receiver.url}/k`, i })).json.id!);
    for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');
    const kept = await until(async () => {
      const list = (await listDeliveries(hub.url)).json.deliveries;
      return list.length === 2 ? list : undefined;
    }, 'the log pruned to 2');
    expect(kept.map((d) => d.id)).toEqual(ids.slice(3).reverse());
  });

  it('recover resends the failed deliveries of a target since a time, once each; bad times are 400', async () => {
    const hub = await startHub({ store: 'sqlite', dataDir: tempDir(), retrySchedule: [0] });
    let up = false;
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(up ? 200 : 503);
      res.end();
    });
    const other = await Receiver.start((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const old = await dispatchJson(hub.url, { _url: `${rx.url}/a`, n: 0 });
    await waitForStatus(hub.url, old.json.id!, 'failed');
    await new Promise((r) => setTimeout(r, 5));
    const since = new Date().toISOString();
    const recent = [];
    for (let n = 1; n <= 3; n++) recent.push((await dispatchJson(hub.url, { _url: `${rx.url}/a`, n })).json.id!);
    const elsewhere = (await dispatchJson(hub.url, { _url: `${other.url}/b`, n: 9 })).json.id!;
    for (const id of [...recent, elsewhere]) await waitForStatus(hub.url, id, 'failed');
    up = true;
    const res = await fetch(`${hub.url}/api/deliveries/recover?since=${encodeURIComponent(since)}&target=${encodeURIComponent(rx.url)}`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ queued: 3 });
    for (const id of recent) expect((await waitForStatus(hub.url, id, 'succeeded')).attempts.map((a) => a.status)).toEqual([503, 200]);
    expect((await getDelivery(hub.url, old.json.id!)).json.status).toBe('failed');
    expect((await getDelivery(hub.url, elsewhere)).json.status).toBe('failed');
    // Nothing failed is left in that window: a second call queues nothing.
    const again = await fetch(`${hub.url}/api/deliveries/recover?since=${encodeURIComponent(since)}&target=${encodeURIComponent(rx.url)}`, { method: 'POST' });
    expect(await again.json()).toEqual({ queued: 0 });
    for (const query of ['', 'since=yesterday', `since=${encodeURIComponent(since)}&until=later`]) {
      const bad = await fetch(`${hub.url}/api/deliveries/recover?${query}`, { method: 'POST' });
      expect(bad.status, query).toBe(400);
      expect(((await bad.json()) as { error: string }).error, query).toMatch(/since|until/);
    }
  });

  it('prunes finished deliveries after --retention, keeps unfinished ones', async () => {
    const hub = await startHub({ retention: 1000, retrySchedule: [0, 3_600_000] });
    const down = await Receiver.start((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const rx = await Receiver.start();
    const waiting = (await dispatchJson(hub.url, { _url: down.url, later: 1 })).json.id!;
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    await until(async () => (await getDelivery(hub.url, waiting)).json.attempts.length === 1, 'first attempt recorded');
    await waitForStatus(hub.url, json.id!, 'succeeded');
    await until(async () => (await getDelivery(hub.url, json.id!)).status === 404, 'pruned', 8000, 100);
    expect((await getDelivery(hub.url, waiting)).json.status).toBe('pending');
  });

  it('exports attempts by outcome, queue depth and delivery latency', async () => {
    const hub = await startHub({ retrySchedule: [0, 20] });
    let n = 0;
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(++n === 1 ? 500 : 200);
      res.end();
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    await waitForStatus(hub.url, json.id!, 'succeeded');
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    expect(text).toMatch(/^hookhub_webhook_attempts_total\{outcome="http_retry"\} 1$/m);
    expect(text).toMatch(/^hookhub_webhook_attempts_total\{outcome="success"\} 1$/m);
    expect(text).toMatch(/^hookhub_webhook_queue_depth 0$/m);
    expect(text).toMatch(/^hookhub_webhook_delivery_seconds_count 1$/m);
  });

  it('counts every delivery across scrapes: N after N deliveries, N + M after M more', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const rx = await Receiver.start();
    const send = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await dispatchJson(hub.url, { _url: rx.url, i })).json.id!);
      for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');
    };
    const scrape = async () => (await fetch(`${hub.url}/metrics`)).text();
    await send(3);
    let text = await scrape();
    expect(text).toMatch(/^hookhub_webhook_attempts_total\{outcome="success"\} 3$/m);
    expect(text).toMatch(/^hookhub_webhook_deliveries_total\{status="succeeded"\} 3$/m);
    expect(text).toMatch(/^hookhub_webhook_attempt_seconds_count 3$/m);
    // A second scrape with nothing new in between shows the same counts, not zero and not double.
    expect(await scrape()).toMatch(/^hookhub_webhook_attempts_total\{outcome="success"\} 3$/m);
    await send(4);
    text = await scrape();
    expect(text).toMatch(/^hookhub_webhook_attempts_total\{outcome="success"\} 7$/m);
    expect(text).toMatch(/^hookhub_webhook_deliveries_total\{status="succeeded"\} 7$/m);
    expect(text).toMatch(/^hookhub_webhook_delivery_seconds_count 7$/m);
  });

  it('logs one line per attempt, never the secret', async () => {
    const { logger, lines, raw } = captureLog();
    const secret = 'whsec_' + Buffer.from('top secret key material').toString('base64');
    const hub = await startServer(testConfig({ allowPrivateTargets: true, signingSecret: secret, retrySchedule: [0, 20] }), { logger });
    try {
      let n = 0;
      const rx = await Receiver.start((_req, res) => {
        res.writeHead(++n === 1 ? 502 : 200);
        res.end();
      });
      const own = 'per-request-secret-text';
      const { json } = await dispatchJson(hub.url, { _url: `${rx.url}/?token=abc`, _secret: own, a: 1 });
      await waitForStatus(hub.url, json.id!, 'succeeded');
      const attempts = await until(() => {
        const found = lines.filter((l) => l.msg === 'webhook attempt');
        return found.length >= 2 ? found : undefined;
      }, 'two attempt log lines');
      expect(attempts).toHaveLength(2);
      expect(attempts.map((l) => [l.delivery, l.attempt, l.status])).toEqual([[json.id, 1, 502], [json.id, 2, 200]]);
      const all = raw.join('');
      expect(all).not.toContain(own);
      expect(all).not.toContain(secret.slice(6));
      expect(all).not.toContain('token=abc');
    } finally {
      await hub.close();
    }
  });
});

describe('dispatch: the WebhookQueue other parts use', () => {
  it('enqueue → attempts reported to onAttempt with origin; secret null sends unsigned; 410 is final', async () => {
    const hub = await startHub({ signingSecret: 'whsec_' + Buffer.from('k').toString('base64'), retrySchedule: [0, 20, 20] });
    const events: AttemptEvent[] = [];
    hub.webhooks.onAttempt((e) => events.push(e));
    const answers = [503, 410];
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(answers.shift() ?? 200);
      res.end();
    });
    const { id, created } = await hub.webhooks.enqueue({
      url: `${rx.url}/cb?sub=1`,
      body: Buffer.from('<feed/>'),
      contentType: 'application/atom+xml',
      headers: { 'x-hub-signature': 'sha256=abc' },
      secret: null,
      origin: { kind: 'websub', ref: 'sub-1' },
    });
    expect(created).toBe(true);
    await until(() => events.length >= 2, 'two attempt events');
    expect(events).toEqual([
      { deliveryId: id, origin: { kind: 'websub', ref: 'sub-1' }, status: 503, ok: false, final: false, error: 'HTTP 503' },
      { deliveryId: id, origin: { kind: 'websub', ref: 'sub-1' }, status: 410, ok: false, final: true, error: 'HTTP 410 (final)' },
    ]);
    const [req] = rx.received;
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/atom+xml');
    expect(req!.headers['x-hub-signature']).toBe('sha256=abc');
    expect(req!.headers['webhook-signature']).toBeUndefined();
    expect(req!.body.toString()).toBe('<feed/>');
    await expect(hub.webhooks.enqueue({ url: 'ftp://x/', body: Buffer.alloc(0) })).rejects.toThrow(/http or https/);
  });
});

describe('dispatch: shutdown', () => {
  it('close lets an attempt in flight finish and record; the record survives a restart (sqlite)', async () => {
    const dir = tempDir();
    const hub = await startHub({ store: 'sqlite', dataDir: dir });
    let answer: (() => void) | undefined;
    const rx = await Receiver.start((_req, res) => {
      answer = () => {
        res.writeHead(200);
        res.end('late');
      };
    });
    const { json } = await dispatchJson(hub.url, { _url: rx.url, a: 1 });
    await rx.waitFor(1);
    const closing = stopHub(hub);
    setTimeout(() => answer?.(), 300);
    await closing;
    const again = await startHub({ store: 'sqlite', dataDir: dir });
    const d = await getDelivery(again.url, json.id!);
    expect(d.json.status).toBe('succeeded');
    expect(d.json.attempts.map((a) => a.response)).toEqual(['late']);
    expect(rx.received).toHaveLength(1);
  });
});
