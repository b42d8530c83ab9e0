// The fields of Hookbox's frames over a raw WebSocket, and Hookbox's own client framing (RTJP):
// frames ended by \r\n, ASCII only, payloads as JSON text — for clients that frame that way only.
import { describe, expect, it } from 'vitest';
import { ChannelsApp } from '../helpers/channels-app.js';
import { restAuth, restful } from '../helpers/rest-key.js';
import { RtjpClient } from '../helpers/rtjp-client.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

const rest = async (base: string, method: string, body: Record<string, unknown>): Promise<unknown> => {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify(body) });
  return res.json();
};

/** Hookbox's datetime: local time to the second, no zone. */
const HOOKBOX_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;

/** What Hookbox's example pages do with a datetime before showing it (php_simple_chat's parseDateTime). */
const parsedAsPagesDo = (datetime: string): number => Date.parse(datetime.replace('T', ' ').replace(/-/g, '/'));

const recent = (datetime: string): boolean => Math.abs(parsedAsPagesDo(datetime) - Date.now()) < 60_000;

async function joined(base: string, name: string, channel: string, extra: Record<string, unknown> = {}): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name }, ...extra });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && a.user === name);
  return c;
}

describe("Hookbox's frame fields", () => {
  it('PUBLISH, presence and MESSAGE frames and history entries carry datetime as Hookbox wrote it; CONNECTED carries the payload', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'room', presenceful: true, history_size: 10 });
    const ann = await HookboxClient.connect(hub.url, { payload: { name: 'ann', extra: [1] } });
    expect(ann.all('CONNECTED')[0]![2]).toEqual({ name: 'ann', payload: { name: 'ann', extra: [1] } });
    ann.send('SUBSCRIBE', { channel_name: 'room' });
    await ann.frame('SUBSCRIBE', (a) => a.user === 'ann');
    const bob = await joined(hub.url, 'bob', 'room');

    const join = (await ann.frame('SUBSCRIBE', (a) => a.user === 'bob'))[2];
    expect(Object.keys(join).sort()).toEqual(['channel_name', 'datetime', 'user']);
    expect(join.datetime).toMatch(HOOKBOX_TIME);
    expect(recent(join.datetime)).toBe(true);

    bob.send('PUBLISH', { channel_name: 'room', payload: 'hello' });
    const pub = (await ann.frame('PUBLISH'))[2];
    // Exactly Hookbox's fields: Hookhub's offsets stay out unless the client asked for them.
    expect(Object.keys(pub).sort()).toEqual(['channel_name', 'datetime', 'payload', 'user']);
    expect(pub).toMatchObject({ channel_name: 'room', user: 'bob', payload: 'hello' });
    expect(pub.datetime).toMatch(HOOKBOX_TIME);
    expect(recent(pub.datetime)).toBe(true);

    bob.send('MESSAGE', { name: 'ann', payload: { text: 'psst' } });
    const msg = (await ann.frame('MESSAGE'))[2];
    expect(msg).toMatchObject({ sender: 'bob', recipient: 'ann', payload: { text: 'psst' } });
    expect(msg.datetime).toMatch(HOOKBOX_TIME);

    bob.send('UNSUBSCRIBE', { channel_name: 'room' });
    const leave = (await ann.frame('UNSUBSCRIBE', (a) => a.user === 'bob'))[2];
    expect(leave.datetime).toMatch(HOOKBOX_TIME);
    expect((await bob.frame('UNSUBSCRIBE'))[2].datetime).toMatch(HOOKBOX_TIME);

    // A later subscriber's history: every entry with the same datetime format, the publish among them.
    const carl = await joined(hub.url, 'carl', 'room');
    const history = carl.all('SUBSCRIBE', (a) => a.user === 'carl')[0]![2].history as Array<[string, Record<string, any>]>;
    expect(history.map(([kind, d]) => [kind, d.user])).toEqual([
      ['SUBSCRIBE', 'ann'],
      ['SUBSCRIBE', 'bob'],
      ['PUBLISH', 'bob'],
      ['UNSUBSCRIBE', 'bob'],
    ]);
    for (const [, d] of history) expect(d.datetime).toMatch(HOOKBOX_TIME);
    expect(history[2]![1].datetime).toBe(pub.datetime);
  });

  it('with offsets asked for (Hookhub client), PUBLISH also carries the offset; without, no connection sees it', async () => {
    const hub = await startHub();
    const plain = await joined(hub.url, 'plain', 'feed');
    const tracking = await joined(hub.url, 'tracking', 'feed', { offsets: true });
    plain.send('PUBLISH', { channel_name: 'feed', payload: 1 });
    expect((await tracking.frame('PUBLISH'))[2]).toMatchObject({ payload: 1, offset: 1, datetime: expect.stringMatching(HOOKBOX_TIME) });
    expect(Object.keys((await plain.frame('PUBLISH'))[2]).sort()).toEqual(['channel_name', 'datetime', 'payload', 'user']);
    expect(Object.keys(plain.all('SUBSCRIBE')[0]![2]).sort()).toEqual(['channel_name', 'history', 'history_size', 'presence', 'state', 'user']);
  });

  it("CONNECTED carries the application's override_payload instead, when it answers one", async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: 'ann', override_payload: { welcome: true } }] : [true, {}]));
    const hub = await startHub({ cbUrl: `${app.url}/hb`, cbSecret: 's' });
    const c = await HookboxClient.connect(hub.url, { payload: 'ignored' });
    expect(c.all('CONNECTED')[0]![2]).toEqual({ name: 'ann', payload: { welcome: true } });
  });

  it('publishing where one is not subscribed: the application creates the channel or refuses it', async () => {
    const app = await ChannelsApp.start((call) => {
      if (call.action === 'connect') return [true, { name: 'pat' }];
      if (call.action === 'create_channel') return call.fields.channel_name === 'open' ? [true, { history_size: 5 }] : [false, { msg: 'no such channel' }];
      return [true, {}];
    });
    const hub = await startHub({ cbUrl: `${app.url}/hb`, cbSecret: 's', apiKey: restful.apiKey });
    const c = await HookboxClient.connect(hub.url, {});
    const refused = c.send('PUBLISH', { channel_name: 'closed', payload: 1 });
    expect((await c.error(refused))[2].msg).toBe('no such channel');
    c.send('PUBLISH', { channel_name: 'open', payload: 'kept' });
    await until(async () => (await hub.topics.bounds('open')).last === 1, 'the publish committed');
    const info = (await rest(hub.url, 'get_channel_info', { channel_name: 'open' })) as [boolean, { history: Array<[string, Record<string, unknown>]> }];
    expect(info[1].history.map(([kind, d]) => [kind, d.user, d.payload])).toEqual([['PUBLISH', 'pat', 'kept']]);
    expect(c.all('PUBLISH')).toHaveLength(0);
  });
});

