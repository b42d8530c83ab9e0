// The /ws transport and Hookbox's protocol over real WebSockets: bad input, limits, keep-alive,
// slow consumers, multi-connection users, presence, history, state, private messages, and the one
// topic core shared with /api/topics and /stream.
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { ChannelsApp } from '../helpers/channels-app.js';
import { startHub } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { restAuth, restful } from '../helpers/rest-key.js';

const rest = async (base: string, method: string, body: Record<string, unknown>): Promise<unknown> => {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify(body) });
  return res.json();
};

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && 'history' in a);
  return c;
}

describe('/ws bad input', () => {
  it('non-JSON, non-array, unknown and malformed frames get ERROR; the connection stays usable', async () => {
    const hub = await startHub();
    const c = await HookboxClient.open(hub.url);
    c.sendRaw('not json at all');
    c.sendRaw('{"an": "object"}');
    c.sendRaw('[7, "DANCE", {}]');
    c.sendRaw('[8, "SUBSCRIBE", "args should be an object"]');
    await c.frame('ERROR', () => true, 4);
    const errors = c.all('ERROR').map((f) => f[2]);
    expect(errors[0]).toMatchObject({ id: null, msg: expect.stringMatching(/not JSON/) });
    expect(errors[1]).toMatchObject({ id: null, msg: expect.stringMatching(/JSON array/) });
    expect(errors[2]).toMatchObject({ id: 7, msg: expect.stringMatching(/unknown frame DANCE/) });
    expect(errors[3]).toMatchObject({ id: 8, msg: expect.stringMatching(/args must be an object/) });
    c.send('CONNECT', { payload: { name: 'still-here' } });
    expect((await c.frame('CONNECTED'))[2]).toEqual({ name: 'still-here', payload: { name: 'still-here' } });
  });

  it('frames are answered in the order they came, an ERROR for a malformed frame included', async () => {
    // The app takes its time over connect: the malformed frames behind CONNECT must still wait their turn.
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? { raw: '[true, {"name": "slow"}]', delayMs: 150 } : [true, {}]));
    const hub = await startHub({ cbUrl: `${app.url}/hb` });
    const c = await HookboxClient.open(hub.url);
    c.send('CONNECT', {});
    c.sendRaw('not json');
    c.sendRaw('[3, "DANCE", {}]');
    c.send('SUBSCRIBE', { channel_name: 'after' });
    await c.frame('SUBSCRIBE');
    expect(c.frames.map((f) => (f[1] === 'ERROR' ? `ERROR ${String(f[2].id)}` : f[1]))).toEqual(['CONNECTED', 'ERROR null', 'ERROR 3', 'SUBSCRIBE']);
  });

  it('before CONNECT every frame but CONNECT is refused with "not connected"', async () => {
    const hub = await startHub();
    const c = await HookboxClient.open(hub.url);
    for (const [name, args] of [
      ['SUBSCRIBE', { channel_name: 'a' }],
      ['UNSUBSCRIBE', { channel_name: 'a' }],
      ['PUBLISH', { channel_name: 'a', payload: 1 }],
      ['MESSAGE', { name: 'x', payload: 1 }],
    ] as const) {
      const id = c.send(name, args);
      expect((await c.error(id))[2]).toEqual({ id, reference_id: id, msg: 'not connected' });
    }
    expect(hub.channels.node.channels.size).toBe(0);
  });

  it('PUBLISH to a channel the connection is not subscribed to reaches its subscribers, as in Hookbox', async () => {
    const hub = await startHub();
    const listener = await joined(hub.url, 'l', 'room');
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'p' } });
    c.send('PUBLISH', { channel_name: 'room', payload: 'from outside' });
    expect((await listener.frame('PUBLISH'))[2]).toMatchObject({ channel_name: 'room', user: 'p', payload: 'from outside' });
    // A channel nobody is in is made by the publish; the publisher hears nothing of either.
    c.send('PUBLISH', { channel_name: 'nowhere', payload: 1 });
    await until(async () => (await hub.topics.bounds('nowhere')).last === 1, 'the publish to nowhere committed');
    expect(c.send('SUBSCRIBE', {})).toBeGreaterThan(0);
    expect((await c.frame('ERROR', (a) => a.msg === 'channel_name required'))[2].msg).toBe('channel_name required');
    expect(c.all('PUBLISH')).toHaveLength(0);
    expect(c.all('ERROR')).toHaveLength(1);
  });

  it('a frame over --max-frame closes the connection with 1009', async () => {
    const hub = await startHub({ maxFrame: 1024 });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'big' } });
    c.send('PUBLISH', { channel_name: 'x', payload: 'y'.repeat(2000) });
    expect((await c.closed()).code).toBe(1009);
    await until(() => hub.connections.count('ws') === 0, 'ws connection released');
  });

  it('keep-alive: pings are sent; a peer that never answers them is terminated', async () => {
    const hub = await startHub({ heartbeat: 150 });
    const good = await HookboxClient.open(hub.url);
    let pings = 0;
    good.ws.on('ping', () => pings++);
    const mute = new WebSocket(`${hub.url.replace('http', 'ws')}/ws`, { autoPong: false });
    let muteClosed = false;
    mute.on('close', () => (muteClosed = true));
    mute.on('error', () => {});
    await new Promise((r) => mute.once('open', r));
    await until(() => muteClosed, 'unresponsive peer terminated', 5000);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a client that stops reading is dropped without slowing the others', async () => {
    const hub = await startHub({ subscriberBuffer: 64 * 1024 });
    const slow = await joined(hub.url, 'slow', 'flood');
    const fast = await joined(hub.url, 'fast', 'flood');
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const payload = 'x'.repeat(20_000);
    const started = Date.now();
    // Publish until the paused client is dropped (bounded), then some more.
    let count = 0;
    let extra = 20;
    while (count < 3000 && extra > 0) {
      // Publishes arrive in separate event-loop turns, as they do over HTTP.
      await new Promise((r) => setImmediate(r));
      await hub.topics.publish('flood', { contentType: 'application/json', body: Buffer.from(JSON.stringify({ i: count++, payload })) });
      if (hub.connections.count('ws') === 1) extra--;
    }
    expect(extra).toBe(0);
    await fast.frame('PUBLISH', (a) => a.payload?.i === count - 1, 1, 10_000);
    const elapsed = Date.now() - started;
    expect(fast.all('PUBLISH').map((f) => f[2].payload.i)).toEqual([...Array(count).keys()]);
    expect(elapsed).toBeLessThan(count * 25);
    await until(() => hub.connections.count('ws') === 1, 'slow consumer dropped');
    expect(hub.channels.node.channels.get('flood')?.presence()).toEqual(['fast']);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed(5000)).toEqual({ code: 1008, reason: expect.stringMatching(/^slow consumer: more than 65536 bytes waiting/) });
    expect(slow.all('PUBLISH').length).toBeLessThan(count);
  });

  it('frames queued when a connection is closed go out before the close frame', async () => {
    const hub = await startHub();
    const c = await joined(hub.url, 'bob', 'news');
    await hub.topics.publish('news', { contentType: 'application/json', body: Buffer.from('{"last":"words"}') });
    // The PUBLISH frame is queued, not yet written: the kick closes the connection in the same turn.
    expect(hub.channels.node.kick('bob')).toBe(true);
    expect(await c.closed()).toEqual({ code: 1008, reason: 'kicked' });
    expect(c.all('PUBLISH').map((f) => f[2].payload)).toEqual([{ last: 'words' }]);
  });

  it('shutdown closes sockets with 1001; --max-connections refuses with 1013', async () => {
    const hub = await startHub({ maxConnections: 1 });
    const c = await HookboxClient.open(hub.url);
    const refused = await HookboxClient.open(hub.url);
    expect((await refused.closed()).code).toBe(1013);
    await hub.close();
    expect((await c.closed()).code).toBe(1001);
  });
});

