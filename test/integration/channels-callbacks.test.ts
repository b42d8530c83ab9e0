// Every application callback over real WebSockets and a real local application.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

async function setup(decide?: (call: Call) => unknown, extra: Record<string, unknown> = {}) {
  const app = await ChannelsApp.start(decide);
  const hub = await startHub({ cbUrl: `${app.url}/hb`, cbSecret: 's3cret', cbTimeout: 2000, ...extra });
  return { app, hub };
}

const allow = (call: Call): unknown => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]);

describe('application callbacks', () => {
  it('connect: POSTs action, secret, conn_id, payload and the Cookie header to <cb-url>/connect; the answer names the user', async () => {
    const { app, hub } = await setup(allow);
    const c = await HookboxClient.connect(hub.url, { cookie: 'session=abc; theme=dark', payload: { name: 'alice' } });
    expect(c.all('CONNECTED')[0]?.[2]).toEqual({ name: 'alice', payload: { name: 'alice' } });
    const call = app.of('connect')[0]!;
    expect(call.path).toBe('/hb/connect');
    expect(call.fields).toMatchObject({ action: 'connect', secret: 's3cret', payload: '{"name":"alice"}' });
    expect(call.fields.conn_id).toMatch(/^[0-9a-f]{32}$/);
    expect(call.headers.cookie).toBe('session=abc; theme=dark');
    expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('connect: cookie_string is accepted, and the upgrade request Cookie header is used when CONNECT has none', async () => {
    const { app, hub } = await setup(allow);
    await HookboxClient.connect(hub.url, { cookie_string: 'a=1', payload: { name: 'x' } });
    await HookboxClient.connect(hub.url, { payload: { name: 'y' } }, { cookie: 'sid=from-upgrade' });
    expect(app.of('connect').map((c) => c.headers.cookie)).toEqual(['a=1', 'sid=from-upgrade']);
  });

  it('connect refused: ERROR with the app msg; the connection stays usable and may CONNECT again', async () => {
    let refuse = true;
    const { hub } = await setup((call) => (call.action === 'connect' ? (refuse ? [false, { msg: 'please log in' }] : [true, { name: 'bob' }]) : [true, {}]));
    const c = await HookboxClient.open(hub.url);
    const id = c.send('CONNECT', { cookie: '' });
    expect((await c.error(id))[2]).toMatchObject({ id, msg: 'please log in' });
    const sub = c.send('SUBSCRIBE', { channel_name: 'x' });
    expect((await c.error(sub))[2].msg).toBe('not connected');
    refuse = false;
    c.send('CONNECT', { cookie: '' });
    expect((await c.frame('CONNECTED'))[2]).toEqual({ name: 'bob', payload: null });
  });

  it('connect answered without a name is an ERROR', async () => {
    const { hub } = await setup(() => [true, {}]);
    const c = await HookboxClient.open(hub.url);
    const id = c.send('CONNECT', {});
    expect((await c.error(id))[2].msg).toMatch(/no name/);
  });

  it('connect auto_subscribe subscribes the user without asking again', async () => {
    const { app, hub } = await setup((call) => (call.action === 'connect' ? [true, { name: 'al', auto_subscribe: ['news', 'sport'] }] : [true, {}]));
    const c = await HookboxClient.connect(hub.url, {});
    await c.frame('SUBSCRIBE', (a) => a.channel_name === 'news');
    await c.frame('SUBSCRIBE', (a) => a.channel_name === 'sport');
    expect(app.of('subscribe')).toHaveLength(0);
    expect(app.of('create_channel').map((x) => x.fields.channel_name).sort()).toEqual(['news', 'sport']);
  });

  it('create_channel: the answer gives the channel options; subscribe carries channel_name and user', async () => {
    const { app, hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: 'al' }];
      if (call.action === 'create_channel') return [true, { history_size: 5, presenceful: true }];
      return [true, {}];
    });
    const c = await HookboxClient.connect(hub.url, {});
    c.send('SUBSCRIBE', { channel_name: 'room' });
    const sub = await c.frame('SUBSCRIBE');
    expect(sub[2]).toMatchObject({ channel_name: 'room', user: 'al', history_size: 5, presence: ['al'] });
    expect(app.of('create_channel')[0]!.fields).toMatchObject({ action: 'create_channel', channel_name: 'room', secret: 's3cret' });
    expect(app.of('subscribe')[0]!.fields).toMatchObject({ action: 'subscribe', channel_name: 'room', user: 'al' });
  });

  it('create_channel and subscribe refusals are ERRORs with the app msg', async () => {
    const { hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: 'al' }];
      if (call.action === 'create_channel') return call.fields.channel_name === 'nope' ? [false, { msg: 'no such room' }] : [true, {}];
      if (call.action === 'subscribe') return [false, { msg: 'members only' }];
      return [true, {}];
    });
    const c = await HookboxClient.connect(hub.url, {});
    expect((await c.error(c.send('SUBSCRIBE', { channel_name: 'nope' })))[2].msg).toBe('no such room');
    expect((await c.error(c.send('SUBSCRIBE', { channel_name: 'club' })))[2].msg).toBe('members only');
    expect(c.all('SUBSCRIBE')).toHaveLength(0);
    await until(() => !hub.channels.node.channels.has('club'), 'empty channel destroyed');
  });

  it('publish: fields channel_name, user, payload (JSON text); override_payload rewrites it', async () => {
    const { app, hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'publish') return [true, { override_payload: { text: 'censored', was: JSON.parse(call.fields.payload!) } }];
      return [true, {}];
    });
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'a' } });
    const b = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    for (const c of [a, b]) {
      c.send('SUBSCRIBE', { channel_name: 'room' });
      await c.frame('SUBSCRIBE');
    }
    a.send('PUBLISH', { channel_name: 'room', payload: { text: 'rude' } });
    const got = await b.frame('PUBLISH');
    expect(got[2]).toEqual({ channel_name: 'room', user: 'a', payload: { text: 'censored', was: { text: 'rude' } }, datetime: expect.any(String) });
    expect(app.of('publish')[0]!.fields).toMatchObject({ action: 'publish', channel_name: 'room', user: 'a', payload: '{"text":"rude"}' });
  });

  it('publish: a refusal is an ERROR and nobody receives it; only_to_sender keeps it to the sender', async () => {
    const { hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'publish') {
        const p = JSON.parse(call.fields.payload!) as string;
        if (p === 'bad') return [false, { msg: 'not allowed' }];
        if (p === 'private') return [true, { only_to_sender: true }];
      }
      return [true, {}];
    });
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'a' } });
    const b = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    for (const c of [a, b]) {
      c.send('SUBSCRIBE', { channel_name: 'room' });
      await c.frame('SUBSCRIBE');
    }
    expect((await a.error(a.send('PUBLISH', { channel_name: 'room', payload: 'bad' })))[2].msg).toBe('not allowed');
    a.send('PUBLISH', { channel_name: 'room', payload: 'private' });
    await a.frame('PUBLISH', (x) => x.payload === 'private');
    a.send('PUBLISH', { channel_name: 'room', payload: 'public' });
    await b.frame('PUBLISH', (x) => x.payload === 'public');
    expect(b.all('PUBLISH').map((f) => f[2].payload)).toEqual(['public']);
    expect(a.all('PUBLISH').map((f) => f[2].payload)).toEqual(['private', 'public']);
  });

  it('unsubscribe, destroy_channel and disconnect reach the application', async () => {
    const { app, hub } = await setup(allow);
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'zed' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE');
    c.send('UNSUBSCRIBE', { channel_name: 'room' });
    expect((await c.frame('UNSUBSCRIBE'))[2]).toEqual({ channel_name: 'room', user: 'zed', datetime: expect.any(String) });
    await until(() => app.of('destroy_channel').length === 1, 'destroy_channel');
    expect(app.of('unsubscribe')[0]!.fields).toMatchObject({ action: 'unsubscribe', channel_name: 'room', user: 'zed' });
    expect(app.of('destroy_channel')[0]!.fields).toMatchObject({ action: 'destroy_channel', channel_name: 'room', secret: 's3cret' });
    c.close();
    await until(() => app.of('disconnect').length === 1, 'disconnect callback');
    expect(app.of('disconnect')[0]!.fields).toMatchObject({ action: 'disconnect', name: 'zed' });
  });

  it('destroy_channel refused keeps the empty channel (with its history)', async () => {
    const { app, hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: 'q' }];
      if (call.action === 'create_channel') return [true, { history_size: 5 }];
      if (call.action === 'destroy_channel') return [false, { msg: 'keep it' }];
      return [true, {}];
    });
    const c = await HookboxClient.connect(hub.url, {});
    c.send('SUBSCRIBE', { channel_name: 'kept' });
    await c.frame('SUBSCRIBE');
    c.send('PUBLISH', { channel_name: 'kept', payload: 'remember me' });
    await c.frame('PUBLISH');
    c.send('UNSUBSCRIBE', { channel_name: 'kept' });
    await c.frame('UNSUBSCRIBE');
    await until(() => app.of('destroy_channel').length === 1, 'destroy_channel asked');
    const ch = hub.channels.node.channels.get('kept');
    expect(ch?.currentHistory().map((e) => e[0])).toEqual(['SUBSCRIBE', 'PUBLISH', 'UNSUBSCRIBE']);
    c.send('SUBSCRIBE', { channel_name: 'kept' });
    const again = await c.frame('SUBSCRIBE', () => true, 2);
    expect(again[2].history.map((e: [string, { payload?: unknown }]) => e[1].payload ?? e[0])).toEqual(['SUBSCRIBE', 'remember me', 'UNSUBSCRIBE']);
  });

  it('unsubscribe refused is an ERROR and the user stays', async () => {
    const { hub } = await setup((call) => (call.action === 'connect' ? [true, { name: 'q' }] : call.action === 'unsubscribe' ? [false, { msg: 'stay' }] : [true, {}]));
    const c = await HookboxClient.connect(hub.url, {});
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE');
    expect((await c.error(c.send('UNSUBSCRIBE', { channel_name: 'room' })))[2].msg).toBe('stay');
    expect(hub.channels.node.channels.get('room')?.presence()).toEqual(['q']);
  });

  it('message: fields sender, recipient, payload; the answer may rewrite or refuse it', async () => {
    const { app, hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'message') {
        if (JSON.parse(call.fields.payload!) === 'spam') return [false, { msg: 'no spam' }];
        return [true, { override_payload: 'rewritten' }];
      }
      return [true, {}];
    });
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'a' } });
    const b = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    a.send('MESSAGE', { name: 'b', payload: 'hello' });
    expect((await b.frame('MESSAGE'))[2]).toEqual({ sender: 'a', recipient: 'b', payload: 'rewritten', datetime: expect.any(String) });
    expect(app.of('message')[0]!.fields).toMatchObject({ action: 'message', sender: 'a', recipient: 'b', payload: '"hello"' });
    expect((await a.error(a.send('MESSAGE', { name: 'b', payload: 'spam' })))[2].msg).toBe('no spam');
    expect((await a.error(a.send('MESSAGE', { name: 'nobody', payload: 1 })))[2].msg).toMatch(/no such user/);
  });

  it('Set-Cookie in a callback answer reaches the browser as a SET_COOKIE frame (Hookbox)', async () => {
    const { hub } = await setup((call) =>
      call.action === 'connect'
        ? { raw: JSON.stringify([true, { name: 'cookie-monster' }]), setCookie: ['session=new; Path=/', 'seen=1'] }
        : [true, {}]);
    const c = await HookboxClient.connect(hub.url, {});
    expect(c.frames.map((f) => f[1])).toEqual(['SET_COOKIE', 'SET_COOKIE', 'CONNECTED']);
    expect(c.all('SET_COOKIE').map((f) => f[2])).toEqual([{ cookie: 'session=new; Path=/' }, { cookie: 'seen=1' }]);
  });

  it('the connect answer may set user options; message gets recipient_exists and may redirect (override_recipient_name)', async () => {
    const { app, hub } = await setup((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call), reflective: false }];
      if (call.action === 'message') return [true, { override_recipient_name: 'desk' }];
      return [true, {}];
    });
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'a' } });
    const desk = await HookboxClient.connect(hub.url, { payload: { name: 'desk' } });
    expect(hub.channels.node.users.get('a')?.options.reflective).toBe(false);
    a.send('MESSAGE', { name: 'offline-person', payload: 'help' });
    expect((await desk.frame('MESSAGE'))[2]).toEqual({ sender: 'a', recipient: 'desk', payload: 'help', datetime: expect.any(String) });
    expect(app.of('message')[0]!.fields).toMatchObject({ recipient: 'offline-person', recipient_exists: 'False' });
    expect(a.all('MESSAGE')).toHaveLength(0);
  });

  it('disconnect carries the last connection\'s cookie', async () => {
    const { app, hub } = await setup(allow);
    const c = await HookboxClient.connect(hub.url, { cookie: 'sid=42', payload: { name: 'leaver' } });
    c.close();
    await until(() => app.of('disconnect').length === 1, 'disconnect');
    expect(app.of('disconnect')[0]!.headers.cookie).toBe('sid=42');
  });

  it('--cb-single-url: every action goes to one URL with action in the body', async () => {
    const app = await ChannelsApp.start(allow);
    const hub = await startHub({ cbSingleUrl: `${app.url}/hook.php` });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'z' } });
    c.send('SUBSCRIBE', { channel_name: 'r' });
    await c.frame('SUBSCRIBE');
    expect(app.calls.map((x) => [x.path, x.fields.action])).toEqual([
      ['/hook.php', 'connect'],
      ['/hook.php', 'create_channel'],
      ['/hook.php', 'subscribe'],
    ]);
    expect(app.calls[0]!.fields.secret).toBeUndefined();
  });
});

