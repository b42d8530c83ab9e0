// Hookbox 0.3.4's contract with the web application, written down from its source (server.py http_request,
// channel.py, user.py, api/internal.py, api/web.py) and checked against Hookhub over real sockets:
// the form fields and headers of every callback, what each callback answer is honoured for, and the
// shape of the REST answers. Hookhub may send more (listed in HOOKHUB_ADDS), never less or otherwise.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { REST_KEY } from '../helpers/rest-key.js';

type Headers = 'cookie' | 'x-real-ip';

/**
 * What Hookbox sends for each callback: its form fields (`action` and `secret` on every one) and whether
 * the call carries the browser's Cookie and X-Real-IP headers (Hookbox sets X-Real-IP only for calls
 * made for a connection; create_channel gets the cookie but no connection; destroy_channel neither).
 */
const HOOKBOX_SENDS: Record<string, { fields: string[]; headers: Headers[] }> = {
  connect: { fields: ['conn_id', 'payload'], headers: ['cookie', 'x-real-ip'] },
  create_channel: { fields: ['channel_name'], headers: ['cookie'] },
  subscribe: { fields: ['channel_name', 'user'], headers: ['cookie', 'x-real-ip'] },
  publish: { fields: ['channel_name', 'payload', 'originator'], headers: ['cookie', 'x-real-ip'] },
  message: { fields: ['sender', 'recipient', 'recipient_exists', 'payload'], headers: ['cookie', 'x-real-ip'] },
  unsubscribe: { fields: ['channel_name', 'user'], headers: ['cookie', 'x-real-ip'] },
  // Made when the user's last connection closed: the cookie is that connection's (Hookbox's _temp_cookie).
  'unsubscribe at disconnect': { fields: ['channel_name', 'user'], headers: ['cookie'] },
  disconnect: { fields: ['name'], headers: ['cookie'] },
  destroy_channel: { fields: ['channel_name'], headers: [] },
};

/** Fields Hookhub sends besides Hookbox's (docs/channels.md, Application callbacks). */
const HOOKHUB_ADDS: Record<string, string[]> = { connect: ['origin'], publish: ['user'] };