describe('users, presence, history, state and messages', () => {
  it('one user per name: every connection gets the channels; a new connection is told the user is already in', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'room', presenceful: true });
    const watcher = await joined(hub.url, 'watcher', 'room');
    const a1 = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    const a2 = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    a1.send('SUBSCRIBE', { channel_name: 'room' });
    const [s1, s2] = await Promise.all([a1.frame('SUBSCRIBE'), a2.frame('SUBSCRIBE')]);
    expect(s1[2]).toMatchObject({ channel_name: 'room', user: 'ann', presence: ['watcher', 'ann'] });
    expect(s2[2]).toMatchObject({ channel_name: 'room', user: 'ann' });
    const a3 = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    expect((await a3.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'room', user: 'ann', presence: ['watcher', 'ann'] });
    // One join event for the watcher, however many connections.
    await watcher.frame('SUBSCRIBE', (a) => a.user === 'ann');
    watcher.send('PUBLISH', { channel_name: 'room', payload: 'to all of ann' });
    await Promise.all([a1, a2, a3].map((c) => c.frame('PUBLISH')));
    a1.close();
    a2.close();
    await until(() => hub.channels.node.users.get('ann')?.conns.size === 1, 'two connections gone');
    expect(watcher.all('UNSUBSCRIBE')).toHaveLength(0);
    a3.close();
    expect((await watcher.frame('UNSUBSCRIBE'))[2]).toEqual({ channel_name: 'room', user: 'ann', datetime: expect.any(String) });
    expect(watcher.all('SUBSCRIBE', (a) => a.user === 'ann')).toHaveLength(1);
    expect(hub.channels.node.users.has('ann')).toBe(false);
  });

  it('kick closes every connection of a user with 1008', async () => {
    const hub = await startHub();
    const c1 = await HookboxClient.connect(hub.url, { payload: { name: 'troll' } });
    const c2 = await HookboxClient.connect(hub.url, { payload: { name: 'troll' } });
    expect(hub.channels.node.kick('troll')).toBe(true);
    expect((await c1.closed()).code).toBe(1008);
    expect((await c2.closed()).reason).toBe('kicked');
    await until(() => !hub.channels.node.users.has('troll'), 'user gone');
    expect(hub.channels.node.kick('troll')).toBe(false);
  });

  it('presence join/leave frames go to the other subscribers of presenceful channels only', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'quiet' });
    const a = await joined(hub.url, 'a', 'quiet');
    const b = await joined(hub.url, 'b', 'quiet');
    expect(b.all('SUBSCRIBE')[0]?.[2].presence).toEqual([]);
    b.send('UNSUBSCRIBE', { channel_name: 'quiet' });
    await b.frame('UNSUBSCRIBE');
    a.send('PUBLISH', { channel_name: 'quiet', payload: 'marker' });
    await a.frame('PUBLISH');
    expect(a.all('SUBSCRIBE')).toHaveLength(1);
    expect(a.all('UNSUBSCRIBE')).toHaveLength(0);
  });

  it('history on subscribe: oldest first, all kinds counted, taken before the subscriber joins', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 'h', history_size: 3, persistent: true });
    const a = await joined(hub.url, 'a', 'h');
    for (const n of [1, 2, 3]) a.send('PUBLISH', { channel_name: 'h', payload: n });
    await a.frame('PUBLISH', () => true, 3);
    const b = await joined(hub.url, 'b', 'h');
    const sub = b.all('SUBSCRIBE')[0]![2];
    expect(sub.history_size).toBe(3);
    expect(sub.history.map((e: [string, { user: string; payload?: unknown }]) => [e[0], e[1].user, e[1].payload])).toEqual([
      ['PUBLISH', 'a', 1],
      ['PUBLISH', 'a', 2],
      ['PUBLISH', 'a', 3],
    ]);
    expect(Date.parse(sub.history[0][1].datetime)).toBeGreaterThan(Date.now() - 10_000);
    b.send('UNSUBSCRIBE', { channel_name: 'h' });
    await b.frame('UNSUBSCRIBE');
    const info = (await rest(hub.url, 'get_channel_info', { channel_name: 'h' })) as [boolean, { history: Array<[string, { user: string }]> }];
    expect(info[1].history.map((e) => [e[0], e[1].user])).toEqual([['PUBLISH', 'a'], ['SUBSCRIBE', 'b'], ['UNSUBSCRIBE', 'b']]);
  });

  it('state: SUBSCRIBE carries it; set and delete send STATE_UPDATE to subscribers', async () => {
    const hub = await startHub(restful);
    await rest(hub.url, 'create_channel', { channel_name: 's', state: { topic: 'lunch' } });
    const a = await joined(hub.url, 'a', 's');
    expect(a.all('SUBSCRIBE')[0]![2].state).toEqual({ topic: 'lunch' });
    expect(await rest(hub.url, 'state_set_key', { channel_name: 's', key: 'score', val: { ann: 5 } })).toEqual([true, {}]);
    expect((await a.frame('STATE_UPDATE'))[2]).toEqual({ channel_name: 's', updates: { score: { ann: 5 } }, deletes: [] });
    await rest(hub.url, 'state_delete_key', { channel_name: 's', key: 'topic' });
    expect((await a.frame('STATE_UPDATE', () => true, 2))[2]).toEqual({ channel_name: 's', updates: {}, deletes: ['topic'] });
    const b = await joined(hub.url, 'b', 's');
    expect(b.all('SUBSCRIBE')[0]![2].state).toEqual({ score: { ann: 5 } });
  });

  it('private messages reach every connection of the recipient, and the sender when reflective', async () => {
    const hub = await startHub(restful);
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'a' } });
    const b1 = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    const b2 = await HookboxClient.connect(hub.url, { payload: { name: 'b' } });
    a.send('MESSAGE', { name: 'b', payload: { secret: 42 } });
    const expected = { sender: 'a', recipient: 'b', payload: { secret: 42 }, datetime: expect.any(String) };
    expect((await b1.frame('MESSAGE'))[2]).toEqual(expected);
    expect((await b2.frame('MESSAGE'))[2]).toEqual(expected);
    expect((await a.frame('MESSAGE'))[2]).toEqual(expected);
    await rest(hub.url, 'set_user_options', { user_name: 'a', reflective: false });
    a.send('MESSAGE', { name: 'b', payload: 'second' });
    await b1.frame('MESSAGE', (x) => x.payload === 'second');
    a.send('MESSAGE', { name: 'a', payload: 'to myself' });
    await a.frame('MESSAGE', (x) => x.payload === 'to myself');
    expect(a.all('MESSAGE').map((f) => f[2].payload)).toEqual([{ secret: 42 }, 'to myself']);
  });
});

