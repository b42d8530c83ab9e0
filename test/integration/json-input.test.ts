// Poison input on the topic producers and consumers: JSON nested past --max-json-depth is refused with
// 400 and nothing committed; a message already in the log is always readable; one failing consumer or
// listener never stops the others; __proto__ keys and non-Latin-1 header values are refused at /dispatch.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Message } from '../../src/core/message.js';
import { call, postForm, postJson } from '../helpers/http.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub, tempDir } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { Subscriber, subscribeActive, hubPost, Publisher } from '../helpers/websub.js';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
/** About 12 KB: far under --max-body, far over any sensible depth (and over JSON.stringify's stack). */
const DEEP = nested(6000);

interface History { messages: Array<{ offset: number; data: unknown; contentType: string }> }

const stores: Array<[string, () => Partial<Config>]> = [
  ['memory', () => ({ store: 'memory' })],
  ['sqlite', () => ({ store: 'sqlite', dataDir: tempDir() })],
];

const metric = async (base: string, line: string): Promise<number> => {
  const text = (await call(`${base}/metrics`)).text;
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.split(' ').pop()) : 0;
};

describe.each(stores)('deep JSON with the %s store', (_name, options) => {
  it('is refused with 400 at /api/topics publish and /dispatch; nothing is committed and consumers go on', async () => {
    const hub = await startHub(options());
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=t`);

    const raw = await call(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: DEEP });
    expect(raw.status).toBe(400);
    expect(raw.body).toMatchObject({ error: expect.stringMatching(/nested deeper than 64 levels/) });
    const vendor = await call(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { 'content-type': 'application/vnd.x+json; charset=utf-8' }, body: DEEP });
    expect(vendor.status).toBe(400);

    const dispatched = await call(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"_topic":"t","a":${DEEP}}` });
    expect(dispatched.status).toBe(400);
    expect(dispatched.body).toMatchObject({ error: expect.stringMatching(/deeper than 64/) });
    const webhook = await call(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"_url":"http://127.0.0.1:9/x","a":${DEEP}}` });
    expect(webhook.status).toBe(400);
    const batch = await call(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `[{"_url":"http://127.0.0.1:9/x","a":${DEEP}}]` });
    expect(batch.status).toBe(400);
    expect(((await call<{ deliveries: unknown[] }>(`${hub.url}/api/deliveries`)).body).deliveries).toEqual([]);

    // Exactly at the limit is fine (64 nested containers in all).
    const atLimit = await call(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: nested(64) });
    expect(atLimit.status).toBe(202);
    expect(atLimit.body).toMatchObject({ offset: 1 });
    const [line] = (await stream.waitForLines(1)) as Array<{ offset: number }>;
    expect(line!.offset).toBe(1);
    expect((await call<History>(`${hub.url}/api/topics/t/history`)).body.messages.map((m) => m.offset)).toEqual([1]);
    expect((await call(`${hub.url}/healthz`)).status).toBe(200);
    stream.close();
  });

  it('a message already in the log whose JSON cannot be encoded again is read back as text everywhere', async () => {
    const hub = await startHub({ ...options(), adminPassword: 'pw' });
    await call(`${hub.url}/rest/create_channel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel_name: 't' }) });
    const ws = await HookboxClient.connect(hub.url, { payload: { name: 'u' } });
    ws.send('SUBSCRIBE', { channel_name: 't' });
    await ws.frame('SUBSCRIBE', (a) => 'history' in a);
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=t`);
    const sse = new SseClient(`${hub.url}/sse?topic=t`);
    await sse.waitOpen();

    // Committed by an older node or version that did not check depth: straight into the store.
    const m: Message = await hub.store.topics.append('t', { contentType: 'application/json', body: Buffer.from(DEEP) });
    expect(m.offset).toBe(1);

    const [line] = (await stream.waitForLines(1)) as Array<{ offset: number; data: unknown }>;
    expect(line).toMatchObject({ offset: 1, data: DEEP });
    const [event] = await sse.waitFor(1);
    expect(JSON.parse(event!.data)).toMatchObject({ offset: 1, data: DEEP });
    expect((await ws.frame('PUBLISH'))[2]).toMatchObject({ channel_name: 't', payload: DEEP });

    const history = await call<History>(`${hub.url}/api/topics/t/history?since=0`);
    expect(history.status).toBe(200);
    expect(history.body.messages[0]).toMatchObject({ offset: 1, data: DEEP });
    const replay = await NdjsonClient.open(`${hub.url}/stream?topic=t&since=0`);
    expect((await replay.waitForLines(1))[0]).toMatchObject({ offset: 1, data: DEEP });
    const admin = await call(`${hub.url}/admin/api/topics/t`, { headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` } });
    expect(admin.status).toBe(200);
    expect(admin.text).toContain(DEEP);
    expect((await call(`${hub.url}/healthz`)).status).toBe(200);
    for (const c of [stream, replay, sse, ws]) c.close();
  });

  it('a consumer or listener that throws is logged and counted; the others still get the message', async () => {
    const hub = await startHub(options());
    hub.topics.openLive('t', { message: () => { throw new Error('broken consumer'); }, gap() {}, reset() {}, overflow() {} });
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=t`);
    const heard: number[] = [];
    hub.topics.onAppend(() => { throw new Error('broken listener'); });
    hub.topics.onAppend((m) => heard.push(m.offset));

    const res = await call(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(202);
    expect((await stream.waitForLines(1))[0]).toMatchObject({ offset: 1, data: 'hello' });
    expect(heard).toEqual([1]);
    expect(await metric(hub.url, 'hookhub_fanout_errors_total{stage="consumer"}')).toBe(1);
    expect(await metric(hub.url, 'hookhub_fanout_errors_total{stage="listener"}')).toBe(1);
    expect((await call<History>(`${hub.url}/api/topics/t/history`)).body.messages).toHaveLength(1);
    stream.close();
  });
});

describe('/dispatch prototype keys and header values', () => {
  it('refuses a JSON key __proto__ (it would vanish and turn a POST into a GET), at any depth', async () => {
    const receiver = await Receiver.start();
    const hub = await startHub();
    for (const body of [
      `{"_url":"${receiver.url}/a","__proto__":{"x":1}}`,
      `{"_url":"${receiver.url}/a","data":{"\\u005f_proto__":{"x":1}}}`,
      `{"_topic":"t","a":{"constructor":{"prototype":{"x":1}}}}`,
    ]) {
      const res = await call(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status, body).toBe(400);
      expect(res.body).toMatchObject({ error: expect.stringMatching(/__proto__/) });
    }
    expect(((await call<{ deliveries: unknown[] }>(`${hub.url}/api/deliveries`)).body).deliveries).toEqual([]);
    expect((await call<History>(`${hub.url}/api/topics/t/history`)).body.messages).toEqual([]);
    // A plain "constructor" or "proto" field is data.
    expect((await postJson(`${hub.url}/dispatch`, { _topic: 't', constructor: 'c', proto: 1 })).status).toBe(202);
    await receiver.close();
  });

  it('a multipart part with an empty name is the field "" (not a 500)', async () => {
    const hub = await startHub();
    const form = new FormData();
    form.append('_topic', 't');
    form.append('', 'nameless');
    const res = await call(`${hub.url}/dispatch`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const [m] = (await call<History>(`${hub.url}/api/topics/t/history`)).body.messages;
    expect(String(m!.data)).toContain('name=""');
    expect(String(m!.data)).toContain('nameless');
  });

  it('form field names in a payload are data, __proto__ and toString included', async () => {
    const hub = await startHub();
    const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '__proto__=x&toString=y' };
    expect((await call(`${hub.url}/api/topics/t/publish`, form)).status).toBe(202);
    const [m] = (await call<History>(`${hub.url}/api/topics/t/history`)).body.messages;
    expect(Object.entries(m!.data as object)).toEqual([['__proto__', 'x'], ['toString', 'y']]);
  });

  it('refuses _headers values outside Latin-1 at accept, in JSON and form bodies; Latin-1 is fine', async () => {
    const receiver = await Receiver.start();
    const hub = await startHub();
    const euro = await postJson(`${hub.url}/dispatch`, { _url: `${receiver.url}/a`, _headers: { 'x-price': '5 €' }, a: 1 });
    expect(euro.status).toBe(400);
    expect(euro.body).toMatchObject({ error: expect.stringMatching(/x-price.*Latin-1/) });
    const form = await postForm(`${hub.url}/dispatch`, { _url: `${receiver.url}/a`, _headers: JSON.stringify({ 'x-name': '雪' }) });
    expect(form.status).toBe(400);
    const control = await postForm(`${hub.url}/dispatch`, { _url: `${receiver.url}/a`, _headers: JSON.stringify({ 'x-name': 'a\u0007b' }) });
    expect(control.status).toBe(400);
    const proto = await postForm(`${hub.url}/dispatch`, { _url: `${receiver.url}/a`, _headers: '{"__proto__":{"x":"1"}}' });
    expect(proto.status).toBe(400);
    expect(((await call<{ deliveries: unknown[] }>(`${hub.url}/api/deliveries`)).body).deliveries).toEqual([]);

    const latin1 = await postJson(`${hub.url}/dispatch`, { _url: `${receiver.url}/a`, _headers: { 'x-name': 'café' }, a: 1 });
    expect(latin1.status).toBe(202);
    const [got] = await receiver.waitFor(1);
    expect(Buffer.from(got!.headers['x-name'] as string, 'latin1').toString('latin1')).toBe('café');
    await receiver.close();
  });
});

describe('WebSub publish of a topic URL serving deep JSON', () => {
  it('is not distributed (logged, nothing committed); the next good body is', async () => {
    const publisher = await Publisher.start();
    const subscriber = await Subscriber.start();
    const hub = await startHub({ websubFetchRetry: [0] });
    const topic = publisher.topic();
    await subscribeActive(hub, subscriber.url, topic);
    publisher.contentType = 'application/json';
    publisher.body = Buffer.from(DEEP);
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': topic })).status).toBe(202);
    await until(() => (publisher.fetches.length >= 1 ? true : undefined), 'the hub fetched the topic');
    publisher.body = Buffer.from('{"ok":true}');
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': topic })).status).toBe(202);
    const [note] = await subscriber.waitNotifications(1);
    expect(note!.body.toString()).toBe('{"ok":true}');
    const history = await call<History>(`${hub.url}/api/topics/${encodeURIComponent(topic)}/history`);
    expect(history.body.messages).toEqual([expect.objectContaining({ offset: 1, data: { ok: true } })]);
    expect(subscriber.notifications).toHaveLength(1);
    await until(async () => ((await call(`${hub.url}/metrics`)).text.includes('hookhub_websub_fetches_total{outcome="failed"} 1') ? true : undefined), 'the refused fetch counted');
  });
});
