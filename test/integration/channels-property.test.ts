// Property tests over the browser-channel edges: Hookbox frames on /ws and /ws/send, and REST parameters
// on /web and /rest (form and JSON). Whatever arrives: never a 5xx, never an "internal error" frame, the
// connection stays usable, the process stays up, and an acknowledged publish can be read back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awkwardJsonText, noServerError, stillHealthy } from '../helpers/edges.js';
import { startHub } from '../helpers/server.js';
import { HookboxClient } from '../helpers/ws-client.js';

const RUNS = 60;
const NAMES = ['CONNECT', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PUBLISH', 'MESSAGE'];
const FIELDS = ['channel_name', 'payload', 'name', 'cookie', 'cookie_string', 'since', 'channel_names'];

/** A JSON value without keys that would make the hub call out (a polling URL). */
const value = fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes('"polling"'));

const frameText = fc.oneof(
  awkwardJsonText(),
  fc.tuple(
    fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null), value),
    fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 10 })),
    fc.oneof(fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(value, fc.constant('room'))), value),
  ).map((f) => JSON.stringify(f)),
  awkwardJsonText().map((j) => `[1, "PUBLISH", {"channel_name": "room", "payload": ${j}}]`),
);

describe('/ws frames never break a connection', () => {
  it('any sequence of frames: ERROR or an answer, never "internal error"; the connection still CONNECTs', async () => {
    const hub = await startHub();
    await fc.assert(
      fc.asyncProperty(fc.array(frameText, { minLength: 1, maxLength: 6 }), async (frames) => {
        const c = await HookboxClient.open(hub.url);
        for (const f of frames) c.sendRaw(f);
        c.send('CONNECT', { payload: { name: 'probe' } });
        c.send('SUBSCRIBE', { channel_name: 'probe-room' });
        await c.frame('SUBSCRIBE', (a) => a.channel_name === 'probe-room' && 'history' in a);
        expect(c.closeInfo, frames.join(' | ')).toBeUndefined();
        expect(c.all('ERROR').filter((e) => e[2].msg === 'internal error'), frames.join(' | ')).toEqual([]);
        c.close();
      }),
      { numRuns: RUNS },
    );
    await stillHealthy(hub);
  });

  it('/ws/send bodies of any shape: never a 5xx', async () => {
    const hub = await startHub();
    const res = await fetch(`${hub.url}/ws/sse`);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const session = (JSON.parse(/data: (.*)/.exec(first)![1]!) as { session: string }).session;
    await fc.assert(
      fc.asyncProperty(fc.oneof(frameText, fc.array(frameText, { maxLength: 4 }).map((fs) => `[${fs.join(',')}]`)), async (body) => {
        const sent = await fetch(`${hub.url}/ws/send?session=${session}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        noServerError(sent.status, body.slice(0, 200));
      }),
      { numRuns: RUNS },
    );
    await reader.cancel();
    await stillHealthy(hub);
  });
});

describe('REST parameters never fail', () => {
  const METHODS = ['publish', 'publish_multi', 'subscribe', 'unsubscribe', 'message', 'create_channel', 'destroy_channel', 'get_channel_info',
    'set_channel_options', 'state_set_key', 'state_delete_key', 'get_user_info', 'set_user_options', 'get_server_info'];
  const REST_FIELDS = ['channel_name', 'channel_names', 'payload', 'originator', 'name', 'sender_name', 'recipient_name', 'key', 'val', 'user_name',
    'options', 'send_hook', 'history_size', 'reflective', 'state', 'security_token', 'moderated', 'anonymous'];

  it('any method with any fields, form or JSON: HTTP 200 [true|false, {...}]; an acknowledged publish is in history', async () => {
    const hub = await startHub();
    await fetch(`${hub.url}/rest/create_channel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"channel_name": "c", "history_size": 5}' });
    const fieldValue = fc.oneof(value, fc.constant('c'), awkwardJsonText());
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS),
        fc.dictionary(fc.constantFrom(...REST_FIELDS), fieldValue, { maxKeys: 5 }),
        fc.boolean(),
        async (method, fields, asJson) => {
          const before = await lastOffset(hub.url);
          const body = asJson
            ? JSON.stringify(fields)
            : new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
          const res = await fetch(`${hub.url}/rest/${method}`, {
            method: 'POST',
            headers: { 'content-type': asJson ? 'application/json' : 'application/x-www-form-urlencoded' },
            body,
          });
          const what = `${method} ${body.slice(0, 300)}`;
          expect(res.status, what).toBe(200);
          const answer = (await res.json()) as [boolean, Record<string, unknown>];
          expect(typeof answer[0], what).toBe('boolean');
          expect(typeof answer[1], what).toBe('object');
          // A field of the wrong type is refused, never turned into a name like "[object Object]".
          expect(await topicNames(hub.url), what).not.toContain('[object Object]');
          const publishedToC = answer[0] && ((method === 'publish' && fields.channel_name === 'c') || (method === 'publish_multi' && fields.channel_names === 'c'));
          if (publishedToC) {
            const last = await lastOffset(hub.url);
            expect(last, what).toBe(before + 1);
            const read = await fetch(`${hub.url}/api/topics/c/history?since=${last - 1}`);
            expect(((await read.json()) as { messages: Array<{ offset: number }> }).messages.map((m) => m.offset), what).toEqual([last]);
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
    await stillHealthy(hub);
  });
});

async function topicNames(base: string): Promise<string[]> {
  const res = await fetch(`${base}/api/topics`);
  return ((await res.json()) as { topics: Array<{ topic: string }> }).topics.map((t) => t.topic);
}

async function lastOffset(base: string): Promise<number> {
  const res = await fetch(`${base}/api/topics`);
  return ((await res.json()) as { topics: Array<{ topic: string; last: number }> }).topics.find((t) => t.topic === 'c')?.last ?? 0;
}