describe("Hookbox's callback contract", () => {
  it('every action: Hookbox\'s fields with Hookbox\'s values, its headers, nothing else but the documented additions', async () => {
    const app = await ChannelsApp.start((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'unsubscribe' && call.fields.channel_name === 'kept') return [false, { msg: 'stays' }];
      return [true, {}];
    });
    const hub = await startHub({ cbUrl: app.url, cbSecret: 'cb-secret' });
    const ann = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } }, { cookie: 'sid=ann-1' });
    const bob = await HookboxClient.connect(hub.url, { payload: { name: 'bob' } }, { cookie: 'sid=bob-1' });
    ann.send('SUBSCRIBE', { channel_name: 'room' });
    await ann.frame('SUBSCRIBE');
    ann.send('PUBLISH', { channel_name: 'room', payload: { text: 'hi' } });
    await ann.frame('PUBLISH');
    ann.send('MESSAGE', { name: 'bob', payload: 'psst' });
    await bob.frame('MESSAGE');
    ann.send('MESSAGE', { name: 'nobody', payload: 'hello?' });
    await ann.frame('ERROR');
    ann.send('UNSUBSCRIBE', { channel_name: 'room' });
    await ann.frame('UNSUBSCRIBE');
    await until(() => app.of('destroy_channel').length === 1, 'destroy_channel');
    bob.send('SUBSCRIBE', { channel_name: 'lobby' });
    await bob.frame('SUBSCRIBE');
    bob.close();
    await until(() => app.of('disconnect').length === 1, 'disconnect');
    await until(() => app.of('destroy_channel').length === 2, 'destroy_channel of lobby');

    const fromAnn = (c: Call) => c.headers.cookie === 'sid=ann-1';
    const seen: Record<string, Call> = {
      connect: app.of('connect').find(fromAnn)!,
      create_channel: app.of('create_channel').find((c) => c.fields.channel_name === 'room')!,
      subscribe: app.of('subscribe').find(fromAnn)!,
      publish: app.of('publish')[0]!,
      message: app.of('message')[0]!,
      unsubscribe: app.of('unsubscribe').find(fromAnn)!,
      'unsubscribe at disconnect': app.of('unsubscribe').find((c) => c.fields.user === 'bob')!,
      disconnect: app.of('disconnect')[0]!,
      destroy_channel: app.of('destroy_channel')[0]!,
    };
    for (const [what, hookbox] of Object.entries(HOOKBOX_SENDS)) {
      const call = seen[what]!;
      expect(call, what).toBeDefined();
      const action = what.split(' ')[0]!;
      const hookboxFields = ['action', 'secret', ...hookbox.fields];
      for (const field of hookboxFields) expect(call.fields, `${what}: ${field}`).toHaveProperty(field);
      const allowed = new Set([...hookboxFields, ...(HOOKHUB_ADDS[action] ?? [])]);
      expect(Object.keys(call.fields).filter((k) => !allowed.has(k)), what).toEqual([]);
      expect([call.fields.action, call.fields.secret], what).toEqual([action, 'cb-secret']);
      expect('cookie' in call.headers, `${what}: Cookie`).toBe(hookbox.headers.includes('cookie'));
      expect('x-real-ip' in call.headers, `${what}: X-Real-IP`).toBe(hookbox.headers.includes('x-real-ip'));
      if (hookbox.headers.includes('x-real-ip')) expect(call.headers['x-real-ip'], what).toBe('127.0.0.1');
    }
    // The values Hookbox sends.
    expect(seen.connect!.fields).toMatchObject({ conn_id: expect.stringMatching(/^[0-9a-f]{32}$/), payload: '{"name":"ann"}' });
    expect(seen.publish!.fields).toMatchObject({ channel_name: 'room', originator: 'ann', user: 'ann', payload: '{"text":"hi"}' });
    // Python's str() of a boolean, as Hookbox's urlencode wrote it.
    expect(app.of('message').map((c) => [c.fields.recipient, c.fields.recipient_exists])).toEqual([['bob', 'True'], ['nobody', 'False']]);
    expect(seen['unsubscribe at disconnect']!.headers.cookie).toBe('sid=bob-1');
    expect(seen.disconnect!.fields.name).toBe('bob');
  });

  it('publish on an anonymous channel: no originator (Hookbox left it out), our user field stays', async () => {
    const app = await ChannelsApp.start((call) =>
      call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : call.action === 'create_channel' ? [true, { anonymous: true }] : [true, {}],
    );
    const hub = await startHub({ cbUrl: app.url });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'anon' });
    c.send('PUBLISH', { channel_name: 'anon', payload: 1 });
    await c.frame('PUBLISH');
    expect(app.of('publish')[0]!.fields).not.toHaveProperty('originator');
    expect(app.of('publish')[0]!.fields.user).toBe('ann');
  });

  it('X-Real-IP: the peer address; with --trust-proxy the last X-Forwarded-For entry (the one the proxy added)', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const direct = await startHub({ cbUrl: app.url });
    await HookboxClient.connect(direct.url, { payload: { name: 'a' } }, { 'x-forwarded-for': '6.6.6.6' });
    expect(app.of('connect')[0]!.headers['x-real-ip']).toBe('127.0.0.1');
    const proxied = await startHub({ cbUrl: app.url, trustProxy: true });
    await HookboxClient.connect(proxied.url, { payload: { name: 'b' } }, { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' });
    expect(app.of('connect')[1]!.headers['x-real-ip']).toBe('203.0.113.7');
  });
});

