// /dispatch _url end to end: real Hookhub, real receivers on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startHub } from '../helpers/server.js';
import { Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

const SECRET = 'whsec_' + Buffer.from('a very secret signing key!').toString('base64');

async function dispatch(base: string, body: Record<string, unknown> | URLSearchParams, headers: Record<string, string> = {}) {
  const isForm = body instanceof URLSearchParams;
  const res = await fetch(`${base}/dispatch`, {
    method: 'POST',
    headers: { 'content-type': isForm ? 'application/x-www-form-urlencoded' : 'application/json', ...headers },
    body: isForm ? body.toString() : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function delivery(base: string, id: string) {
  const res = await fetch(`${base}/api/deliveries/${id}`);
  return { status: res.status, json: (await res.json()) as { status: string; attempts: Array<{ status: number | null; error: string | null }> } };
}

describe('dispatch: delivery', () => {
  it('delivers a JSON payload once, signed with Standard Webhooks, the 202 id as webhook-id', async () => {
    const hub = await startHub({ signingSecret: SECRET });
    const rx = await Receiver.start();
    const { status, json } = await dispatch(hub.url, { _url: `${rx.url}/hook?x=1`, event: 'created', n: 3 });
    expect(status).toBe(202);
    expect(typeof json.id).toBe('string');
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/hook?x=1');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body.toString())).toEqual({ event: 'created', n: 3 });
    expect(req!.headers['webhook-id']).toBe(json.id);
    const verified = new Webhook(SECRET).verify(req!.body.toString(), req!.headers as Record<string, string>);
    expect(verified).toEqual({ event: 'created', n: 3 });
    const d = await until(async () => {
      const r = await delivery(hub.url, json.id as string);
      return r.json.status === 'succeeded' ? r.json : undefined;
    }, 'succeeded');
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]!.status).toBe(200);
  });

  it('retries exactly as --retry-schedule says (0s,1s,1s = three attempts), same webhook-id, then failed', async () => {
    const hub = await startHub({ retrySchedule: [0, 200, 200] });
    const rx = await Receiver.start((_req, res) => {
      res.writeHead(503);
      res.end('down');
    });
    const { json } = await dispatch(hub.url, { _url: rx.url, a: 1 });
    await rx.waitFor(3);
    const d = await until(async () => {
      const r = await delivery(hub.url, json.id as string);
      return r.json.status === 'failed' ? r.json : undefined;
    }, 'failed');
    expect(d.attempts.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([json.id]));
    const gap1 = rx.received[1]!.at - rx.received[0]!.at;
    expect(gap1).toBeGreaterThanOrEqual(190);
  });
});
