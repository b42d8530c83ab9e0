// The Pusher front door on two nodes sharing Redis: presence, counts, client events, socket_id exclusion
// and terminateUser across nodes; lifecycle events reported once per cluster-wide change.
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type Hookhub } from '../../src/server.js';
import { envelope, type PusherApp, type PusherLifecycleEvent } from '../../src/pusher/contracts.js';
import { testConfig } from '../helpers/config.js';
import { APP, client, collect, connected, disconnectAll, pusherOptions, subscribed } from '../helpers/pusher.js';
import { REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { startNodes } from './nodes.js';
import { until } from '../helpers/wait.js';

const app: PusherApp = { ...APP, clientEvents: true };
const hubs: Hookhub[] = [];
afterEach(async () => {
  disconnectAll();
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

/** Two nodes on one Redis prefix; every lifecycle event either reports lands in `events` with its node. */
async function twoNodes(): Promise<{ a: Hookhub; b: Hookhub; events: Array<PusherLifecycleEvent & { node: string }> }> {
  const prefix = redisPrefix();
  const events: Array<PusherLifecycleEvent & { node: string }> = [];
  const start = async (node: string): Promise<Hookhub> => {
    const hub = await startServer(testConfig({ ...pusherOptions(), store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix }), {
      pusherWebhooks: { emit: (_app, e) => void events.push({ ...e, node }) },
    });
    hubs.push(hub);
    return hub;
  };
  return { a: await start('a'), b: await start('b'), events };
}

describe('cluster: pusher', () => {
  it('presence across nodes: members, member_added/removed, users and counts on either node, webhooks once', async () => {
    const { a, b, events } = await twoNodes();
    const alice = client(a, { user: { id: 'alice', info: { n: 'A' } } });
    await subscribed(alice, 'presence-room');
    const added: string[] = [];
    const removed: string[] = [];
    alice.channel('presence-room').bind('pusher:member_added', (m: { id: string }) => added.push(m.id));
    alice.channel('presence-room').bind('pusher:member_removed', (m: { id: string }) => removed.push(m.id));
    const bob = client(b, { user: { id: 'bob', info: { n: 'B' } } });
    const members = (await subscribed(bob, 'presence-room')) as { count: number; members: Record<string, unknown> };
    expect(members.count).toBe(2);
    expect(members.members).toEqual({ alice: { n: 'A' }, bob: { n: 'B' } });
    await until(() => added.length === 1, 'member_added on node a');
    for (const node of [a, b]) {
      expect((await node.pusher?.users(app, 'presence-room'))?.sort()).toEqual(['alice', 'bob']);
      expect(await node.pusher?.channel(app, 'presence-room')).toEqual({ name: 'presence-room', subscriptionCount: 2, userCount: 2 });
    }
    bob.disconnect();
    await until(() => removed.length === 1, 'member_removed on node a');
    alice.disconnect();
    await until(() => events.some((e) => e.name === 'channel_vacated'), 'vacated');
    // Each cluster-wide change reported once, by one node.
    expect(events.map(({ node: _node, ...e }) => e)).toEqual([
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'alice' },
      { name: 'channel_vacated', channel: 'presence-room' },
    ]);
    expect(await b.pusher?.channels(app)).toEqual([]);
  });

  it('events, client events and socket_id exclusion across nodes', async () => {
    const { a, b, events } = await twoNodes();
    const x = client(a, { user: { id: 'x' } });
    const y = client(b, { user: { id: 'y' } });
    await subscribed(x, 'private-chat');
    await subscribed(y, 'private-chat');
    const gotX = collect(x, 'private-chat');
    const gotY = collect(y, 'private-chat');
    // Published on node b, leaving out x (on node a).
    await b.topics.publish(`${APP.id}/private-chat`, envelope({ event: 'server', data: '1', socketId: x.connection.socket_id }));
    x.channel('private-chat').trigger('client-hi', { from: 'x' });
    await until(() => gotY.length === 2, 'y gets both');
    await a.topics.publish(`${APP.id}/private-chat`, envelope({ event: 'after', data: '2' }));
    await until(() => gotX.length === 1 && gotY.length === 3, 'both get the last');
    expect(gotY).toEqual([{ event: 'server', data: 1 }, { event: 'client-hi', data: { from: 'x' } }, { event: 'after', data: 2 }]);
    expect(gotX).toEqual([{ event: 'after', data: 2 }]);
    expect(events.filter((e) => e.name === 'client_event')).toHaveLength(1);
    expect(events.filter((e) => e.name === 'channel_occupied')).toHaveLength(1);
  });

  it('a client that was on one node resumes on the other from its offset', async () => {
    const { a, b } = await twoNodes();
    const topic = `${APP.id}/feed`;
    for (const n of [1, 2, 3]) await a.topics.publish(topic, envelope({ event: 'tick', data: String(n) }));
    // It had offset 1 (from node a); it comes back through node b, which replays from the shared log.
    const p = client(b);
    await connected(p);
    const got: unknown[] = [];
    p.channels.add('feed', p);
    p.channel('feed').bind('tick', (d: unknown) => got.push(d));
    p.send_event('pusher:subscribe', { channel: 'feed', since: 1 });
    await until(() => got.length === 2, 'the replay');
    await a.topics.publish(topic, envelope({ event: 'tick', data: '4' }));
    await until(() => got.length === 3, 'live, published on the other node');
    expect(got).toEqual([2, 3, 4]);
  });

  it('terminateUser on one node closes the user\'s connections on the other', async () => {
    const { a, b } = await twoNodes();
    const u = client(a, { user: { id: 'u1' } });
    const v = client(a, { user: { id: 'v1' } });
    for (const p of [u, v]) {
      await connected(p);
      p.signin();
    }
    await until(() => [u, v].every((p) => (p.user as unknown as { user_data: unknown }).user_data != null), 'signed in');
    await b.pusher?.terminateUser(app, 'u1');
    await until(() => u.connection.state !== 'connected', 'u1 closed');
    expect(v.connection.state).toBe('connected');
  });

  it('subscription_count counts both nodes and reaches subscribers on both', async () => {
    const { nodes: [a, b] } = await startNodes(2, { ...pusherOptions(), pusherSubscriptionCount: true });
    const x = client(a!);
    const y = client(b!);
    const seen: Record<string, number[]> = { x: [], y: [] };
    const subX = subscribed(x, 'news');
    x.channel('news').bind('pusher:subscription_count', (d: { subscription_count: number }) => seen.x!.push(d.subscription_count));
    await subX;
    await until(() => seen.x!.at(-1) === 1, 'x told 1');
    const subY = subscribed(y, 'news');
    y.channel('news').bind('pusher:subscription_count', (d: { subscription_count: number }) => seen.y!.push(d.subscription_count));
    await subY;
    await until(() => seen.x!.at(-1) === 2 && seen.y!.at(-1) === 2, 'both told 2');
    y.unsubscribe('news');
    await until(() => seen.x!.at(-1) === 1, 'x on node A told 1 when y left node B');
    expect(seen.x).toEqual([1, 2, 1]);
  });
});
