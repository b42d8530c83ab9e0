// Property tests over the producer and reader edges: /dispatch (form, JSON, multipart; control fields,
// URLs, headers), /api/topics publish, history offsets, /stream and /sse positions, WebSub pings. Whatever
// arrives: never a 5xx, the process stays up (/healthz 200), and what was acknowledged can be read back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awkwardJsonText, headerText, localUrl, noServerError, readBack, stillHealthy } from '../helpers/edges.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub } from '../helpers/server.js';

const RUNS = 80;

/** Control fields with awkward values (strings, numbers, objects, deep JSON text), outgoing URLs kept local. */
const controlFields = (port: number) =>
  fc.record(
    {
      _url: localUrl(port),
      _topic: fc.oneof(fc.constant('t'), fc.string({ maxLength: 20 })),
      _method: fc.oneof(fc.constantFrom('GET', 'post', 'HEAD', 'PUT'), fc.string({ maxLength: 6 })),
      _headers: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.integer(), fc.constant(null))).map((h) => JSON.stringify(h)),
        awkwardJsonText(),
      ),
      _timeout: fc.oneof(fc.constantFrom('1s', '0', '-1', '5m1s', '1e309', 'NaN'), fc.string({ maxLength: 6 })),
      _secret: fc.oneof(fc.constantFrom('whsec_', 'whsec_!!', 'whsec_YWJj'), fc.string({ maxLength: 8 })),
      _callback: localUrl(port),
      _errback: localUrl(port),
      _ordered: fc.string({ maxLength: 4 }),
      _ordering_key: fc.string({ maxLength: 300 }),
    },
    { requiredKeys: [] },
  );

const payloadFields = fc.dictionary(fc.string({ maxLength: 12 }).filter((k) => !k.startsWith('_')), fc.string({ unit: 'binary', maxLength: 20 }), { maxKeys: 4 });

async function send(base: string, body: string | FormData, contentType?: string) {
  const res = await fetch(`${base}/dispatch`, { method: 'POST', body, ...(contentType !== undefined ? { headers: { 'content-type': contentType } } : {}) });
  return { status: res.status, json: (await res.json().catch(() => undefined)) as { id?: string; offset?: number; ids?: string[] } | undefined };
}

/** Whatever /dispatch acknowledged: a topic message in history, or a delivery in the log. */
async function acknowledged(base: string, fields: Record<string, unknown>, answer: { id?: string; offset?: number; ids?: string[] } | undefined): Promise<void> {
  if (answer?.offset !== undefined) {
    const res = await fetch(`${base}/api/topics/${encodeURIComponent(String(fields._topic))}/history?since=${answer.offset - 1}&limit=1`);
    expect(((await res.json()) as { messages: Array<{ id: string }> }).messages[0]?.id).toBe(answer.id);
  } else {
    for (const id of answer?.ids ?? [answer?.id as string]) expect((await fetch(`${base}/api/deliveries/${encodeURIComponent(id)}`)).status).toBe(200);
  }
}

/** The `_topic` a raw body names, as /dispatch reads it. */
function topicOf(type: string, text: string): string {
  if (type.includes('json')) return String((JSON.parse(text) as { _topic: unknown })._topic);
  if (type.startsWith('multipart')) return 't';
  return new URLSearchParams(text).get('_topic') ?? '';
}

