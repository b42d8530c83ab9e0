// The Pusher HTTP API on two nodes sharing Redis: a trigger on one node reaches pusher-js subscribers on the
// other (leaving out the socket_id it names), counts and presence users span both nodes, a user's
// connections are terminated wherever they are, and a channel occupied on both nodes is reported once.
import { afterEach, describe, expect, it } from 'vitest';
import Pusher from 'pusher';
import { APP, client, collect, connected, disconnectAll, pusherOptions, serverSdk, subscribed } from '../helpers/pusher.js';
import { Receiver } from '../helpers/receiver.js';
import { sleep, until } from '../helpers/wait.js';
import { startNodes } from './nodes.js';

afterEach(() => disconnectAll());

describe('Pusher HTTP API across two nodes', () => {
  it('a trigger with socket_id on node A reaches node B\'s subscribers except that socket', async () => {
    const { nodes: [a, b] } = await startNodes(2, pusherOptions());
    const excluded = client(b!);
    const other = client(b!);
    const local = client(a!);
    for (const p of [excluded, other, local]) await subscribed(p, 'room');
    const got = { excluded: collect(excluded, 'room'), other: collect(other, 'room'), local: collect(local, 'room') };
    const sdkA = serverSdk(a!);
    await sdkA.trigger('room', 'skip-one', { n: 1 }, { socket_id: excluded.connection.socket_id });
    await sdkA.triggerBatch([{ channel: 'room', name: 'batched', data: 'b', socket_id: excluded.connection.socket_id }]);
    await sdkA.trigger('room', 'for-all', 'x');
    await until(() => got.other.length === 3 && got.local.length === 3 && got.excluded.length === 1, 'deliveries on both nodes');
    expect(got.other.map((e) => e.event)).toEqual(['skip-one', 'batched', 'for-all']);
    expect(got.local.map((e) => e.event)).toEqual(['skip-one', 'batched', 'for-all']);
    expect(got.excluded).toEqual([{ event: 'for-all', data: 'x' }]);
  });

  it('counts, presence users and terminate_connections span both nodes', async () => {
    const { nodes: [a, b] } = await startNodes(2, pusherOptions());
    const alice = client(b!, { user: { id: 'alice' } });
    const bob = client(a!, { user: { id: 'bob' } });
    for (const p of [alice, bob]) {
      await connected(p);
      p.signin();
      await p.user.signinDonePromise;
      await subscribed(p, 'presence-room');
    }
    for (const node of [a!, b!]) {
      const sdk = serverSdk(node);
      expect(await (await sdk.get({ path: '/channels/presence-room', params: { info: 'subscription_count,user_count' } })).json())
        .toEqual({ occupied: true, subscription_count: 2, user_count: 2 });
      const users = (await (await sdk.get({ path: '/channels/presence-room/users' })).json()) as { users: Array<{ id: string }> };
      expect(users.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    }
    // Asked on node A, alice's connection on node B is closed.
    await serverSdk(a!).terminateUserConnections('alice');
    await until(() => alice.connection.state !== 'connected', 'alice disconnected on node B');
    await until(async () => {
      const r = (await (await serverSdk(a!).get({ path: '/channels/presence-room/users' })).json()) as { users: Array<{ id: string }> };
      return r.users.length === 1 && r.users[0]!.id === 'bob';
    }, 'only bob left');
    expect(bob.connection.state).toBe('connected');
  });

  it('a channel occupied on both nodes sends one channel_occupied webhook', async () => {
    const receiver = await Receiver.start();
    const { nodes: [a, b] } = await startNodes(2, { ...pusherOptions(), pusherWebhookUrl: `${receiver.url}/hooks` });
    await subscribed(client(a!), 'news');
    await subscribed(client(b!), 'news');
    await subscribed(client(b!), 'marker');
    const verifier = new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });
    const events = () => receiver.received.flatMap((r) => {
      const hook = verifier.webhook({ headers: r.headers as Record<string, string>, rawBody: r.body.toString('utf8') });
      expect(hook.isValid()).toBe(true);
      return hook.getEvents() as unknown as Array<{ name: string; channel: string }>;
    });
    await until(() => events().some((e) => e.channel === 'marker'), 'the marker webhook');
    expect(events().filter((e) => e.channel === 'news')).toEqual([{ name: 'channel_occupied', channel: 'news' }]);
  });

  it('a channel left on node A and joined on node B within the delay never reads as vacated', async () => {
    const receiver = await Receiver.start();
    const { nodes: [a, b] } = await startNodes(2, { ...pusherOptions(), pusherWebhookUrl: `${receiver.url}/hooks` });
    const verifier = new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });
    const events = () => receiver.received.flatMap((r) => {
      const hook = verifier.webhook({ headers: r.headers as Record<string, string>, rawBody: r.body.toString('utf8') });
      expect(hook.isValid()).toBe(true);
      return hook.getEvents() as unknown as Array<{ name: string; channel: string }>;
    });
    const onA = client(a!);
    await subscribed(onA, 'news');
    await until(() => events().length === 1, 'channel_occupied');
    onA.unsubscribe('news');
    await until(async () => ((await (await serverSdk(b!).get({ path: '/channels/news' })).json()) as { occupied: boolean }).occupied === false, 'vacated in the roster');
    await subscribed(client(b!), 'news');
    // Past node A's 3 s delay, a marker: a vacated sent would have been queued before it.
    await sleep(3300);
    await subscribed(client(b!), 'marker');
    await until(() => events().some((e) => e.channel === 'marker'), 'the marker webhook');
    const news = events().filter((e) => e.channel === 'news');
    // Node B reports its occupied at once (a repeat, harmless); node A's vacated is dropped: still occupied.
    expect(news.map((e) => e.name)).toEqual(['channel_occupied', 'channel_occupied']);
  });
});