describe('one topic core', () => {
  it('a publish to /api/topics reaches WebSocket subscribers as PUBLISH with user null', async () => {
    const hub = await startHub();
    const a = await joined(hub.url, 'a', 'news');
    await fetch(`${hub.url}/api/topics/news/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"headline":"hi"}' });
    await fetch(`${hub.url}/api/topics/news/publish`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
    await fetch(`${hub.url}/api/topics/news/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'plain words' });
    await a.frame('PUBLISH', () => true, 3);
    expect(a.all('PUBLISH').map((f) => f[2])).toEqual([
      { channel_name: 'news', user: null, payload: { headline: 'hi' }, datetime: expect.any(String) },
      { channel_name: 'news', user: null, payload: { a: '1', b: '2' }, datetime: expect.any(String) },
      { channel_name: 'news', user: null, payload: 'plain words', datetime: expect.any(String) },
    ]);
  });

  it('a browser publish reaches /stream consumers and topic history', async () => {
    const hub = await startHub();
    const stream = await NdjsonClient.open(`${hub.url}/stream?topic=chat`);
    const a = await joined(hub.url, 'a', 'chat');
    a.send('PUBLISH', { channel_name: 'chat', payload: { text: 'from the browser' } });
    const [line] = (await stream.waitForLines(1)) as Array<{ topic: string; data: unknown; contentType: string }>;
    expect(line).toMatchObject({ topic: 'chat', contentType: 'application/json', data: { text: 'from the browser' } });
    stream.close();
    const history = (await (await fetch(`${hub.url}/api/topics/chat/history`)).json()) as { messages: Array<{ data: unknown }> };
    expect(history.messages.map((m) => m.data)).toEqual([{ text: 'from the browser' }]);
  });
});
