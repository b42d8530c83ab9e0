// Poison input on the browser channels: frames (/ws and /ws/send), REST bodies and fields, application
// callback answers and polling answers. JSON nested past --max-json-depth or holding __proto__ keys is
// refused (ERROR frame, [false, {msg}], a denial), the connection stays usable and nothing is published.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { call } from '../helpers/http.js';
import { Receiver } from '../helpers/receiver.js';
import { restAuth, restful } from '../helpers/rest-key.js';
import { startHub } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const DEEP = nested(6000);

const rest = async (base: string, method: string, body: string, type = 'application/json') => {
  const res = await call(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': type, ...restAuth }, body });
  expect(res.status, `${method} ${body.slice(0, 80)}`).toBe(200);
  return res.body as [boolean, { msg?: string }];
};

const history = async (base: string, topic: string) =>
  (await call<{ messages: Array<{ offset: number; data: unknown }> }>(`${base}/api/topics/${topic}/history`, { headers: restAuth })).body.messages;

describe('/ws frames', () => {
  it('a frame nested too deep or with __proto__ gets ERROR; the connection stays usable', async () => {
    const hub = await startHub(restful);
    const c = await HookboxClient.open(hub.url);
    c.sendRaw(DEEP);
    c.sendRaw(`[1, "CONNECT", {"payload": ${nested(70)}}]`);
    c.sendRaw('[2, "CONNECT", {"payload": {"__proto__": {"name": "admin"}}}]');
    await c.frame('ERROR', () => true, 3);
    const errors = c.all('ERROR').map((f) => f[2]);
    expect(errors[0]).toMatchObject({ id: null, msg: expect.stringMatching(/deeper than 64/) });
    expect(errors[1]).toMatchObject({ msg: expect.stringMatching(/deeper than 64/) });
    expect(errors[2]).toMatchObject({ msg: expect.stringMatching(/__proto__/) });
    c.send('CONNECT', { payload: { name: 'still-here' } });
    expect((await c.frame('CONNECTED'))[2]).toEqual({ name: 'still-here', payload: { name: 'still-here' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE', (a) => 'history' in a);
    // Refused before its id could be read: the ERROR's id is null.
    c.send('PUBLISH', { channel_name: 'room', payload: JSON.parse(nested(63)) as unknown });
    expect((await c.frame('ERROR', () => true, 4))[2].msg).toMatch(/deeper than 64/);
    c.send('PUBLISH', { channel_name: 'room', payload: 'fine' });
    expect((await c.frame('PUBLISH'))[2]).toMatchObject({ channel_name: 'room', payload: 'fine' });
    expect((await history(hub.url, 'room')).map((m) => m.data)).toEqual(['fine']);
  });

  it('/ws/send: a too-deep body gets an ERROR event, not a 500; the session stays usable', async () => {
    const hub = await startHub(restful);
    const sse = new SseClient(`${hub.url}/ws/sse`);
    const [first] = await sse.waitFor(1);
    const { session } = JSON.parse(first!.data) as { session: string };
    const send = (body: string) => call(`${hub.url}/ws/send?session=${session}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await send(DEEP)).status).toBe(202);
    expect((await send(`[[1, "CONNECT", {"payload": ${nested(70)}}]]`)).status).toBe(202);
    expect((await send('[1, "CONNECT", {"payload": {"name": "fb"}}]')).status).toBe(202);
    const events = await sse.waitFor(4);
    const frames = events.slice(1).map((e) => JSON.parse(e.data) as [number, string, Record<string, unknown>]);
    expect(frames[0]).toMatchObject([expect.any(Number), 'ERROR', { msg: expect.stringMatching(/deeper than 64/) }]);
    expect(frames[1]).toMatchObject([expect.any(Number), 'ERROR', { msg: expect.stringMatching(/deeper than 64/) }]);
    expect(frames[2]).toMatchObject([expect.any(Number), 'CONNECTED', { name: 'fb' }]);
    sse.close();
  });
});

describe('REST bodies and fields', () => {
  it('too deep, __proto__ and wrongly typed fields answer 200 [false, {msg}] and change nothing', async () => {
    const hub = await startHub(restful);
    expect(await rest(hub.url, 'create_channel', '{"channel_name": "c"}')).toEqual([true, {}]);

    expect(await rest(hub.url, 'publish', `{"channel_name": "c", "payload": ${DEEP}}`)).toEqual([false, { msg: expect.stringMatching(/deeper than 64/) }]);
    expect(await rest(hub.url, 'publish', new URLSearchParams({ channel_name: 'c', payload: DEEP }).toString(), 'application/x-www-form-urlencoded'))
      .toEqual([false, { msg: expect.stringMatching(/payload: JSON nested deeper than 64/) }]);
    expect(await rest(hub.url, 'state_set_key', new URLSearchParams({ channel_name: 'c', key: 'k', val: nested(65) }).toString(), 'application/x-www-form-urlencoded'))
      .toEqual([false, { msg: expect.stringMatching(/val: JSON nested deeper/) }]);
    expect(await rest(hub.url, 'publish', '{"channel_name": "c", "payload": {"__proto__": {"x": 1}}}')).toEqual([false, { msg: expect.stringMatching(/__proto__/) }]);
    expect(await rest(hub.url, 'create_channel', new URLSearchParams({ channel_name: 'd', options: '{"state": {"__proto__": {}}}' }).toString(), 'application/x-www-form-urlencoded'))
      .toEqual([false, { msg: expect.stringMatching(/__proto__/) }]);

    for (const names of ['[{"a": 1}]', '[["c"]]', '5', '{"c": true}', '[null]']) {
      expect(await rest(hub.url, 'publish_multi', `{"channel_names": ${names}, "payload": "x"}`), names)
        .toEqual([false, { msg: expect.stringMatching(/channel_names must be/) }]);
    }
    expect(await rest(hub.url, 'publish', '{"channel_name": {"a": 1}, "payload": "x"}')).toEqual([false, { msg: 'channel_name must be text' }]);
    expect(await rest(hub.url, 'get_channel_info', '{"channel_name": "[object Object]"}')).toEqual([false, { msg: expect.stringMatching(/no such channel/) }]);
    expect(await history(hub.url, 'c')).toEqual([]);
    expect((await rest(hub.url, 'get_channel_info', '{"channel_name": "c"}'))[1]).toMatchObject({ state: {} });

    expect(await rest(hub.url, 'publish_multi', '{"channel_names": ["c"], "payload": {"ok": 1}}')).toEqual([true, {}]);
    expect(await rest(hub.url, 'publish_multi', 'channel_names=c&payload=2', 'application/x-www-form-urlencoded')).toEqual([true, {}]);
    expect((await history(hub.url, 'c')).map((m) => m.data)).toEqual([{ ok: 1 }, 2]);
  });
});

describe('application answers', () => {
  it('a callback answer nested too deep denies the action with a clear error', async () => {
    let deepOn = 'connect';
    const decide = (c: Call): unknown => {
      if (c.action === deepOn) return { raw: `[true, {"name": "u", "extra": ${nested(100)}}]` };
      return c.action === 'connect' ? [true, { name: nameFromPayload(c) }] : [true, {}];
    };
    const app = await ChannelsApp.start(decide);
    const hub = await startHub({ cbUrl: `${app.url}/hb`, cbTimeout: 2000, apiKey: restful.apiKey });
    const c = await HookboxClient.open(hub.url);
    const id = c.send('CONNECT', { payload: { name: 'u' } });
    expect((await c.error(id))[2].msg).toMatch(/application callback connect answered unacceptable JSON: JSON nested deeper than 64/);

    deepOn = 'publish';
    c.send('CONNECT', { payload: { name: 'u' } });
    await c.frame('CONNECTED');
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE', (a) => 'history' in a);
    const pub = c.send('PUBLISH', { channel_name: 'room', payload: 'x' });
    expect((await c.error(pub))[2].msg).toMatch(/application callback publish answered unacceptable JSON/);
    expect(await history(hub.url, 'room')).toEqual([]);
  });

  it('a polling answer nested too deep is not published (logged); later answers are', async () => {
    let n = 0;
    const source = await Receiver.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(++n === 1 ? nested(100) : JSON.stringify({ n }));
    });
    const hub = await startHub(restful);
    const options = JSON.stringify({ polling: { url: `${source.url}/feed`, interval: 0.05, mode: 'simple' } });
    expect(await rest(hub.url, 'create_channel', new URLSearchParams({ channel_name: 'polled', options }).toString(), 'application/x-www-form-urlencoded')).toEqual([true, {}]);
    const [first] = await until(async () => {
      const list = await history(hub.url, 'polled');
      return list.length > 0 ? list : undefined;
    }, 'a polled message');
    expect(first).toMatchObject({ offset: 1, data: { n: 2 } });
    expect((await call(`${hub.url}/healthz`)).status).toBe(200);
    await rest(hub.url, 'destroy_channel', '{"channel_name": "polled"}');
  });
});
