// Browser channels on several nodes: a channel is a topic, so publishes reach subscribers on every node;
// presence is shared (join/leave on the first join / last leave cluster-wide; a killed node's users expire),
// and so are channel state (STATE_UPDATE on every node, in one order), history and private messages.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { spawnHub } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';
import { deleteKeysUnder, keysUnder, REDIS_URL } from '../helpers/redis.js';
import { startHub, stopHub } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { startNodes } from './nodes.js';
import { restAuth, restful, restfulEnv } from '../helpers/rest-key.js';

type Answer = [boolean, Record<string, any>];

async function rest(base: string, method: string, fields: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...restAuth }, body: new URLSearchParams(fields).toString() });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

/** A presenceful channel, made on the first node: every node of the cluster has it with its options. */
async function presenceful(bases: string[], channel: string): Promise<void> {
  expect(await rest(bases[0]!, 'create_channel', { channel_name: channel, presenceful: 'true' })).toEqual([true, {}]);
  for (const base of bases) expect((await rest(base, 'get_channel_info', { channel_name: channel }))[1].options.presenceful).toBe(true);
}

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && a.user === name);
  return c;
}

const presenceOn = async (base: string, channel: string): Promise<string[]> => {
  const [ok, info] = await rest(base, 'get_channel_info', { channel_name: channel });
  expect(ok).toBe(true);
  return (info.presence as string[]).slice().sort();
};

const joins = (c: HookboxClient, user: string) => c.all('SUBSCRIBE', (a) => a.user === user && a.presence === undefined);
const leaves = (c: HookboxClient, user: string) => c.all('UNSUBSCRIBE', (a) => a.user === user);