describe('what Hookbox honours in callback answers', () => {
  it('connect: name, override_payload, user options (global_unsubscriptions), auto_subscribe', async () => {
    const app = await ChannelsApp.start((call) =>
      call.action === 'connect'
        ? [true, { name: 'ann', override_payload: { hello: 'ann' }, global_unsubscriptions: true, ...(call.fields.payload === '"x"' ? { auto_subscribe: ['news'] } : {}) }]
        : [true, {}],
    );
    const hub = await startHub({ cbUrl: app.url });
    const first = await HookboxClient.connect(hub.url, { payload: 'x' });
    expect(first.all('CONNECTED')[0]![2]).toEqual({ name: 'ann', payload: { hello: 'ann' } });
    await first.frame('SUBSCRIBE', (a) => a.channel_name === 'news');
    const second = await HookboxClient.connect(hub.url, { payload: 'y' });
    await second.frame('SUBSCRIBE', (a) => a.channel_name === 'news');
    second.send('SUBSCRIBE', { channel_name: 'room' });
    await first.frame('SUBSCRIBE', (a) => a.channel_name === 'room');
    // global_unsubscriptions: the connection that subscribed closes, the user leaves those channels on every connection.
    second.close();
    expect((await first.frame('UNSUBSCRIBE', (a) => a.channel_name === 'room'))[2]).toMatchObject({ channel_name: 'room', user: 'ann' });
    expect(first.all('UNSUBSCRIBE', (a) => a.channel_name === 'news')).toHaveLength(0);
    expect(hub.channels.node.users.get('ann')?.channels.size).toBe(1);
  });

  it('without global_unsubscriptions a closing connection leaves its channels to the user\'s other connections', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: 'ann' }] : [true, {}]));
    const hub = await startHub({ cbUrl: app.url });
    const first = await HookboxClient.connect(hub.url, {});
    const second = await HookboxClient.connect(hub.url, {});
    second.send('SUBSCRIBE', { channel_name: 'room' });
    await first.frame('SUBSCRIBE');
    second.close();
    await until(() => hub.channels.node.users.get('ann')?.conns.size === 1, 'second closed');
    expect(hub.channels.node.users.get('ann')?.channels.size).toBe(1);
    expect(first.all('UNSUBSCRIBE')).toHaveLength(0);
  });

  it('subscribe: initial_data goes into the subscriber\'s SUBSCRIBE frame (a falsy one is left out, as Hookbox did)', async () => {
    const app = await ChannelsApp.start((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'subscribe') return [true, { initial_data: call.fields.channel_name === 'a' ? { welcome: 1 } : 0 }];
      return [true, {}];
    });
    const hub = await startHub({ cbUrl: app.url });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'a' });
    expect((await c.frame('SUBSCRIBE', (x) => x.channel_name === 'a'))[2]).toMatchObject({ channel_name: 'a', initial_data: { welcome: 1 } });
    c.send('SUBSCRIBE', { channel_name: 'b' });
    expect((await c.frame('SUBSCRIBE', (x) => x.channel_name === 'b'))[2]).not.toHaveProperty('initial_data');
  });

  it('publish and message read override_payload only (a `payload` key in the answer changes nothing)', async () => {
    const app = await ChannelsApp.start((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'publish') return [true, { payload: 'not honoured' }];
      if (call.action === 'message') return [true, { override_payload: 'rewritten', payload: 'not honoured' }];
      return [true, {}];
    });
    const hub = await startHub({ cbUrl: app.url });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    c.send('PUBLISH', { channel_name: 'room', payload: 'original' });
    expect((await c.frame('PUBLISH'))[2].payload).toBe('original');
    c.send('MESSAGE', { name: 'ann', payload: 'original' });
    expect((await c.frame('MESSAGE'))[2].payload).toBe('rewritten');
  });

  for (const [why, answer] of [
    ['refused', () => [false, { msg: 'keep it' }]],
    ['failing (HTTP 500)', () => ({ raw: 'oops', status: 500 })],
    ['answering garbage', () => ({ raw: 'not json' })],
    ['timing out', () => ({ raw: '[true, {}]', delayMs: 1500 })],
  ] as const) {
    it(`destroy_channel ${why} keeps the channel (Hookbox)`, async () => {
      const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : call.action === 'destroy_channel' ? answer() : [true, {}]));
      const hub = await startHub({ cbUrl: app.url, cbTimeout: 300 });
      const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
      c.send('SUBSCRIBE', { channel_name: 'room' });
      await c.frame('SUBSCRIBE');
      c.send('UNSUBSCRIBE', { channel_name: 'room' });
      await c.frame('UNSUBSCRIBE');
      // The call's outcome is recorded before the hub acts on it (in a microtask): then the hub has decided.
      await until(() => hub.channels.callbacks.recent.some((r) => r.action === 'destroy_channel'), 'destroy_channel outcome');
      await new Promise((r) => setImmediate(r));
      expect(hub.channels.callbacks.recent.find((r) => r.action === 'destroy_channel')!.ok).toBe(false);
      expect(hub.channels.node.channels.has('room')).toBe(true);
    });
  }
});

