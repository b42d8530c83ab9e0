// Endpoints: flow control (a delivery over the limit waits, never fails), the circuit breaker against a
// receiver that fails and recovers, parking, manual and automatic disable, and the events on the system
// topic (/sse, the topic's history, the alert webhook).
import { describe, expect, it } from 'vitest';
import { dispatchForm, getDelivery, waitForStatus } from '../helpers/dispatch.js';
import { endpointAction, getEndpoint, putEndpoint, slowReceiver, waitForState } from '../helpers/endpoints.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { until } from '../helpers/wait.js';
import { Subscriber, subscribeActive } from '../helpers/websub.js';

async function dispatchMany(base: string, url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await dispatchForm(base, { _url: url, n: String(i) });
    expect(r.status).toBe(202);
    ids.push(r.json.id as string);
  }
  return ids;
}

async function systemEvents(base: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${base}/api/topics/hookhub.endpoints/history?limit=100`);
  if (res.status === 404) return [];
  const { messages } = (await res.json()) as { messages: Array<{ data: Record<string, unknown> }> };
  return messages.map((m) => m.data);
}

describe('endpoints: flow control', () => {
  it('a concurrency limit set through the API holds; deliveries over it wait and all succeed', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const { receiver, maxInFlight } = await slowReceiver(40);
    const put = await putEndpoint(hub.url, receiver.url, { concurrency: 2 });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ id: receiver.url, kind: 'origin', limits: { concurrency: 2 } });
    const ids = await dispatchMany(hub.url, `${receiver.url}/hook`, 8);
    for (const id of ids) expect((await waitForStatus(hub.url, id, 'succeeded')).attempts).toHaveLength(1);
    expect(maxInFlight()).toBeLessThanOrEqual(2);
    expect(receiver.received).toHaveLength(8);
  });

  it('a rate limit with a burst (the defaults from options): never faster than the bucket allows, nothing fails', async () => {
    const hub = await startHub({ retrySchedule: [0], endpointRate: 10, endpointBurst: 2 });
    const receiver = await Receiver.start();
    const start = Date.now();
    const ids = await dispatchMany(hub.url, `${receiver.url}/r`, 7);
    for (const id of ids) expect((await waitForStatus(hub.url, id, 'succeeded')).attempts).toHaveLength(1);
    // Two at once (the burst), then one per 100 ms: the last permit comes 500 ms after the first at least,
    // and the first after `start` (arrival times would understate it: the first request also connects).
    const last = Math.max(...receiver.received.map((r) => r.at));
    expect(last - start).toBeGreaterThanOrEqual(495);
  });

  it('a URL prefix defined through the API is an endpoint of its own, with its own limits', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const { receiver, maxInFlight } = await slowReceiver(40);
    const prefix = `${receiver.url}/slow/`;
    expect((await putEndpoint(hub.url, prefix, { concurrency: 1 })).json).toMatchObject({ id: prefix, kind: 'prefix' });
    const ids = await dispatchMany(hub.url, `${prefix}x`, 4);
    for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');
    expect(maxInFlight()).toBe(1);
    const listed = (await (await fetch(`${hub.url}/api/endpoints`)).json()) as { endpoints: Array<{ id: string; recent: { attempts: number } }> };
    expect(listed.endpoints.find((e) => e.id === prefix)?.recent.attempts).toBe(4);
  });

  it('refuses bad settings and bad endpoint ids with 400', async () => {
    const hub = await startHub();
    expect((await putEndpoint(hub.url, 'http://127.0.0.1:9', { rate: -1 })).status).toBe(400);
    expect((await putEndpoint(hub.url, 'http://127.0.0.1:9', { speed: 1 })).status).toBe(400);
    expect((await putEndpoint(hub.url, 'ftp://x/', { rate: 1 })).status).toBe(400);
    expect((await getEndpoint(hub.url, 'http://127.0.0.1:9')).status).toBe(404);
  });
});

describe('endpoints: circuit breaker and parking', () => {
  it('opens after consecutive failures, parks deliveries, probes after the cooldown and closes when the receiver recovers', async () => {
    const hub = await startHub({ retrySchedule: [0, 50, 50, 50, 50, 50, 50, 50, 50, 50], circuitFailures: 3, circuitCooldown: 300 });
    let failing = true;
    const receiver = await Receiver.start((_req, res) => {
      res.writeHead(failing ? 503 : 200);
      res.end();
    });
    const sse = new SseClient(`${hub.url}/sse?topic=hookhub.endpoints`);
    await sse.waitOpen();
    await until(() => hub.topics.fanout.count('hookhub.endpoints') === 1, 'subscribed to the system topic');
    const ids = await dispatchMany(hub.url, `${receiver.url}/c`, 3);
    await waitForState(hub.url, receiver.url, 'open');
    // Open: the deliveries' next attempts are parked, not failed.
    for (const id of ids) {
      const d = await until(async () => {
        const got = (await getDelivery(hub.url, id)).json;
        return got.parked === true || got.status === 'succeeded' ? got : undefined;
      }, `delivery ${id} parked`);
      expect(d.status).toBe('pending');
    }
    const parkedAttempts = receiver.received.length;
    failing = false;
    await waitForState(hub.url, receiver.url, 'closed');
    for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');
    expect(receiver.received.length).toBeGreaterThan(parkedAttempts);
    const types = await until(() => {
      const seen = sse.messages().map((m) => (m.json.data as { type: string }).type);
      return seen.includes('endpoint.closed') ? seen : undefined;
    }, 'the closed event on /sse');
    // Opened, then half-open and a probe; a probe sent before the receiver recovered opens it again.
    expect(types[0]).toBe('endpoint.opened');
    expect(types.slice(-2)).toEqual(['endpoint.half_open', 'endpoint.closed']);
    expect(types.slice(1, -2).every((t, i) => t === (i % 2 === 0 ? 'endpoint.half_open' : 'endpoint.opened'))).toBe(true);
    sse.close();
  });

  it('a probe that fails opens the circuit again; ordered deliveries go out in order once it closes', async () => {
    const hub = await startHub({ retrySchedule: [0, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50], circuitFailures: 2, circuitCooldown: 200 });
    let failing = true;
    const receiver = await Receiver.start((_req, res) => {
      res.writeHead(failing ? 500 : 200);
      res.end();
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await dispatchForm(hub.url, { _url: `${receiver.url}/o`, _ordering_key: 'lane', n: String(i) })).json.id as string);
    await waitForState(hub.url, receiver.url, 'open');
    // The first probe fails: open again (a second opened event).
    await until(async () => (await systemEvents(hub.url)).filter((e) => e.type === 'endpoint.opened').length >= 2 || undefined, 'the circuit to open again');
    failing = false;
    for (const id of ids) await waitForStatus(hub.url, id, 'succeeded');
    const succeeded = receiver.received.filter((_r, i) => i >= receiver.received.length - 4).map((r) => r.body.toString());
    expect(succeeded).toEqual(['n=0', 'n=1', 'n=2', 'n=3']);
  });

  it('manual disable parks deliveries; enable sends them; both are events on the system topic', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const receiver = await Receiver.start();
    expect((await endpointAction(hub.url, receiver.url, 'disable')).json).toMatchObject({ state: 'disabled', disabled: { reason: 'manual' } });
    const [id] = await dispatchMany(hub.url, `${receiver.url}/d`, 1);
    await until(async () => (await getDelivery(hub.url, id as string)).json.parked === true, 'the delivery to be parked');
    expect(receiver.received).toHaveLength(0);
    expect((await endpointAction(hub.url, receiver.url, 'enable')).json).toMatchObject({ state: 'closed' });
    await waitForStatus(hub.url, id as string, 'succeeded');
    const events = await systemEvents(hub.url);
    expect(events.map((e) => e.type)).toEqual(['endpoint.disabled', 'endpoint.enabled']);
    expect(events[0]).toMatchObject({ endpoint: receiver.url, reason: 'manual' });
  });

  it('an endpoint failing for longer than --endpoint-disable-after is disabled, with its event', async () => {
    const hub = await startHub({ retrySchedule: [0, 50, 50, 50, 50, 50, 50, 50, 50, 50], circuitFailures: 0, circuitFailureRate: 0, endpointDisableAfter: 200 });
    const receiver = await Receiver.start((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    await dispatchMany(hub.url, `${receiver.url}/a`, 1);
    const e = await waitForState(hub.url, receiver.url, 'disabled');
    expect(e.disabled?.reason).toBe('failing');
    expect((await systemEvents(hub.url)).find((ev) => ev.type === 'endpoint.disabled')).toMatchObject({ endpoint: receiver.url });
  });

  it('replay by endpoint: failed deliveries of that endpoint only get one more attempt', async () => {
    const hub = await startHub({ retrySchedule: [0], circuitFailures: 0, circuitFailureRate: 0 });
    let status = 500;
    const a = await Receiver.start((_req, res) => {
      res.writeHead(status);
      res.end();
    });
    const b = await Receiver.start((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const [ida] = await dispatchMany(hub.url, `${a.url}/x`, 1);
    const [idb] = await dispatchMany(hub.url, `${b.url}/x`, 1);
    await waitForStatus(hub.url, ida as string, 'failed');
    await waitForStatus(hub.url, idb as string, 'failed');
    status = 200;
    const replay = await endpointAction(hub.url, a.url, 'replay?status=failed');
    expect(replay).toEqual({ status: 202, json: { queued: 1 } });
    await waitForStatus(hub.url, ida as string, 'succeeded');
    expect((await getDelivery(hub.url, idb as string)).json.status).toBe('failed');
  });

  it('a delivery failing for good is an event, and --alert-url gets every event', async () => {
    const alerts = await Receiver.start();
    const hub = await startHub({ retrySchedule: [0], alertUrl: `${alerts.url}/alert` });
    const failing = await Receiver.start((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const [id] = await dispatchMany(hub.url, `${failing.url}/f?token=s3cret`, 1);
    await waitForStatus(hub.url, id as string, 'failed');
    const [alert] = await alerts.waitFor(1);
    // The URL without its query string: topic readers are a wider audience than the errback.
    expect(JSON.parse(alert!.body.toString())).toMatchObject({ type: 'delivery.failed', endpoint: failing.url, delivery: { id, url: `${failing.url}/f?…`, status: 500 } });
    expect(alert!.body.toString()).not.toContain('s3cret');
    expect(alert!.headers['content-type']).toBe('application/json');
  });
});

describe('endpoints: events through WebSub', () => {
  it('a WebSub subscriber of hookhub.endpoints gets each state change as JSON', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.receiver.url}/events`, 'hookhub.endpoints');
    const receiver = await Receiver.start();
    await endpointAction(hub.url, receiver.url, 'disable');
    await endpointAction(hub.url, receiver.url, 'enable');
    const notes = await sub.waitNotifications(2);
    expect(notes.map((n) => JSON.parse(n.body.toString()) as { type: string; endpoint: string })).toEqual([
      expect.objectContaining({ type: 'endpoint.disabled', endpoint: receiver.url }),
      expect.objectContaining({ type: 'endpoint.enabled', endpoint: receiver.url }),
    ]);
    expect(notes[0]!.headers['content-type']).toBe('application/json');
  });
});

describe('endpoints: metrics', () => {
  it('/metrics shows attempts by endpoint and result, and the endpoint state', async () => {
    const hub = await startHub({ retrySchedule: [0] });
    const receiver = await Receiver.start();
    const [id] = await dispatchMany(hub.url, `${receiver.url}/m`, 1);
    await waitForStatus(hub.url, id as string, 'succeeded');
    await endpointAction(hub.url, receiver.url, 'disable');
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    expect(text).toContain(`hookhub_endpoint_attempts_total{endpoint="${receiver.url}",result="success"} 1`);
    expect(text).toContain(`hookhub_endpoint_state{endpoint="${receiver.url}"} 3`);
    expect(text).toContain(`hookhub_endpoint_attempt_seconds_count{endpoint="${receiver.url}"} 1`);
  });
});