describe('application callbacks that fail', () => {
  it('an unreachable application fails at once with a clear ERROR', async () => {
    const gone = await Receiver.start();
    const url = gone.url;
    await gone.close();
    const hub = await startHub({ cbUrl: url, cbTimeout: 5000 });
    const c = await HookboxClient.open(hub.url);
    const started = Date.now();
    const err = await c.error(c.send('CONNECT', {}));
    expect(err[2].msg).toMatch(/application callback connect failed/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a slow application: ERROR once --cb-timeout passes; the connection stays usable', async () => {
    const { hub } = await setup(() => ({ delayMs: 3000, raw: '[true, {"name": "late"}]' }), { cbTimeout: 300 });
    const c = await HookboxClient.open(hub.url);
    const started = Date.now();
    const err = await c.error(c.send('CONNECT', {}));
    expect(err[2].msg).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await c.error(c.send('PUBLISH', { channel_name: 'x', payload: 1 })))[2].msg).toBe('not connected');
  });

  it('a client piling up frames behind a slow callback is closed (1008), not buffered without bound', async () => {
    const { hub } = await setup(() => ({ delayMs: 1500, raw: '[true, {"name": "late"}]' }), { cbTimeout: 3000 });
    const c = await HookboxClient.open(hub.url);
    c.send('CONNECT', {});
    for (let i = 0; i < 1001; i++) c.send('SUBSCRIBE', { channel_name: `c${i}` });
    const closed = await c.closed();
    expect(closed).toEqual({ code: 1008, reason: 'more than 1000 frames waiting' });
  });

  it('garbage answers (not JSON, wrong shape, HTTP 500) are ERRORs naming the problem', async () => {
    const answers = [{ raw: 'this is not json' }, { raw: '{"ok": true}' }, { raw: '[true, 5]' }, { raw: '[true, {}]', status: 500 }];
    let i = 0;
    const { hub } = await setup(() => answers[i++]);
    const c = await HookboxClient.open(hub.url);
    const msgs: string[] = [];
    for (let n = 0; n < answers.length; n++) msgs.push((await c.error(c.send('CONNECT', {})))[2].msg as string);
    expect(msgs[0]).toMatch(/malformed JSON/);
    expect(msgs[1]).toMatch(/invalid reply/);
    expect(msgs[2]).toMatch(/invalid reply/);
    expect(msgs[3]).toMatch(/HTTP 500/);
  });
});
