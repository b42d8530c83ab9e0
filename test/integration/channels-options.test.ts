// Every channel and user option, observed over real WebSockets (and the application's callbacks).
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { restAuth, restful } from '../helpers/rest-key.js';

type Answer = [boolean, Record<string, any>];

const rest = async (base: string, method: string, body: Record<string, unknown>): Promise<Answer> => {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify(body) });
  return (await res.json()) as Answer;
};

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && 'history' in a);
  return c;
}

/** An app that names users from CONNECT's payload and gives channels the options in `options`. */
async function appWith(options: Record<string, unknown>, extra?: (call: Call) => unknown) {
  return ChannelsApp.start((call) => {
    const special = extra?.(call);
    if (special !== undefined) return special;
    if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
    if (call.action === 'create_channel') return [true, options];
    return [true, {}];
  });
}

describe('channel options', () => {
  it('reflective false: the publishing connection does not get its own message', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'r', reflective: false });
    const a = await joined(hub.url, 'a', 'r');
    const b = await joined(hub.url, 'b', 'r');
    a.send('PUBLISH', { channel_name: 'r', payload: 'from a' });
    b.send('PUBLISH', { channel_name: 'r', payload: 'from b' });
    await b.frame('PUBLISH', (x) => x.payload === 'from a');
    await a.frame('PUBLISH', (x) => x.payload === 'from b');
    expect(a.all('PUBLISH').map((f) => f[2].payload)).toEqual(['from b']);
    expect(b.all('PUBLISH').map((f) => f[2].payload)).toEqual(['from a']);
  });

  it('anonymous: PUBLISH and history carry user null', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'anon', anonymous: true, history_size: 5 });
    const a = await joined(hub.url, 'a', 'anon');
    a.send('PUBLISH', { channel_name: 'anon', payload: 'who?' });
    expect((await a.frame('PUBLISH'))[2]).toEqual({ channel_name: 'anon', user: null, payload: 'who?', datetime: expect.any(String) });
    const [, info] = await rest(hub.url, 'get_channel_info', { channel_name: 'anon' });
    expect(info.history.find((e: [string]) => e[0] === 'PUBLISH')[1]).toMatchObject({ user: null, payload: 'who?' });
  });

  it('presenceful: the subscriber sees who is there; others see joins and leaves', async () => {
    const app = await appWith({ presenceful: true });
    const hub = await startHub({ cbUrl: app.url });
    const a = await joined(hub.url, 'a', 'p');
    expect(a.all('SUBSCRIBE')[0]![2].presence).toEqual(['a']);
    const b = await joined(hub.url, 'b', 'p');
    expect(b.all('SUBSCRIBE')[0]![2].presence).toEqual(['a', 'b']);
    expect((await a.frame('SUBSCRIBE', (x) => x.user === 'b'))[2]).toEqual({ channel_name: 'p', user: 'b', datetime: expect.any(String) });
    b.close();
    expect((await a.frame('UNSUBSCRIBE'))[2]).toEqual({ channel_name: 'p', user: 'b', datetime: expect.any(String) });
  });

  it('moderated false: no subscribe, publish or unsubscribe callbacks', async () => {
    const app = await appWith({ moderated: false });
    const hub = await startHub({ cbUrl: app.url });
    const a = await joined(hub.url, 'a', 'm');
    a.send('PUBLISH', { channel_name: 'm', payload: 1 });
    await a.frame('PUBLISH');
    a.send('UNSUBSCRIBE', { channel_name: 'm' });
    await a.frame('UNSUBSCRIBE');
    await until(() => app.of('destroy_channel').length === 1, 'destroy_channel');
    expect(app.calls.map((c) => c.action)).toEqual(['connect', 'create_channel', 'destroy_channel']);
  });

  // moderated ORed with each moderated_* on every action path: channels-moderated.test.ts.

  it('server_presenceful: the state holds whether each server_user_presence user is connected (Hookbox); no callbacks for it', async () => {
    const app = await appWith({ moderated: false, server_presenceful: true, server_user_presence: ['a', 'b'] });
    const hub = await startHub({ cbUrl: app.url });
    const a = await joined(hub.url, 'a', 'sp');
    expect(a.all('SUBSCRIBE')[0]![2].state).toEqual({ a: true, b: false });
    const b = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    expect((await a.frame('STATE_UPDATE'))[2]).toEqual({ channel_name: 'sp', updates: { b: true }, deletes: [] });
    b.close();
    expect((await a.frame('STATE_UPDATE', (x) => x.updates.b === false))[2]).toEqual({ channel_name: 'sp', updates: { b: false }, deletes: [] });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'c' } });
    c.close();
    await until(() => app.of('disconnect').length === 2, 'both disconnects');
    expect(a.all('STATE_UPDATE')).toHaveLength(2);
    expect(app.of('subscribe')).toHaveLength(0);
    expect(app.of('unsubscribe')).toHaveLength(0);
  });

  it('history set by option appears in SUBSCRIBE; history_duration drops old entries', async () => {
    const hub = await startHub(restful);
    const old = new Date(Date.now() - 60_000).toISOString();
    await rest(hub.url, 'create_channel', {
      channel_name: 'h',
      history_size: 10,
      history: [['PUBLISH', { user: 'ghost', payload: 'earlier', datetime: old }]],
    });
    const a = await joined(hub.url, 'a', 'h');
    expect(a.all('SUBSCRIBE')[0]![2].history).toEqual([['PUBLISH', { user: 'ghost', payload: 'earlier', datetime: old }]]);
    expect(await rest(hub.url, 'set_channel_options', { channel_name: 'h', history_duration: 30 })).toEqual([true, {}]);
    const [, info] = await rest(hub.url, 'get_channel_info', { channel_name: 'h' });
    expect(info.history.map((e: [string, { user: string }]) => [e[0], e[1].user])).toEqual([['SUBSCRIBE', 'a']]);
  });

  it('history_publish_only keeps joins and leaves out of history', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'po', history_size: 5, history_publish_only: true, persistent: true });
    const a = await joined(hub.url, 'a', 'po');
    a.send('PUBLISH', { channel_name: 'po', payload: 'kept' });
    await a.frame('PUBLISH');
    a.close();
    await until(() => !hub.channels.node.users.has('a'), 'a gone');
    const [, info] = await rest(hub.url, 'get_channel_info', { channel_name: 'po' });
    expect(info.history.map((e: [string, { payload?: unknown }]) => [e[0], e[1].payload])).toEqual([['PUBLISH', 'kept']]);
  });

  it('a channel is destroyed when its last user leaves unless persistent', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'keep', persistent: true });
    const a = await joined(hub.url, 'a', 'keep');
    const b = await joined(hub.url, 'b', 'temp');
    a.close();
    b.close();
    await until(() => !hub.channels.node.channels.has('temp'), 'temp destroyed');
    expect(hub.channels.node.channels.has('keep')).toBe(true);
  });

  it('persistent channels keep options and state across restarts (sqlite on disk)', async () => {
    const dir = tempDir();
    const first = await startHub({ ...restful, store: 'sqlite', dataDir: dir });
    await rest(first.url, 'create_channel', { channel_name: 'lasting', persistent: true, history_size: 4, presenceful: true });
    await rest(first.url, 'state_set_key', { channel_name: 'lasting', key: 'k', val: [1, 2] });
    await rest(first.url, 'create_channel', { channel_name: 'fleeting', history_size: 4 });
    await stopHub(first);
    const second = await startHub({ ...restful, store: 'sqlite', dataDir: dir });
    const [ok, info] = await rest(second.url, 'get_channel_info', { channel_name: 'lasting' });
    expect(ok).toBe(true);
    expect(info.options).toMatchObject({ persistent: true, history_size: 4, presenceful: true });
    expect(info.state).toEqual({ k: [1, 2] });
    expect((await rest(second.url, 'get_channel_info', { channel_name: 'fleeting' }))[0]).toBe(false);
    expect(await rest(second.url, 'set_channel_options', { channel_name: 'lasting', persistent: false })).toEqual([true, {}]);
    expect(second.channels.node.channels.has('lasting')).toBe(false);
  });

  it('polling simple: the hub fetches the URL every interval and publishes the answer as originator', async () => {
    let n = 0;
    const source = await Receiver.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ tick: ++n }));
    });
    const hub = await startHub(restful);
    const a = await joined(hub.url, 'a', 'ticker');
    // Hookbox's default mode "" is off: a URL alone does not poll.
    expect(await rest(hub.url, 'set_channel_options', { channel_name: 'ticker', polling: { url: `${source.url}/feed`, interval: 0.1 } })).toEqual([true, {}]);
    expect(hub.channels.node.channels.get('ticker')?.options.polling.mode).toBe('');
    expect(await rest(hub.url, 'set_channel_options', { channel_name: 'ticker', polling: { mode: 'simple', originator: 'robot' } })).toEqual([true, {}]);
    await a.frame('PUBLISH', () => true, 3);
    expect(a.all('PUBLISH').slice(0, 3).map((f) => f[2])).toEqual([1, 2, 3].map((tick) => ({ channel_name: 'ticker', user: 'robot', payload: { tick }, datetime: expect.any(String) })));
    expect(source.received[0]!.url).toBe('/feed');
    expect(source.received.every((r) => r.method === 'GET')).toBe(true);
    await rest(hub.url, 'set_channel_options', { channel_name: 'ticker', polling: { mode: '' } });
    const settled = source.received.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(source.received.length).toBeLessThanOrEqual(settled + 1);
  });

  it('polling once fetches a single time; persistent polls again after each answer; both POST the form and --cb-secret (Hookbox)', async () => {
    const source = await Receiver.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url.startsWith('/once') ? 'only once' : 'again');
    });
    const hub = await startHub({ ...restful, cbSecret: 'cb-s3cret' });
    const a = await joined(hub.url, 'a', 'once');
    await rest(hub.url, 'set_channel_options', { channel_name: 'once', polling: { url: `${source.url}/once`, interval: 0.05, mode: 'once' } });
    expect((await a.frame('PUBLISH'))[2]).toEqual({ channel_name: 'once', user: null, payload: 'only once', datetime: expect.any(String) });
    const b = await joined(hub.url, 'b', 'long');
    await rest(hub.url, 'set_channel_options', { channel_name: 'long', polling: { url: `${source.url}/long`, interval: 60, mode: 'persistent', form: { since: 1 } } });
    await b.frame('PUBLISH', () => true, 3);
    expect(source.received.filter((r) => r.url === '/once')).toHaveLength(1);
    const long = source.received.filter((r) => r.url === '/long');
    expect(long[0]!.method).toBe('POST');
    expect(long[0]!.body.toString()).toBe('since=1&secret=cb-s3cret');
    const once = source.received.find((r) => r.url === '/once')!;
    expect([once.method, once.body.toString()]).toEqual(['POST', 'secret=cb-s3cret']);
  });

  it('polling answers shaped like callback replies publish their payload and set options (Hookbox)', async () => {
    const source = await Receiver.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([true, { payload: { price: 42 }, history_size: 3 }]));
    });
    const hub = await startHub(restful);
    const a = await joined(hub.url, 'a', 'quotes');
    await rest(hub.url, 'set_channel_options', { channel_name: 'quotes', polling: { url: source.url, interval: 60, mode: 'once' } });
    expect((await a.frame('PUBLISH'))[2]).toEqual({ channel_name: 'quotes', user: null, payload: { price: 42 }, datetime: expect.any(String) });
    expect(hub.channels.node.channels.get('quotes')?.options.history_size).toBe(3);
    expect(source.received[0]!.method).toBe('POST');
  });

  it('polling URLs obey the SSRF guard', async () => {
    const hub = await startHub({ ...restful, allowPrivateTargets: false });
    await rest(hub.url, 'create_channel', { channel_name: 'x' });
    const [ok, answer] = await rest(hub.url, 'set_channel_options', { channel_name: 'x', polling: { url: 'http://127.0.0.1:9/feed' } });
    expect(ok).toBe(false);
    expect(answer.msg).toMatch(/private or loopback/);
    expect((await rest(hub.url, 'set_channel_options', { channel_name: 'x', polling: { url: 'file:///etc/passwd' } }))[1].msg).toMatch(/http or https/);
  });
});