const rest = async (base: string, method: string, fields: Record<string, string> = {}): Promise<[boolean, Record<string, any>]> => {
  const res = await fetch(`${base}/web/${method}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ security_token: REST_KEY, ...fields }).toString() });
  return (await res.json()) as [boolean, Record<string, any>];
};

/** The keys of Hookbox's channel options (channel.py _options), as get_channel_info lists them. */
const HOOKBOX_CHANNEL_OPTIONS = [
  'reflective', 'history', 'history_size', 'history_duration', 'history_publish_only', 'moderated', 'moderated_publish',
  'moderated_subscribe', 'moderated_unsubscribe', 'presenceful', 'server_presenceful', 'server_user_presence', 'anonymous', 'polling', 'state',
];

describe("Hookbox's REST answers", () => {
  it('get_server_info {channels: [names], connections: [ids]}; get_channel_info {name, options, subscribers}', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const hub = await startHub({ cbUrl: app.url, apiKey: REST_KEY });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE');
    const [ok, server] = await rest(hub.url, 'get_server_info');
    expect(ok).toBe(true);
    expect(server.channels).toEqual(['room']);
    expect(server.connections).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/)]);
    expect(server.connections[0]).toBe(app.of('connect')[0]!.fields.conn_id);
    const [, info] = await rest(hub.url, 'get_channel_info', { channel_name: 'room' });
    expect(info.name).toBe('room');
    expect(info.subscribers).toEqual(['ann']);
    for (const key of HOOKBOX_CHANNEL_OPTIONS) expect(info.options, key).toHaveProperty(key);
    expect(info.options).toMatchObject({ moderated: true, moderated_publish: false, moderated_subscribe: false, moderated_unsubscribe: false, polling: { mode: '' } });
  });

  it('publish to a channel that does not exist: Hookbox\'s error (nothing made), or nothing at all with -x', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const hub = await startHub({ cbUrl: app.url, apiKey: REST_KEY });
    expect(await rest(hub.url, 'publish', { channel_name: 'ghost', payload: '1' })).toEqual([false, { msg: "Channel ghost doesn't exist" }]);
    expect(hub.channels.node.channels.has('ghost')).toBe(false);
    expect(hub.topics.fanout.count('ghost')).toBe(0);
    const x = await startHub({ cbUrl: app.url, apiKey: REST_KEY, ignorePublishNonExistingChannels: true });
    expect(await rest(x.url, 'publish', { channel_name: 'ghost', payload: '1' })).toEqual([true, {}]);
    expect(x.channels.node.channels.has('ghost')).toBe(false);
    const [, history] = [0, await (await fetch(`${x.url}/api/topics/ghost/history`, { headers: { authorization: `Bearer ${REST_KEY}` } })).json()];
    expect(history).toMatchObject({ messages: [] });
    // Afterwards a browser's subscribe makes the channel as usual: the application's create_channel is asked.
    const c = await HookboxClient.connect(x.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'ghost' });
    await c.frame('SUBSCRIBE');
    expect(app.of('create_channel').map((call) => call.fields.channel_name)).toEqual(['ghost']);
  });

  it('REST subscribe to a channel that does not exist asks create_channel (send_hook or not), as Hookbox did', async () => {
    const app = await ChannelsApp.start((call) =>
      call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : call.action === 'create_channel' ? [true, { history_size: 7 }] : [true, {}],
    );
    const hub = await startHub({ cbUrl: app.url, apiKey: REST_KEY });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    expect(await rest(hub.url, 'subscribe', { channel_name: 'made', name: 'ann' })).toEqual([true, {}]);
    expect((await c.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'made', history_size: 7 });
    expect(app.of('create_channel')).toHaveLength(1);
    expect(app.of('subscribe')).toHaveLength(0);
    app.decide = (call) => (call.action === 'create_channel' ? [false, { msg: 'no such room' }] : [true, {}]);
    expect(await rest(hub.url, 'subscribe', { channel_name: 'refused', name: 'ann' })).toEqual([false, { msg: 'no such room' }]);
  });
});
