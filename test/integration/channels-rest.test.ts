// Hookbox's REST API (/web/<method>, /rest/<method>): every method, form and JSON bodies, the token.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload } from '../helpers/channels-app.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { restAuth, restful } from '../helpers/rest-key.js';

type Answer = [boolean, Record<string, any>];

const json = async (base: string, path: string, body: Record<string, unknown>, headers: Record<string, string> = restAuth): Promise<Answer> => {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
};

const form = async (base: string, path: string, body: Record<string, string>, headers: Record<string, string> = restAuth): Promise<Answer> => {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
};

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel);
  return c;
}

describe('REST token', () => {
  it('a wrong or missing token answers 200 [false, {msg}] and does nothing', async () => {
    const hub = await startHub({ apiKey: 'k3y', channelsOpen: true });
    const c = await joined(hub.url, 'a', 'room');
    expect(await form(hub.url, '/rest/publish', { channel_name: 'room', payload: '"x"' }, {})).toEqual([false, { msg: 'invalid security token' }]);
    expect(await form(hub.url, '/web/publish', { security_token: 'wrong', channel_name: 'room', payload: '"x"' }, {})).toEqual([false, { msg: 'invalid security token' }]);
    expect(await json(hub.url, '/rest/create_channel', { channel_name: 'other' }, { authorization: 'Bearer nope' })).toEqual([false, { msg: 'invalid security token' }]);
    expect(await json(hub.url, '/rest/destroy_channel', { channel_name: 'room', security_token: 'k3y!' }, {})).toEqual([false, { msg: 'invalid security token' }]);
    expect(hub.channels.node.channels.has('other')).toBe(false);
    expect(hub.channels.node.channels.has('room')).toBe(true);
    expect((await hub.topics.bounds('room')).last).toBe(0);
    // The right token, three ways.
    expect(await form(hub.url, '/rest/publish', { security_token: 'k3y', channel_name: 'room', payload: '1' }, {})).toEqual([true, {}]);
    expect(await json(hub.url, '/web/publish', { channel_name: 'room', payload: 2 }, { authorization: 'Bearer k3y' })).toEqual([true, {}]);
    const res = await fetch(`${hub.url}/rest/publish?security_token=k3y&channel_name=room&payload=3`);
    expect(await res.json()).toEqual([true, {}]);
    await c.frame('PUBLISH', () => true, 3);
    expect(c.all('PUBLISH').map((f) => f[2].payload)).toEqual([1, 2, 3]);
  });

  it('without a REST secret (--api-key) every call is refused, as in Hookbox, whatever token is sent', async () => {
    const hub = await startHub();
    const c = await joined(hub.url, 'a', 'room');
    const refused = [false, { msg: 'the REST API is disabled: no REST secret is set (start with --api-key)' }];
    expect(await form(hub.url, '/rest/publish', { channel_name: 'room', payload: '"x"' }, {})).toEqual(refused);
    expect(await form(hub.url, '/web/create_channel', { channel_name: 'other', security_token: '' }, {})).toEqual(refused);
    expect(await json(hub.url, '/rest/get_server_info', {}, { authorization: 'Bearer anything' })).toEqual(refused);
    expect((await fetch(`${hub.url}/web/get_channel_info?channel_name=room`)).status).toBe(200);
    expect(await (await fetch(`${hub.url}/web/get_channel_info?channel_name=room`)).json()).toEqual(refused);
    expect(hub.channels.node.channels.has('other')).toBe(false);
    expect((await hub.topics.bounds('room')).last).toBe(0);
    expect(c.all('PUBLISH')).toEqual([]);
  });

  it('an unknown method is a 404', async () => {
    const hub = await startHub();
    const res = await fetch(`${hub.url}/rest/launch_rockets`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual([false, { msg: 'unknown method launch_rockets' }]);
    expect((await fetch(`${hub.url}/web/toString`)).status).toBe(404);
  });
});

describe('REST methods', () => {
  it('publish: form payload is JSON text, originator is the user; a channel that does not exist is an error; no callback without send_hook', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : call.action === 'publish' ? [true, { override_payload: 'hooked' }] : [true, {}]));
    const hub = await startHub({ ...restful, cbUrl: app.url });
    expect(await form(hub.url, '/rest/publish', { channel_name: 'fresh', payload: '{"n": 1}', originator: 'dictator' })).toEqual([false, { msg: "Channel fresh doesn't exist" }]);
    expect(hub.channels.node.channels.has('fresh')).toBe(false);
    const c = await joined(hub.url, 'a', 'news');
    await form(hub.url, '/rest/publish', { channel_name: 'news', payload: '[1, 2, "foo"]', originator: 'dictator' });
    await json(hub.url, '/rest/publish', { channel_name: 'news', payload: { as: 'json' } });
    expect(app.of('publish')).toHaveLength(0);
    await form(hub.url, '/rest/publish', { channel_name: 'news', payload: '"raw"', originator: 'boss', send_hook: '1' });
    await c.frame('PUBLISH', () => true, 3);
    expect(c.all('PUBLISH').map((f) => f[2])).toEqual([
      { channel_name: 'news', user: 'dictator', payload: [1, 2, 'foo'], datetime: expect.any(String) },
      { channel_name: 'news', user: null, payload: { as: 'json' }, datetime: expect.any(String) },
      { channel_name: 'news', user: 'boss', payload: 'hooked', datetime: expect.any(String) },
    ]);
    expect(app.of('publish')[0]!.fields).toMatchObject({ channel_name: 'news', originator: 'boss', user: 'boss', payload: '"raw"' });
    expect(await form(hub.url, '/rest/publish', { channel_name: 'news', payload: '{not json' })).toEqual([false, { msg: 'payload must be JSON text' }]);
    expect(await form(hub.url, '/rest/publish', { payload: '1' })).toEqual([false, { msg: 'channel_name required' }]);
  });

  it('publish_multi publishes to each comma-separated channel, skipping those that do not exist (Hookbox)', async () => {
    const hub = await startHub(restful);
    const a = await joined(hub.url, 'a', 'one');
    const b = await joined(hub.url, 'b', 'two');
    expect(await form(hub.url, '/web/publish_multi', { channel_names: 'one, ghost, two', payload: '"both"' })).toEqual([true, {}]);
    expect(hub.channels.node.channels.has('ghost')).toBe(false);
    expect((await a.frame('PUBLISH'))[2]).toEqual({ channel_name: 'one', user: null, payload: 'both', datetime: expect.any(String) });
    expect((await b.frame('PUBLISH'))[2]).toEqual({ channel_name: 'two', user: null, payload: 'both', datetime: expect.any(String) });
  });

  it('subscribe and unsubscribe a connected user (name); unknown users are refused', async () => {
    const hub = await startHub(restful);
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    expect(await form(hub.url, '/rest/subscribe', { channel_name: 'room', name: 'ann' })).toEqual([true, {}]);
    expect((await c.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'room', user: 'ann' });
    expect(await form(hub.url, '/rest/unsubscribe', { channel_name: 'room', name: 'ann' })).toEqual([true, {}]);
    expect((await c.frame('UNSUBSCRIBE'))[2]).toEqual({ channel_name: 'room', user: 'ann', datetime: expect.any(String) });
    expect(await form(hub.url, '/rest/subscribe', { channel_name: 'room', name: 'ghost' })).toEqual([false, { msg: 'no such user: ghost' }]);
    expect(await form(hub.url, '/rest/unsubscribe', { channel_name: 'room', name: 'ann' })).toEqual([false, { msg: 'not subscribed to room' }]);
  });

  it('send_hook=1 asks the app on subscribe, unsubscribe and message; without it the app is not called', async () => {
    const app = await ChannelsApp.start((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'subscribe' && call.fields.channel_name === 'vip') return [false, { msg: 'not on the list' }];
      if (call.action === 'message') return [true, { override_payload: 'checked' }];
      return [true, {}];
    });
    const hub = await startHub({ ...restful, cbUrl: app.url });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    expect(await form(hub.url, '/rest/subscribe', { channel_name: 'vip', name: 'ann' })).toEqual([true, {}]);
    expect(await form(hub.url, '/rest/unsubscribe', { channel_name: 'vip', name: 'ann' })).toEqual([true, {}]);
    expect(await form(hub.url, '/rest/message', { sender_name: 'sys', recipient_name: 'ann', payload: '"plain"' })).toEqual([true, {}]);
    await until(() => app.of('destroy_channel').length === 1, 'destroy_channel notice');
    // The channel is made for the subscribe: Hookbox asks create_channel, send_hook or not.
    expect(app.calls.map((x) => x.action)).toEqual(['connect', 'create_channel', 'destroy_channel']);
    expect(await form(hub.url, '/rest/subscribe', { channel_name: 'vip', name: 'ann', send_hook: '1' })).toEqual([false, { msg: 'not on the list' }]);
    expect(await form(hub.url, '/rest/subscribe', { channel_name: 'open', name: 'ann', send_hook: '1' })).toEqual([true, {}]);
    expect(await form(hub.url, '/rest/unsubscribe', { channel_name: 'open', name: 'ann', send_hook: '1' })).toEqual([true, {}]);
    expect(await form(hub.url, '/rest/message', { sender_name: 'sys', recipient_name: 'ann', payload: '"plain"', send_hook: '1' })).toEqual([true, {}]);
    await c.frame('MESSAGE', () => true, 2);
    expect(c.all('MESSAGE').map((f) => f[2].payload)).toEqual(['plain', 'checked']);
    expect(app.of('subscribe').map((x) => x.fields.channel_name)).toEqual(['vip', 'open']);
    expect(app.of('unsubscribe').map((x) => x.fields)).toMatchObject([{ channel_name: 'open', user: 'ann' }]);
    expect(app.of('message')[0]!.fields).toMatchObject({ sender: 'sys', recipient: 'ann', payload: '"plain"' });
  });

  it('message from any sender name to a connected recipient', async () => {
    const hub = await startHub(restful);
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    expect(await form(hub.url, '/rest/message', { sender_name: 'system', recipient_name: 'ann', payload: '{"note": "hi"}' })).toEqual([true, {}]);
    expect((await c.frame('MESSAGE'))[2]).toEqual({ sender: 'system', recipient: 'ann', payload: { note: 'hi' }, datetime: expect.any(String) });
    expect(await form(hub.url, '/rest/message', { sender_name: 'system', recipient_name: 'bob', payload: '1' })).toEqual([false, { msg: 'no such user: bob' }]);
  });

  it('create_channel, get_channel_info, set_channel_options, destroy_channel', async () => {
    const app = await ChannelsApp.start();
    const hub = await startHub({ ...restful, cbUrl: app.url });
    expect(await form(hub.url, '/rest/create_channel', { channel_name: 'c', history_size: '2', presenceful: 'true', state: '{"k": 1}' })).toEqual([true, {}]);
    expect(await form(hub.url, '/rest/create_channel', { channel_name: 'c' })).toEqual([false, { msg: 'channel c already exists' }]);
    const [ok, info] = await form(hub.url, '/rest/get_channel_info', { channel_name: 'c' });
    expect(ok).toBe(true);
    expect(info).toEqual({
      name: 'c',
      options: {
        reflective: true, history_size: 2, history_duration: 0, history_publish_only: false, presenceful: true, moderated: true,
        moderated_publish: false, moderated_subscribe: false, moderated_unsubscribe: false, anonymous: false,
        polling: { url: '', interval: 5, mode: '', form: {}, originator: '' },
        server_presenceful: false, server_user_presence: [], persistent: false, history: [], state: { k: 1 },
      },
      history: [],
      presence: [],
      subscribers: [],
      state: { k: 1 },
    });
    expect(await json(hub.url, '/rest/set_channel_options', { channel_name: 'c', anonymous: true, history_size: 7 })).toEqual([true, {}]);
    expect((await form(hub.url, '/rest/get_channel_info', { channel_name: 'c' }))[1].options).toMatchObject({ anonymous: true, history_size: 7 });
    expect(await form(hub.url, '/rest/set_channel_options', { channel_name: 'c', colour: '"red"' })).toEqual([false, { msg: 'unknown channel option colour' }]);
    expect(await form(hub.url, '/rest/set_channel_options', { channel_name: 'c', presenceful: '"maybe"' })).toEqual([false, { msg: 'option presenceful must be a boolean' }]);
    expect(await form(hub.url, '/rest/set_channel_options', { channel_name: 'nope', anonymous: 'true' })).toEqual([false, { msg: 'no such channel: nope' }]);
    const c = await joined(hub.url, 'zed', 'c');
    app.decide = (call) => (call.action === 'destroy_channel' ? [false, { msg: 'not yet' }] : [true, { name: 'zed' }]);
    expect(await form(hub.url, '/rest/destroy_channel', { channel_name: 'c', send_hook: '1' })).toEqual([false, { msg: 'not yet' }]);
    expect(hub.channels.node.channels.has('c')).toBe(true);
    expect(await form(hub.url, '/rest/destroy_channel', { channel_name: 'c' })).toEqual([true, {}]);
    expect((await c.frame('UNSUBSCRIBE'))[2]).toEqual({ channel_name: 'c', user: 'zed' });
    expect(hub.channels.node.channels.has('c')).toBe(false);
    expect(app.of('destroy_channel')).toHaveLength(1);
    expect(await form(hub.url, '/rest/get_channel_info', { channel_name: 'c' })).toEqual([false, { msg: 'no such channel: c' }]);
  });

  it('state_set_key (val is JSON text in forms) and state_delete_key', async () => {
    const hub = await startHub(restful);
    await form(hub.url, '/rest/create_channel', { channel_name: 's' });
    expect(await form(hub.url, '/rest/state_set_key', { channel_name: 's', key: 'score', val: '{"mcarter": 5, "desmaj": 11}' })).toEqual([true, {}]);
    expect((await form(hub.url, '/rest/get_channel_info', { channel_name: 's' }))[1].state).toEqual({ score: { mcarter: 5, desmaj: 11 } });
    expect(await form(hub.url, '/rest/state_set_key', { channel_name: 's', key: 'bad', val: '{oops' })).toEqual([false, { msg: 'val must be JSON text' }]);
    expect(await form(hub.url, '/rest/state_delete_key', { channel_name: 's', key: 'score' })).toEqual([true, {}]);
    expect((await form(hub.url, '/rest/get_channel_info', { channel_name: 's' }))[1].state).toEqual({});
  });

  it('get_user_info, set_user_options and get_server_info', async () => {
    const hub = await startHub(restful);
    const c = await joined(hub.url, 'ann', 'room');
    const [ok, info] = await form(hub.url, '/rest/get_user_info', { user_name: 'ann' });
    expect(ok).toBe(true);
    expect(info).toMatchObject({ name: 'ann', channels: ['room'], options: { reflective: true, moderated_message: true, per_connection_subscriptions: false } });
    expect(info.connections).toHaveLength(1);
    expect(await form(hub.url, '/rest/set_user_options', { user_name: 'ann', reflective: 'false', moderated_message: '0' })).toEqual([true, {}]);
    expect((await form(hub.url, '/rest/get_user_info', { user_name: 'ann' }))[1].options).toMatchObject({ reflective: false, moderated_message: false });
    expect(await form(hub.url, '/rest/set_user_options', { user_name: 'ann', volume: '11' })).toEqual([false, { msg: 'unknown user option volume' }]);
    expect(await form(hub.url, '/rest/get_user_info', { user_name: 'nobody' })).toEqual([false, { msg: 'no such user: nobody' }]);
    const [sok, server] = await form(hub.url, '/rest/get_server_info', {});
    expect(sok).toBe(true);
    // Hookbox's shape: channel names and connection ids.
    expect(server).toEqual({ channels: ['room'], connections: info.connections, version: expect.any(String), users: ['ann'] });
    c.close();
  });
});