describe('/dispatch never fails on any input', () => {
  it('form, JSON and multipart bodies with awkward control fields: 2xx or 4xx, and what was accepted can be read back', async () => {
    const receiver = await Receiver.start();
    const hub = await startHub({ retrySchedule: [0] });
    const port = Number(new URL(receiver.url).port);
    await fc.assert(
      fc.asyncProperty(controlFields(port), payloadFields, fc.constantFrom('form', 'json', 'multipart', 'batch'), async (control, payload, kind) => {
        const fields: Record<string, string> = { ...payload, ...control };
        let res;
        if (kind === 'form') res = await send(hub.url, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
        else if (kind === 'multipart') {
          const form = new FormData();
          for (const [k, v] of Object.entries(fields)) form.append(k, v);
          form.append('file', new Blob([Buffer.from(payload[''] ?? 'x')]), 'f.bin');
          res = await send(hub.url, form);
        } else {
          // In JSON, _headers goes as the object it spells when it parses.
          const json: Record<string, unknown> = { ...fields };
          try {
            // (Only short ones: the test's own JSON.stringify has a call stack too.)
            if (fields._headers !== undefined && fields._headers.length < 2000) json._headers = JSON.parse(fields._headers) as unknown;
          } catch { /* stays text */ }
          res = await send(hub.url, JSON.stringify(kind === 'batch' ? [json] : json), 'application/json');
        }
        noServerError(res.status, `${kind} ${JSON.stringify(fields).slice(0, 300)}`);
        if (res.status === 202) await acknowledged(hub.url, fields, res.json);
      }),
      { numRuns: RUNS },
    );
    await stillHealthy(hub);
  });

  it('raw bodies of any content type: never a 5xx', async () => {
    const hub = await startHub();
    const contentType = fc.oneof(
      fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/vnd.a+json', 'text/plain'),
      headerText(),
    );
    const body = fc.oneof(
      awkwardJsonText(),
      awkwardJsonText().map((j) => `{"_topic":"t","v":${j}}`),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('--x\r\nContent-Disposition: form-data; name="_topic"\r\n\r\nt\r\n--x--\r\n', '--x\r\n\r\n', '%zz=%', '_topic=t&a=%E0%A4%A', '_topic=%'),
    );
    await fc.assert(
      fc.asyncProperty(contentType, body, async (type, text) => {
        const res = await send(hub.url, text, type);
        noServerError(res.status, `${type}: ${text.slice(0, 200)}`);
        if (res.status === 202 && res.json?.offset !== undefined) await readBack(hub, topicOf(type, text), res.json.offset, res.json.id as string);
      }),
      { numRuns: RUNS },
    );
    await stillHealthy(hub);
  });
});

describe('topic publish and read positions never fail', () => {
  it('/api/topics/:topic/publish with any topic, content type and body; history, /stream and /sse with any offsets', async () => {
    const hub = await startHub();
    const offset = fc.oneof(fc.nat().map(String), fc.constantFrom('-1', '1e3', '', '0x10', '9007199254740993', 'abc', 't:1', 't:x,u:2'), fc.string({ maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant('t'), fc.string({ minLength: 1, maxLength: 30 })),
        fc.oneof(fc.constantFrom('application/json', 'text/json', 'application/x-www-form-urlencoded', 'application/octet-stream'), headerText()),
        fc.oneof(awkwardJsonText(), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1'))),
        offset,
        offset,
        async (topic, type, body, since, limit) => {
          const path = encodeURIComponent(topic);
          const res = await fetch(`${hub.url}/api/topics/${path}/publish`, { method: 'POST', headers: { 'content-type': type }, body });
          noServerError(res.status, `publish ${type}: ${body.slice(0, 100)}`);
          if (res.status === 202) {
            const ack = (await res.json()) as { id: string; offset: number };
            await readBack(hub, topic, ack.offset, ack.id);
          }
          const history = await fetch(`${hub.url}/api/topics/${path}/history?since=${encodeURIComponent(since)}&limit=${encodeURIComponent(limit)}`);
          noServerError(history.status, `history since=${since} limit=${limit}`);
          for (const url of [
            `${hub.url}/stream?topic=${path}&since=${encodeURIComponent(since)}`,
            `${hub.url}/sse?topic=${path}&since=${encodeURIComponent(since)}`,
          ]) {
            const abort = new AbortController();
            const live = await fetch(url, { signal: abort.signal, headers: { 'last-event-id': since.replace(/[^\x20-\x7e]/g, '') } });
            noServerError(live.status, url);
            abort.abort();
          }
        },
      ),
      { numRuns: RUNS },
    );
    await stillHealthy(hub);
  });
});

describe('WebSub pings never fail', () => {
  it('subscribe and publish with awkward URLs and fields: never a 5xx', async () => {
    const receiver = await Receiver.start((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url.includes('deep') ? '['.repeat(200) + ']'.repeat(200) : new URL(req.url, 'http://x').searchParams.get('hub.challenge') ?? '{}');
    });
    const hub = await startHub({ websubFetchRetry: [0] });
    const port = Number(new URL(receiver.url).port);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('subscribe', 'unsubscribe', 'publish', '', 'x'),
        localUrl(port),
        fc.oneof(localUrl(port), fc.constant(`${receiver.url}/deep`), fc.string({ maxLength: 20 })),
        fc.oneof(fc.nat().map(String), fc.string({ maxLength: 6 })),
        fc.string({ maxLength: 10 }),
        async (mode, callback, topic, lease, secret) => {
          const form = new URLSearchParams({ 'hub.mode': mode, 'hub.callback': callback, 'hub.topic': topic, 'hub.url': topic, 'hub.lease_seconds': lease, 'hub.secret': secret });
          const res = await fetch(`${hub.url}/hub`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
          noServerError(res.status, form.toString());
        },
      ),
      { numRuns: RUNS },
    );
    await stillHealthy(hub);
  });
});
