// Browser-channel users on any node: REST get_user_info, set_user_options, subscribe and unsubscribe
// answer for a user connected through other nodes, as on a single node.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload, type Call } from '../helpers/channels-app.js';
import { spawnHub } from '../helpers/process.js';
import { REDIS_URL } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { startNodes } from './nodes.js';
import { restAuth, restful, restfulEnv } from '../helpers/rest-key.js';

type Answer = [boolean, Record<string, any>];

async function rest(base: string, method: string, fields: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...restAuth }, body: new URLSearchParams(fields).toString() });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && a.user === name);
  return c;
}

/** Node `base` knows of the user through presence (it hears of it shortly after the connect). */
const known = (base: string, name: string) => until(async () => (await rest(base, 'get_user_info', { user_name: name }))[0], `${name} known on ${base}`);

describe('cluster: users on any node', () => {
  it('get_user_info on any node: the channels and connections of every node; an unknown user is refused', async () => {
    const { nodes } = await startNodes(3, restful);
    const [a, b, c] = nodes.map((n) => n.url) as [string, string, string];
    await joined(a, 'alice', 'room');
    await known(b, 'alice');
    const [ok, info] = await rest(b, 'get_user_info', { user_name: 'alice' });
    expect(ok).toBe(true);
    expect(info).toEqual({ name: 'alice', channels: ['room'], connections: [expect.stringMatching(/^[0-9a-f]{32}$/)], options: { reflective: true, moderated_message: true, per_connection_subscriptions: false, global_unsubscriptions: false } });
    // A second connection through node C, in another channel: every node answers both.
    await joined(c, 'alice', 'hall');
    for (const base of [a, b, c]) {
      await until(async () => ((await rest(base, 'get_user_info', { user_name: 'alice' }))[1].connections as string[]).length === 2, `both connections on ${base}`);
      const [, all] = await rest(base, 'get_user_info', { user_name: 'alice' });
      expect((all.channels as string[]).slice().sort()).toEqual(['hall', 'room']);
      expect(new Set(all.connections).size).toBe(2);
    }
    expect(await rest(b, 'get_user_info', { user_name: 'nobody' })).toEqual([false, { msg: 'no such user: nobody' }]);
  });

  it('set_user_options on node B changes the options of a user connected through node A', async () => {
    const { nodes } = await startNodes(2, restful);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const alice = await HookboxClient.connect(a, { payload: { name: 'alice' } });
    await known(b, 'alice');
    expect(await rest(b, 'set_user_options', { user_name: 'alice', reflective: 'false' })).toEqual([true, {}]);
    expect((await rest(a, 'get_user_info', { user_name: 'alice' }))[1].options.reflective).toBe(false);
    // Node A acts on it: alice's message to bob is no longer reflected to her.
    const bob = await HookboxClient.connect(a, { payload: { name: 'bob' } });
    alice.send('MESSAGE', { name: 'bob', payload: 'hi' });
    await bob.frame('MESSAGE');
    alice.send('MESSAGE', { name: 'alice', payload: 'self' });
    await alice.frame('MESSAGE', (x) => x.payload === 'self');
    expect(alice.all('MESSAGE').map((f) => f[2].payload)).toEqual(['self']);
    expect(await rest(b, 'set_user_options', { user_name: 'alice', bogus: '1' })).toEqual([false, { msg: 'unknown user option bogus' }]);
    expect(await rest(b, 'set_user_options', { user_name: 'nobody', reflective: 'true' })).toEqual([false, { msg: 'no such user: nobody' }]);
  });

  it('REST subscribe/unsubscribe on node B act on the connections of node A and C; the app is asked once', async () => {
    const app = await ChannelsApp.start((call: Call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const { nodes } = await startNodes(3, { ...restful, cbUrl: `${app.url}/hb` });
    const [a, b, c] = nodes.map((n) => n.url) as [string, string, string];
    const onA = await HookboxClient.connect(a, { payload: { name: 'alice' } });
    const onC = await HookboxClient.connect(c, { payload: { name: 'alice' } });
    await until(async () => ((await rest(b, 'get_user_info', { user_name: 'alice' }))[1].connections ?? []).length === 2, 'alice on A and C known on B');
    expect(await rest(b, 'subscribe', { channel_name: 'news', name: 'alice', send_hook: '1' })).toEqual([true, {}]);
    for (const conn of [onA, onC]) expect((await conn.frame('SUBSCRIBE', (x) => x.channel_name === 'news'))[2]).toMatchObject({ channel_name: 'news', user: 'alice' });
    expect(app.of('subscribe').map((x) => x.fields.user)).toEqual(['alice']);
    expect((await rest(b, 'get_channel_info', { channel_name: 'news' }))[1].presence).toEqual(['alice']);
    expect(await rest(b, 'unsubscribe', { channel_name: 'news', name: 'alice', send_hook: '1' })).toEqual([true, {}]);
    for (const conn of [onA, onC]) await conn.frame('UNSUBSCRIBE', (x) => x.channel_name === 'news');
    expect(app.of('unsubscribe').map((x) => x.fields.user)).toEqual(['alice']);
    expect(await rest(b, 'unsubscribe', { channel_name: 'news', name: 'alice' })).toEqual([false, { msg: 'not subscribed to news' }]);
    expect(await rest(b, 'subscribe', { channel_name: 'news', name: 'nobody' })).toEqual([false, { msg: 'no such user: nobody' }]);
  });

  it('a subscribe the app refuses is refused on every node', async () => {
    const app = await ChannelsApp.start((call: Call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : call.action === 'subscribe' ? [false, { msg: 'members only' }] : [true, {}]));
    const { nodes } = await startNodes(2, { ...restful, cbUrl: `${app.url}/hb` });
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    const onA = await HookboxClient.connect(a, { payload: { name: 'alice' } });
    await known(b, 'alice');
    expect(await rest(b, 'subscribe', { channel_name: 'vip', name: 'alice', send_hook: '1' })).toEqual([false, { msg: 'members only' }]);
    expect(onA.all('SUBSCRIBE')).toHaveLength(0);
    expect((await rest(a, 'get_user_info', { user_name: 'alice' }))[1].channels).toEqual([]);
  });

  it('a killed node does not hold get_user_info up: its connections are left out at once, its user gone once its presence expires', async () => {
    const { prefix, nodes: [survivor] } = await startNodes(1, restful);
    const doomed = await spawnHub({ ...restfulEnv, HOOKHUB_STORE: 'redis', HOOKHUB_REDIS_URL: REDIS_URL, HOOKHUB_REDIS_PREFIX: prefix });
    await joined(survivor!.url, 'alice', 'room');
    await joined(doomed.url, 'alice', 'hall');
    await joined(doomed.url, 'ghost', 'hall');
    await until(async () => ((await rest(survivor!.url, 'get_user_info', { user_name: 'alice' }))[1].connections as string[]).length === 2, 'both of alice\'s connections');
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const started = Date.now();
    const [ok, info] = await rest(survivor!.url, 'get_user_info', { user_name: 'alice' });
    expect(Date.now() - started).toBeLessThan(4000);
    expect([ok, info.channels, (info.connections as string[]).length]).toEqual([true, ['room'], 1]);
    await until(async () => (await rest(survivor!.url, 'get_user_info', { user_name: 'ghost' }))[1].msg === 'no such user: ghost', 'ghost gone', 15_000);
  }, 30_000);
});