describe('cluster: browser channels', () => {
  it('a PUBLISH from a browser on node A reaches a subscriber on node B', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    const alice = await HookboxClient.connect(a!.url, { payload: { name: 'alice' } });
    const bob = await HookboxClient.connect(b!.url, { payload: { name: 'bob' } });
    for (const c of [alice, bob]) {
      c.send('SUBSCRIBE', { channel_name: 'room' });
      await c.frame('SUBSCRIBE');
    }
    alice.send('PUBLISH', { channel_name: 'room', payload: { text: 'hi from A' } });
    const got = await bob.frame('PUBLISH');
    expect(got[2]).toEqual({ channel_name: 'room', user: 'alice', payload: { text: 'hi from A' }, datetime: expect.any(String) });
    const echo = await alice.frame('PUBLISH');
    expect(echo[2]).toEqual(got[2]);
  });

  it('presence lists, join events and get_channel_info show the users of every node', async () => {
    const { nodes } = await startNodes(3, restful);
    const [a, b, c] = nodes.map((n) => n.url) as [string, string, string];
    await presenceful([a, b, c], 'lobby');
    const alice = await joined(a, 'alice', 'lobby');
    const bob = await joined(b, 'bob', 'lobby');
    expect((await bob.frame('SUBSCRIBE', (x) => x.user === 'bob'))[2].presence.sort()).toEqual(['alice', 'bob']);
    await alice.frame('SUBSCRIBE', (x) => x.user === 'bob' && x.presence === undefined);
    const carol = await joined(c, 'carol', 'lobby');
    expect((await carol.frame('SUBSCRIBE', (x) => x.user === 'carol'))[2].presence.sort()).toEqual(['alice', 'bob', 'carol']);
    await alice.frame('SUBSCRIBE', (x) => x.user === 'carol' && x.presence === undefined);
    await bob.frame('SUBSCRIBE', (x) => x.user === 'carol' && x.presence === undefined);
    for (const base of [a, b, c]) expect(await presenceOn(base, 'lobby')).toEqual(['alice', 'bob', 'carol']);
    // Leaving on one node is a leave everywhere.
    bob.send('UNSUBSCRIBE', { channel_name: 'lobby' });
    await alice.frame('UNSUBSCRIBE', (x) => x.user === 'bob');
    await carol.frame('UNSUBSCRIBE', (x) => x.user === 'bob');
    expect(await presenceOn(c, 'lobby')).toEqual(['alice', 'carol']);
    // A node shut down politely takes its users away at once.
    await stopHub(nodes[2]!);
    await alice.frame('UNSUBSCRIBE', (x) => x.user === 'carol');
    expect(await presenceOn(a, 'lobby')).toEqual(['alice']);
  });

  it('a user on two nodes joins on its first subscription and leaves with its last, cluster-wide', async () => {
    const { nodes } = await startNodes(3, restful);
    const [a, b, c] = nodes.map((n) => n.url) as [string, string, string];
    await presenceful([a, b, c], 'hall');
    // One watcher per node: events from the node itself and from the others.
    const watchers = [await joined(a, 'wendy', 'hall'), await joined(b, 'olga', 'hall'), await joined(c, 'cora', 'hall')];
    const allHear = async (user: string) => {
      for (const w of watchers) if (w.name !== user) await w.frame('SUBSCRIBE', (x) => x.user === user && x.presence === undefined);
    };
    await allHear('cora');
    const aliceOnB = await joined(b, 'alice', 'hall');
    await allHear('alice');
    const aliceOnC = await joined(c, 'alice', 'hall');
    expect((await aliceOnC.frame('SUBSCRIBE', (x) => x.user === 'alice'))[2].presence.sort()).toEqual(['alice', 'cora', 'olga', 'wendy']);
    // Notes from one node arrive in order: once zed (joined on C after alice) is heard, alice's C join was too.
    await joined(c, 'zed', 'hall');
    await allHear('zed');
    for (const w of watchers) expect(joins(w, 'alice')).toHaveLength(1);

    aliceOnB.send('UNSUBSCRIBE', { channel_name: 'hall' });
    await aliceOnB.frame('UNSUBSCRIBE', (x) => x.user === 'alice');
    await joined(b, 'sam', 'hall');
    await allHear('sam');
    for (const w of watchers) expect(leaves(w, 'alice')).toHaveLength(0);
    expect(await presenceOn(a, 'hall')).toEqual(['alice', 'cora', 'olga', 'sam', 'wendy', 'zed']);

    aliceOnC.close();
    for (const w of watchers) await w.frame('UNSUBSCRIBE', (x) => x.user === 'alice');
    expect(await presenceOn(b, 'hall')).toEqual(['cora', 'olga', 'sam', 'wendy', 'zed']);
    for (const w of watchers) expect(leaves(w, 'alice')).toHaveLength(1);
  });

  it('a node in another process: its publishing users are known; killed with SIGKILL, its users leave once its presence expires', async () => {
    const { prefix, nodes: [survivor] } = await startNodes(1, restful);
    const doomed = await spawnHub({ ...restfulEnv, HOOKHUB_STORE: 'redis', HOOKHUB_REDIS_URL: REDIS_URL, HOOKHUB_REDIS_PREFIX: prefix });
    await presenceful([survivor!.url, doomed.url], 'den');
    const wendy = await joined(survivor!.url, 'wendy', 'den');
    const ghost = await joined(doomed.url, 'ghost', 'den');
    await wendy.frame('SUBSCRIBE', (x) => x.user === 'ghost' && x.presence === undefined);
    // A channel only the killed node's user is in: nobody left to destroy it but the survivor.
    expect(await rest(survivor!.url, 'create_channel', { channel_name: 'solo', history_size: '3' })).toEqual([true, {}]);
    ghost.send('SUBSCRIBE', { channel_name: 'solo' });
    await ghost.frame('SUBSCRIBE', (x) => x.channel_name === 'solo');
    await until(async () => (await presenceOn(survivor!.url, 'solo')).join() === 'ghost', 'ghost in solo on the survivor');
    // Another process: the publishing user travels with the message, not through shared memory.
    ghost.send('PUBLISH', { channel_name: 'den', payload: 'boo' });
    expect((await wendy.frame('PUBLISH'))[2]).toEqual({ channel_name: 'den', user: 'ghost', payload: 'boo', datetime: expect.any(String) });
    expect(await presenceOn(survivor!.url, 'den')).toEqual(['ghost', 'wendy']);
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    // Presence lives 6 s past the last refresh (every 2 s); the survivor looks every 2 s.
    await wendy.frame('UNSUBSCRIBE', (x) => x.user === 'ghost', 1, 15_000);
    expect(await presenceOn(survivor!.url, 'den')).toEqual(['wendy']);
    expect(leaves(wendy, 'ghost')).toHaveLength(1);
    await until(async () => (await rest(survivor!.url, 'get_channel_info', { channel_name: 'solo' }))[0] === false, 'solo gone on the survivor');
  }, 30_000);

  it('presence Redis lost (flushed) is written again by its node: a node started later still sees the users', async () => {
    const { prefix, nodes: [a] } = await startNodes(1, restful);
    await presenceful([a!.url], 'club');
    await joined(a!.url, 'alice', 'club');
    await deleteKeysUnder(`${prefix}presence`);
    // Node A notices at its next refresh (every 2 s) that it is no longer registered.
    await until(async () => (await keysUnder(`${prefix}presence:node:`)).length === 1, 'the presence set written again', 5000);
    const b = await startHub({ ...restful, store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix });
    expect(await presenceOn(b.url, 'club')).toEqual(['alice']);
  });

  it('channel state is shared: SUBSCRIBE frames, STATE_UPDATE and get_channel_info on every node', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    expect(await rest(a, 'create_channel', { channel_name: 'board', state: '{"topic": "hello"}' })).toEqual([true, {}]);
    const alice = await joined(a, 'alice', 'board');
    // The channel is made on node B on first use, with the shared state.
    const bob = await joined(b, 'bob', 'board');
    expect((await bob.frame('SUBSCRIBE', (x) => x.user === 'bob'))[2].state).toEqual({ topic: 'hello' });
    expect(await rest(a, 'state_set_key', { channel_name: 'board', key: 'k', val: '[1, 2]' })).toEqual([true, {}]);
    for (const c of [alice, bob]) expect((await c.frame('STATE_UPDATE'))[2]).toEqual({ channel_name: 'board', updates: { k: [1, 2] }, deletes: [] });
    expect(await rest(b, 'state_delete_key', { channel_name: 'board', key: 'topic' })).toEqual([true, {}]);
    for (const c of [alice, bob]) expect((await c.frame('STATE_UPDATE', () => true, 2))[2]).toEqual({ channel_name: 'board', updates: {}, deletes: ['topic'] });
    for (const base of [a, b]) expect((await rest(base, 'get_channel_info', { channel_name: 'board' }))[1].state).toEqual({ k: [1, 2] });
    const carol = await joined(b, 'carol', 'board');
    expect((await carol.frame('SUBSCRIBE', (x) => x.user === 'carol'))[2].state).toEqual({ k: [1, 2] });
  });

  it('concurrent state changes on two nodes reach every subscriber in the same order', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const watchers = [await joined(a, 'wa', 'race'), await joined(b, 'wb', 'race')];
    const N = 20;
    await Promise.all(Array.from({ length: N }, (_, i) => rest(i % 2 ? a : b, 'state_set_key', { channel_name: 'race', key: 'n', val: String(i) })));
    const seen = await Promise.all(watchers.map(async (w) => {
      await w.frame('STATE_UPDATE', () => true, N);
      return w.all('STATE_UPDATE').map((f) => f[2].updates.n as number);
    }));
    expect(seen[0]).toHaveLength(N);
    expect(new Set(seen[0])).toEqual(new Set(Array.from({ length: N }, (_, i) => i)));
    expect(seen[1]).toEqual(seen[0]);
    const last = seen[0]![N - 1];
    for (const base of [a, b]) expect((await rest(base, 'get_channel_info', { channel_name: 'race' }))[1].state).toEqual({ n: last });
  });

  it('the shared state of a non-persistent channel goes once nobody is subscribed on any node', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const carol = await joined(a, 'carol', 'tmp');
    const dave = await joined(b, 'dave', 'tmp');
    expect(await rest(a, 'state_set_key', { channel_name: 'tmp', key: 'x', val: '1' })).toEqual([true, {}]);
    await dave.frame('STATE_UPDATE');
    carol.close();
    dave.close();
    await until(async () => (await rest(a, 'get_channel_info', { channel_name: 'tmp' }))[0] === false && (await rest(b, 'get_channel_info', { channel_name: 'tmp' }))[0] === false, 'tmp gone on both nodes');
    // Both nodes heard of both leaves (each drops when it sees nobody left): a new subscriber starts afresh.
    await until(async () => {
      const erin = await joined(b, 'erin', 'tmp');
      const state = (await erin.frame('SUBSCRIBE', (x) => x.user === 'erin'))[2].state as Record<string, unknown>;
      erin.close();
      await until(async () => (await rest(b, 'get_channel_info', { channel_name: 'tmp' }))[0] === false, 'tmp gone again');
      return Object.keys(state).length === 0;
    }, 'a fresh tmp');
    // A persistent channel (persistent on every node) keeps its state with nobody subscribed.
    expect(await rest(a, 'create_channel', { channel_name: 'kept', persistent: 'true', state: '{"x": 2}' })).toEqual([true, {}]);
    const fay = await joined(b, 'fay', 'kept');
    fay.send('UNSUBSCRIBE', { channel_name: 'kept' });
    await fay.frame('UNSUBSCRIBE');
    for (const base of [a, b]) {
      const [ok, info] = await rest(base, 'get_channel_info', { channel_name: 'kept' });
      expect([ok, info.options.persistent]).toEqual([true, true]);
    }
    const gil = await joined(b, 'gil', 'kept');
    expect((await gil.frame('SUBSCRIBE', (x) => x.user === 'gil'))[2].state).toEqual({ x: 2 });
  });

  it('channel history is shared: every node records a publish, it is kept once; joins on any node', async () => {
    const { prefix, nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    expect(await rest(a, 'create_channel', { channel_name: 'log', history_size: '5' })).toEqual([true, {}]);
    expect(await rest(b, 'create_channel', { channel_name: 'log', history_size: '5' })).toEqual([false, { msg: 'channel log already exists' }]);
    const historyOn = async (base: string) => {
      const [ok, info] = await rest(base, 'get_channel_info', { channel_name: 'log' });
      expect(ok).toBe(true);
      return (info.history as Array<[string, { user: string | null; payload?: unknown }]>).map(([kind, x]) => `${kind} ${x.user}${'payload' in x ? ` ${JSON.stringify(x.payload)}` : ''}`);
    };
    const alice = await joined(a, 'alice', 'log');
    await until(async () => (await historyOn(b)).length === 1, 'alice\'s join in the history on node B');
    await joined(b, 'bob', 'log');
    await until(async () => (await historyOn(a)).length === 2, 'bob\'s join in the history on node A');
    alice.send('PUBLISH', { channel_name: 'log', payload: 'one' });
    await alice.frame('PUBLISH');
    expect(await rest(b, 'publish', { channel_name: 'log', payload: '"two"', originator: 'app' })).toEqual([true, {}]);
    const expected = ['SUBSCRIBE alice', 'SUBSCRIBE bob', 'PUBLISH alice "one"', 'PUBLISH app "two"'];
    for (const base of [a, b]) await until(async () => JSON.stringify(await historyOn(base)) === JSON.stringify(expected), `the history on ${base}`);
    const carol = await joined(b, 'carol', 'log');
    const frame = await carol.frame('SUBSCRIBE', (x) => x.user === 'carol');
    expect(frame[2].history.map(([kind, x]: [string, { user: string }]) => `${kind} ${x.user}`)).toEqual(['SUBSCRIBE alice', 'SUBSCRIBE bob', 'PUBLISH alice', 'PUBLISH app']);
    expect(await rest(a, 'publish', { channel_name: 'log', payload: '"three"' })).toEqual([true, {}]);
    const trimmed = ['SUBSCRIBE bob', 'PUBLISH alice "one"', 'PUBLISH app "two"', 'SUBSCRIBE carol', 'PUBLISH null "three"'];
    for (const base of [a, b]) await until(async () => JSON.stringify(await historyOn(base)) === JSON.stringify(trimmed), `the trimmed history on ${base}`);
    // A node started afterwards has the channel, with its options and the shared history.
    const c = await startHub({ ...restful, store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix });
    expect((await rest(c.url, 'get_channel_info', { channel_name: 'log' }))[1].options.history_size).toBe(5);
    expect(await historyOn(c.url)).toEqual(trimmed);
  });

  it('a private MESSAGE reaches the recipient on another node, on each of its connections once', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const alice = await HookboxClient.connect(a, { payload: { name: 'alice' } });
    const bobOnB = await HookboxClient.connect(b, { payload: { name: 'bob' } });
    // Node A knows of bob once it heard of him from node B: a REST message there is then accepted.
    await until(async () => (await rest(a, 'message', { sender_name: 'app', recipient_name: 'bob', payload: '"ping"' }))[0], 'bob known on node A');
    await bobOnB.frame('MESSAGE', (x) => x.payload === 'ping');
    const bobOnA = await HookboxClient.connect(a, { payload: { name: 'bob' } });
    alice.send('MESSAGE', { name: 'bob', payload: { text: 'hi' } });
    for (const c of [bobOnA, bobOnB]) {
      expect((await c.frame('MESSAGE', (x) => x.sender === 'alice'))[2]).toEqual({ sender: 'alice', recipient: 'bob', payload: { text: 'hi' }, datetime: expect.any(String) });
    }
    const carol = await HookboxClient.connect(b, { payload: { name: 'carol' } });
    await until(async () => (await rest(a, 'message', { sender_name: 'app', recipient_name: 'carol', payload: '1' }))[0], 'carol known on node A');
    carol.close();
    await until(async () => (await rest(a, 'message', { sender_name: 'app', recipient_name: 'carol', payload: '2' }))[1].msg === 'no such user: carol', 'carol gone on node A');
    const id = alice.send('MESSAGE', { name: 'nobody', payload: 1 });
    expect((await alice.error(id))[2].msg).toBe('no such user: nobody');
    // Every connection got each message once.
    expect(bobOnB.all('MESSAGE').map((f) => f[2].payload)).toEqual(['ping', { text: 'hi' }]);
    expect(bobOnA.all('MESSAGE').map((f) => f[2].payload)).toEqual([{ text: 'hi' }]);
  });

  it('an admin kick on one node disconnects the user on every node', async () => {
    const password = 'cluster admin';
    const { nodes } = await startNodes(2, { adminPassword: password });
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const bobOnB = await HookboxClient.connect(b, { payload: { name: 'bob' } });
    const kick = async () => {
      const res = await fetch(`${a}/admin/api/users/bob/kick`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    // Node A learns of bob on node B from Redis; until then it has no such user.
    const done = await until(async () => {
      const res = await kick();
      return res.status === 200 ? res : undefined;
    }, 'the kick accepted on node A');
    expect(done.body).toEqual({ kicked: 'bob' });
    expect((await bobOnB.closed()).code).toBe(1008);
    expect(bobOnB.closeInfo?.reason).toBe('kicked by admin');
    await until(async () => (await kick()).status === 404, 'bob gone on node A');
  });

  it('offsets: a connection back on another node gets exactly what it missed (SUBSCRIBE since)', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    const onA = await HookboxClient.connect(a!.url, { payload: { name: 'erin' }, offsets: true });
    onA.send('SUBSCRIBE', { channel_name: 'ticker' });
    await onA.frame('SUBSCRIBE');
    const poster = await HookboxClient.connect(b!.url, { payload: { name: 'poster' } });
    poster.send('SUBSCRIBE', { channel_name: 'ticker' });
    await poster.frame('SUBSCRIBE');
    poster.send('PUBLISH', { channel_name: 'ticker', payload: 1 });
    const seen = (await onA.frame('PUBLISH'))[2].offset as number;
    onA.close();
    await onA.closed();
    for (const n of [2, 3]) poster.send('PUBLISH', { channel_name: 'ticker', payload: n });
    await poster.frame('PUBLISH', () => true, 3);
    const onB = await HookboxClient.connect(b!.url, { payload: { name: 'erin' }, offsets: true });
    onB.send('SUBSCRIBE', { channel_name: 'ticker', since: seen });
    await onB.frame('PUBLISH', () => true, 2);
    expect(onB.all('SUBSCRIBE', (x) => x.user === 'erin')[0]![2]).toMatchObject({ offset: seen + 2, recovered: true, replayed: 2 });
    expect(onB.all('PUBLISH').map((f) => [f[2].offset, f[2].payload])).toEqual([[seen + 1, 2], [seen + 2, 3]]);
  });

  // ---- one channel record for the cluster --------------------------------------------------

  it('create_channel on node A: node B uses its options (presenceful, history_size), no create_channel callback there', async () => {
    const app = await ChannelsApp.start((call: Call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const { nodes } = await startNodes(2, { ...restful, cbUrl: `${app.url}/hb` });
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    expect(await rest(a, 'create_channel', { channel_name: 'stage', presenceful: 'true', history_size: '5' })).toEqual([true, {}]);
    const [ok, info] = await rest(b, 'get_channel_info', { channel_name: 'stage' });
    expect(ok).toBe(true);
    expect(info.options).toMatchObject({ presenceful: true, history_size: 5, moderated: true });
    const alice = await joined(a, 'alice', 'stage');
    const bob = await joined(b, 'bob', 'stage');
    // Presenceful on B: bob's SUBSCRIBE lists alice, and alice hears bob's join.
    const own = (await bob.frame('SUBSCRIBE', (x) => x.user === 'bob'))[2];
    expect(own.presence.sort()).toEqual(['alice', 'bob']);
    expect(own.history_size).toBe(5);
    expect(own.history.map(([kind, x]: [string, { user: string }]) => `${kind} ${x.user}`)).toEqual(['SUBSCRIBE alice']);
    await alice.frame('SUBSCRIBE', (x) => x.user === 'bob' && x.presence === undefined);
    expect(app.of('create_channel')).toHaveLength(0);
  });

  it('a channel made by a browser subscribing on node A (the app answers its options) is the same on node B: the app is asked once', async () => {
    const app = await ChannelsApp.start((call: Call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'create_channel') return [true, { presenceful: true, moderated: false }];
      if (call.action === 'publish') return [false, { msg: 'moderated publish' }];
      return [true, {}];
    });
    const { nodes } = await startNodes(2, { ...restful, cbUrl: `${app.url}/hb` });
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const alice = await joined(a, 'alice', 'open');
    const bob = await joined(b, 'bob', 'open');
    expect((await bob.frame('SUBSCRIBE', (x) => x.user === 'bob'))[2].presence.sort()).toEqual(['alice', 'bob']);
    expect(app.of('create_channel').map((c) => c.fields.channel_name)).toEqual(['open']);
    // moderated=false on B too: neither the subscribe nor the publish callback is called.
    bob.send('PUBLISH', { channel_name: 'open', payload: 'hi' });
    expect((await alice.frame('PUBLISH'))[2]).toEqual({ channel_name: 'open', user: 'bob', payload: 'hi', datetime: expect.any(String) });
    expect(app.of('publish')).toHaveLength(0);
    expect(app.of('subscribe')).toHaveLength(0);
    // Two nodes making a new channel at once agree on one record (one callback may come from each).
    const [c1, c2] = await Promise.all([HookboxClient.connect(a, { payload: { name: 'c1' } }), HookboxClient.connect(b, { payload: { name: 'c2' } })]);
    c1.send('SUBSCRIBE', { channel_name: 'both' });
    c2.send('SUBSCRIBE', { channel_name: 'both' });
    await c1.frame('SUBSCRIBE', (x) => x.user === 'c1');
    await c2.frame('SUBSCRIBE', (x) => x.user === 'c2');
    for (const base of [a, b]) expect((await rest(base, 'get_channel_info', { channel_name: 'both' }))[1].options).toMatchObject({ presenceful: true, moderated: false });
  });

  it('set_channel_options on node A reaches node B at once; get_channel_info answers the same options on both', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const alice = await joined(a, 'alice', 'knobs');
    const bob = await joined(b, 'bob', 'knobs');
    expect(await rest(a, 'set_channel_options', { channel_name: 'knobs', presenceful: 'true', history_size: '3', reflective: 'false' })).toEqual([true, {}]);
    for (const base of [a, b]) {
      expect((await rest(base, 'get_channel_info', { channel_name: 'knobs' }))[1].options).toMatchObject({ presenceful: true, history_size: 3, reflective: false });
    }
    // Presenceful on B now: carol's join there is told to bob, and alice's publish is not reflected to her.
    await joined(b, 'carol', 'knobs');
    await bob.frame('SUBSCRIBE', (x) => x.user === 'carol' && x.presence === undefined);
    await alice.frame('SUBSCRIBE', (x) => x.user === 'carol' && x.presence === undefined);
    bob.send('PUBLISH', { channel_name: 'knobs', payload: 1 });
    await alice.frame('PUBLISH');
    expect(bob.all('PUBLISH')).toHaveLength(0);
    // From B back to A.
    expect(await rest(b, 'set_channel_options', { channel_name: 'knobs', presenceful: 'false' })).toEqual([true, {}]);
    expect((await rest(a, 'get_channel_info', { channel_name: 'knobs' }))[1].options).toMatchObject({ presenceful: false, history_size: 3, reflective: false });
  });

  it('destroy_channel on node A unsubscribes the subscribers of node B; the channel is gone everywhere', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    expect(await rest(a, 'create_channel', { channel_name: 'doomed', persistent: 'true', history_size: '2' })).toEqual([true, {}]);
    const alice = await joined(a, 'alice', 'doomed');
    const bob = await joined(b, 'bob', 'doomed');
    expect(await rest(a, 'destroy_channel', { channel_name: 'doomed' })).toEqual([true, {}]);
    for (const c of [alice, bob]) await c.frame('UNSUBSCRIBE', (x) => x.channel_name === 'doomed' && x.user === c.name);
    for (const base of [a, b]) expect(await rest(base, 'get_channel_info', { channel_name: 'doomed' })).toEqual([false, { msg: 'no such channel: doomed' }]);
    // Made again afterwards: with defaults, on both nodes.
    await joined(b, 'carol', 'doomed');
    for (const base of [a, b]) expect((await rest(base, 'get_channel_info', { channel_name: 'doomed' }))[1].options).toMatchObject({ persistent: false, history_size: 0 });
  });

  it('a non-persistent channel stays while a user is in it on any node, and goes with the last one cluster-wide (one destroy_channel callback)', async () => {
    const app = await ChannelsApp.start((call: Call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const { nodes } = await startNodes(2, { ...restful, cbUrl: `${app.url}/hb` });
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    expect(await rest(a, 'create_channel', { channel_name: 'brief', history_size: '4' })).toEqual([true, {}]);
    const alice = await joined(a, 'alice', 'brief');
    const bob = await joined(b, 'bob', 'brief');
    alice.send('UNSUBSCRIBE', { channel_name: 'brief' });
    await alice.frame('UNSUBSCRIBE');
    // Bob (node B) keeps it: node A still has it, with its options.
    await until(async () => (await presenceOn(a, 'brief')).join() === 'bob', 'alice gone from brief');
    expect((await rest(a, 'get_channel_info', { channel_name: 'brief' }))[1].options.history_size).toBe(4);
    expect(app.of('destroy_channel')).toHaveLength(0);
    bob.close();
    await until(async () => (await rest(a, 'get_channel_info', { channel_name: 'brief' }))[0] === false && (await rest(b, 'get_channel_info', { channel_name: 'brief' }))[0] === false, 'brief gone on both nodes');
    expect(app.of('destroy_channel').map((c) => c.fields.channel_name)).toEqual(['brief']);
    // Made again by a subscribe: the app is asked for its options again.
    await joined(b, 'carol', 'brief');
    expect(app.of('create_channel').map((c) => c.fields.channel_name)).toEqual(['brief']);
  });

  it('the last users leaving on two nodes at once: the channel goes everywhere, the app is asked once', async () => {
    const app = await ChannelsApp.start((call: Call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const { nodes } = await startNodes(2, { ...restful, cbUrl: `${app.url}/hb` });
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    for (const round of [1, 2, 3]) {
      const channel = `pair-${round}`;
      const carol = await joined(a, 'carol', channel);
      const dave = await joined(b, 'dave', channel);
      await until(async () => (await presenceOn(a, channel)).length === 2 && (await presenceOn(b, channel)).length === 2, `both in ${channel} on both nodes`);
      carol.close();
      dave.close();
      await until(async () => (await rest(a, 'get_channel_info', { channel_name: channel }))[0] === false && (await rest(b, 'get_channel_info', { channel_name: channel }))[0] === false, `${channel} gone on both nodes`);
      await sleep(100);
      expect(app.of('destroy_channel').filter((c) => c.fields.channel_name === channel)).toHaveLength(1);
    }
  });

  it('a polling channel is polled by the node that set its polling, not by every node that has it', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    // Answers once bob is subscribed, so that he sees what the poll publishes.
    const source = await Receiver.start(async (req, res) => {
      await gate;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url.startsWith('/once') ? 'only once' : 'news');
    });
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    expect(await rest(a, 'create_channel', { channel_name: 'feed', polling: JSON.stringify({ url: `${source.url}/once`, mode: 'once' }) })).toEqual([true, {}]);
    const onB = await joined(b, 'bob', 'feed');
    open();
    expect((await onB.frame('PUBLISH'))[2]).toEqual({ channel_name: 'feed', user: null, payload: 'only once', datetime: expect.any(String) });
    // Set again on node B: B polls the new URL, A stops.
    expect(await rest(b, 'set_channel_options', { channel_name: 'feed', polling: JSON.stringify({ url: `${source.url}/again`, mode: 'once' }) })).toEqual([true, {}]);
    expect((await onB.frame('PUBLISH', (x) => x.payload === 'news'))[2].payload).toBe('news');
    await sleep(300);
    expect(source.received.map((r) => r.url)).toEqual(['/once', '/again']);
  });

  it('a cluster started again forgets its non-persistent channels (as a restart does), keeps its persistent ones', async () => {
    const { prefix, nodes: [a] } = await startNodes(1, restful);
    expect(await rest(a!.url, 'create_channel', { channel_name: 'temp', history_size: '3', state: '{"x": 1}' })).toEqual([true, {}]);
    expect(await rest(a!.url, 'create_channel', { channel_name: 'kept', persistent: 'true', history_size: '3' })).toEqual([true, {}]);
    // Nobody ever joined temp: no leave destroys it, its record outlives the node.
    await stopHub(a!);
    const b = await startHub({ ...restful, store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix });
    expect(await rest(b.url, 'get_channel_info', { channel_name: 'temp' })).toEqual([false, { msg: 'no such channel: temp' }]);
    expect((await rest(b.url, 'get_channel_info', { channel_name: 'kept' }))[1].options).toMatchObject({ persistent: true, history_size: 3 });
    // Made again: from the defaults, with no state left.
    const carol = await joined(b.url, 'carol', 'temp');
    expect((await carol.frame('SUBSCRIBE', (x) => x.user === 'carol'))[2]).toMatchObject({ history_size: 0, state: {} });
    // A node joining a live cluster forgets nothing.
    expect(await rest(b.url, 'create_channel', { channel_name: 'idle', history_size: '2' })).toEqual([true, {}]);
    const c = await startHub({ ...restful, store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix });
    expect((await rest(c.url, 'get_channel_info', { channel_name: 'idle' }))[1].options.history_size).toBe(2);
    expect((await rest(c.url, 'get_channel_info', { channel_name: 'temp' }))[0]).toBe(true);
  });
});