describe("Hookbox's own client framing (RTJP: \\r\\n-terminated lines, JSON-text payloads)", () => {
  it('a client that ends its frames with \\r\\n gets every frame ended by \\r\\n, in ASCII; others get frames as before', async () => {
    const hub = await startHub();
    const modern = await joined(hub.url, 'modern', 'café');
    const old = await RtjpClient.connect(hub.url, { name: 'olé' });
    // Hookbox echoes the payload as the client sent it: JSON text.
    expect(old.all('CONNECTED')[0]![2]).toEqual({ name: 'olé', payload: '{"name":"olé"}' });
    old.send('SUBSCRIBE', { channel_name: 'café' });
    await old.frame('SUBSCRIBE', (a) => a.user === 'olé');
    modern.send('PUBLISH', { channel_name: 'café', payload: { text: 'naïve — ☕' } });
    expect((await old.frame('PUBLISH'))[2]).toMatchObject({ channel_name: 'café', user: 'modern', payload: { text: 'naïve — ☕' } });

    expect(old.rejected).toEqual([]);
    expect(old.pending).toBe('');
    for (const m of old.messages) {
      expect(m.endsWith('\r\n')).toBe(true);
      expect(/[^\x00-\x7f]/.test(m)).toBe(false);
    }
    // The same frames, unterminated and unescaped, for Hookhub's client.
    await modern.frame('PUBLISH');
    for (const m of modern.raw) expect(m.endsWith(']')).toBe(true);
    expect(modern.raw.some((m) => m.includes('naïve — ☕'))).toBe(true);
  });

  it('payloads arrive as JSON text and are decoded as Hookbox did: strings stay strings, no double encoding', async () => {
    const app = await ChannelsApp.start();
    const hub = await startHub({ cbUrl: `${app.url}/hb`, cbSecret: 's' });
    const modern = await joined(hub.url, 'modern', 'chat');
    const old = await RtjpClient.connect(hub.url, { name: 'old' });
    expect(app.of('connect').at(-1)!.fields.payload).toBe('{"name":"old"}');
    old.send('SUBSCRIBE', { channel_name: 'chat' });
    await old.frame('SUBSCRIBE', (a) => a.user === 'old');

    old.publish('chat', 'hello');
    old.publish('chat', { text: 'an object' });
    old.publish('chat', 7);
    await modern.frame('PUBLISH', () => true, 3);
    expect(modern.all('PUBLISH').map((f) => f[2].payload)).toEqual(['hello', { text: 'an object' }, 7]);
    await old.frame('PUBLISH', () => true, 3);
    expect(old.all('PUBLISH').map((f) => f[2].payload)).toEqual(['hello', { text: 'an object' }, 7]);
    // The application's publish callback gets the value's JSON text, once.
    expect(app.of('publish').map((c) => c.fields.payload)).toEqual(['"hello"', '{"text":"an object"}', '7']);

    modern.send('MESSAGE', { name: 'old', payload: 'hi old' });
    expect((await old.frame('MESSAGE'))[2]).toMatchObject({ sender: 'modern', recipient: 'old', payload: 'hi old' });
    old.send('MESSAGE', { name: 'modern', payload: JSON.stringify('hi modern') });
    expect((await modern.frame('MESSAGE', (a) => a.sender === 'old'))[2].payload).toBe('hi modern');

    const bad = old.send('PUBLISH', { channel_name: 'chat', payload: 'not json' });
    expect((await old.frame('ERROR', (a) => a.id === bad))[2].msg).toBe('Invalid json for payload');
    expect(modern.all('PUBLISH')).toHaveLength(3);
  });

  it('a CONNECT without payload (Hookbox 0.3.3) is echoed as the JSON text null', async () => {
    const hub = await startHub();
    const old = await RtjpClient.open(hub.url);
    old.send('CONNECT', { cookie_string: '' });
    expect((await old.frame('CONNECTED'))[2]).toEqual({ name: expect.stringMatching(/^guest-/), payload: 'null' });
  });
});