describe('user options', () => {
  it('moderated_message false: private messages skip the message callback', async () => {
    const app = await appWith({});
    const hub = await startHub({ ...restful, cbUrl: app.url });
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'a' } });
    const b = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    a.send('MESSAGE', { name: 'b', payload: 1 });
    await b.frame('MESSAGE');
    expect(app.of('message')).toHaveLength(1);
    await rest(hub.url, 'set_user_options', { user_name: 'a', moderated_message: false });
    a.send('MESSAGE', { name: 'b', payload: 2 });
    await b.frame('MESSAGE', () => true, 2);
    expect(app.of('message')).toHaveLength(1);
  });

  it('per_connection_subscriptions: each connection subscribes for itself', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'pc', presenceful: true });
    const watcher = await joined(hub.url, 'w', 'pc');
    const c1 = await HookboxClient.connect(hub.url, { payload: { name: 'u' } });
    await rest(hub.url, 'set_user_options', { user_name: 'u', per_connection_subscriptions: true });
    const c2 = await HookboxClient.connect(hub.url, { payload: { name: 'u' } });
    c1.send('SUBSCRIBE', { channel_name: 'pc' });
    await c1.frame('SUBSCRIBE');
    watcher.send('PUBLISH', { channel_name: 'pc', payload: 'only c1' });
    await c1.frame('PUBLISH');
    // A connection may publish where it is not subscribed (as in Hookbox); it does not hear it itself.
    c2.send('PUBLISH', { channel_name: 'pc', payload: 'c2 is not in' });
    await c1.frame('PUBLISH', (x) => x.payload === 'c2 is not in');
    expect(c2.all('SUBSCRIBE')).toHaveLength(0);
    expect(c2.all('PUBLISH')).toHaveLength(0);
    c2.send('SUBSCRIBE', { channel_name: 'pc' });
    await c2.frame('SUBSCRIBE');
    expect(watcher.all('SUBSCRIBE', (x) => x.user === 'u')).toHaveLength(1);
    watcher.send('PUBLISH', { channel_name: 'pc', payload: 'both' });
    await Promise.all([c1.frame('PUBLISH', (x) => x.payload === 'both'), c2.frame('PUBLISH', (x) => x.payload === 'both')]);
    c1.send('UNSUBSCRIBE', { channel_name: 'pc' });
    await c1.frame('UNSUBSCRIBE');
    watcher.send('PUBLISH', { channel_name: 'pc', payload: 'only c2 now' });
    await c2.frame('PUBLISH', (x) => x.payload === 'only c2 now');
    await watcher.frame('PUBLISH', (x) => x.payload === 'only c2 now');
    expect(c1.all('PUBLISH', (x) => x.payload === 'only c2 now')).toHaveLength(0);
    expect(watcher.all('UNSUBSCRIBE')).toHaveLength(0);
    c2.close();
    await watcher.frame('UNSUBSCRIBE', (x) => x.user === 'u');
  });
});
