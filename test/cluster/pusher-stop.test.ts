// A clean stop of one Pusher node in a cluster: the leaves its own closing connections cause are not lost.
// With another node alive they are handed to it (it reports them as its own, with its webhooks' delay and
// confirmation, so a client that reconnects there meanwhile is never reported leaving); on the last node
// they are reported and queued before its dispatcher stops, and a node started later delivers them.
import { afterEach, describe, expect, it } from 'vitest';
import Pusher from 'pusher';
import { startServer, type Hookhub } from '../../src/server.js';
import type { PusherLifecycleEvent } from '../../src/pusher/contracts.js';
import { testConfig } from '../helpers/config.js';
import { APP, client, disconnectAll, pusherOptions, subscribed } from '../helpers/pusher.js';
import { Receiver } from '../helpers/receiver.js';
import { REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { sleep, until } from '../helpers/wait.js';

const hubs: Hookhub[] = [];
afterEach(async () => {
  disconnectAll();
  await Promise.all(hubs.splice(0).map((h) => h.close().catch(() => {})));
});

async function node(prefix: string, extra: Record<string, unknown> = {}, sink?: PusherLifecycleEvent[]): Promise<Hookhub> {
  const hub = await startServer(
    testConfig({ ...pusherOptions(), store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix, allowPrivateTargets: true, ...extra }),
    sink ? { pusherWebhooks: { emit: (_app, e) => void sink.push(e) } } : {},
  );
  hubs.push(hub);
  return hub;
}

/** The webhook events a receiver got, each request checked as the SDK checks it. */
function webhookEvents(receiver: Receiver): Array<{ name: string; channel: string; user_id?: string }> {
  const verifier = new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });
  return receiver.received.flatMap((r) => {
    const hook = verifier.webhook({ headers: r.headers as Record<string, string>, rawBody: r.body.toString('utf8') });
    expect(hook.isValid()).toBe(true);
    return hook.getEvents() as unknown as Array<{ name: string; channel: string; user_id?: string }>;
  });
}

describe('cluster: a Pusher node that stops cleanly', () => {
  it('hands its members and subscriptions to the live node, which removes and reports them', async () => {
    const prefix = redisPrefix();
    const fromA: PusherLifecycleEvent[] = [];
    const fromB: PusherLifecycleEvent[] = [];
    const a = await node(prefix, {}, fromA);
    const b = await node(prefix, {}, fromB);
    const watcher = client(b, { user: { id: 'watcher' } });
    await subscribed(watcher, 'presence-room');
    const removed: string[] = [];
    watcher.channel('presence-room').bind('pusher:member_removed', (m: { id: string }) => removed.push(m.id));
    const leaver = client(a, { user: { id: 'leaver' } });
    await subscribed(leaver, 'presence-room');
    await subscribed(leaver, 'news');
    await until(() => fromA.some((e) => e.name === 'channel_occupied' && e.channel === 'news'), 'news occupied');

    hubs.splice(hubs.indexOf(a), 1);
    await a.close();
    await until(() => removed.includes('leaver'), 'member_removed heard on the live node');
    await until(() => fromB.some((e) => e.name === 'channel_vacated'), 'vacated reported by the live node');
    expect(fromB.filter((e) => e.name === 'member_removed' || e.name === 'channel_vacated')).toEqual([
      { name: 'channel_vacated', channel: 'news' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'leaver' },
    ]);
    // The stopping node reported none of them: they are the live node's to report, once.
    expect(fromA.filter((e) => e.name === 'member_removed' || e.name === 'channel_vacated')).toEqual([]);
    expect(await b.pusher?.users({ ...APP, clientEvents: true }, 'presence-room')).toEqual(['watcher']);
  }, 20_000);

  it('a client that reconnects to the live node within the delay is never reported leaving', async () => {
    const prefix = redisPrefix();
    const receiver = await Receiver.start();
    const hooks = { pusherWebhookUrl: `${receiver.url}/hooks` };
    const a = await node(prefix, hooks);
    const b = await node(prefix, hooks);
    await subscribed(client(a, { user: { id: 'u' } }), 'presence-room');
    await until(() => webhookEvents(receiver).some((e) => e.name === 'member_added'), 'member_added');

    hubs.splice(hubs.indexOf(a), 1);
    await a.close();
    // The user's page reconnects, to the live node.
    await subscribed(client(b, { user: { id: 'u' } }), 'presence-room');
    await subscribed(client(b), 'marker');
    // The hand-over (within a refresh, 2 s) and the leave delay (3 s) have passed.
    await sleep(5500);
    await until(() => webhookEvents(receiver).some((e) => e.channel === 'marker'), 'the marker webhook');
    expect(webhookEvents(receiver).filter((e) => e.name === 'member_removed' || e.name === 'channel_vacated')).toEqual([]);
  }, 20_000);

  it('the last node reports its connections\' leaves before its dispatcher stops; a later node delivers them', async () => {
    const prefix = redisPrefix();
    const receiver = await Receiver.start();
    const hooks = { pusherWebhookUrl: `${receiver.url}/hooks` };
    const only = await node(prefix, hooks);
    const p = client(only, { user: { id: 'u' } });
    await subscribed(p, 'presence-room');
    await subscribed(p, 'news');
    await until(() => webhookEvents(receiver).filter((e) => e.name === 'channel_occupied').length === 2, 'occupied');
    hubs.splice(hubs.indexOf(only), 1);
    await only.close();
    disconnectAll();
    // Queued in Redis by the stopped node (if not already sent): the next node's dispatcher sends them.
    await node(prefix, hooks);
    const leavesOf = () => webhookEvents(receiver).filter((e) => e.name === 'member_removed' || e.name === 'channel_vacated');
    await until(() => leavesOf().length >= 3, 'the three leaves delivered', 10_000);
    await sleep(300);
    const leaves = leavesOf();
    expect(leaves).toEqual(expect.arrayContaining([
      { name: 'member_removed', channel: 'presence-room', user_id: 'u' },
      { name: 'channel_vacated', channel: 'presence-room' },
      { name: 'channel_vacated', channel: 'news' },
    ]));
    expect(leaves).toHaveLength(3);
  }, 20_000);

  it('the survivors\' subscribers hear the lower subscription_count once the stopped node\'s subscriptions are removed', async () => {
    const prefix = redisPrefix();
    const a = await node(prefix, { pusherSubscriptionCount: true });
    const b = await node(prefix, { pusherSubscriptionCount: true });
    const stays = client(b);
    const seen: number[] = [];
    const sub = subscribed(stays, 'news');
    stays.channel('news').bind('pusher:subscription_count', (d: { subscription_count: number }) => seen.push(d.subscription_count));
    await sub;
    await subscribed(client(a), 'news');
    await until(() => seen.at(-1) === 2, 'told 2');
    hubs.splice(hubs.indexOf(a), 1);
    await a.close();
    await until(() => seen.at(-1) === 1, 'told 1 after the hand-over', 6000);
    expect(seen).toEqual([1, 2, 1]);
  }, 20_000);
});
