// A node killed (SIGKILL) with presence members and subscriptions on it: the surviving node removes them
// once the dead node's lease lapses (6 s, refreshed every 2 s): member_removed to its subscribers,
// and member_removed and channel_vacated reported once, by the survivor.
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type Hookhub } from '../../src/server.js';
import type { PusherLifecycleEvent } from '../../src/pusher/contracts.js';
import { testConfig } from '../helpers/config.js';
import { spawnHub } from '../helpers/process.js';
import { APP, client, disconnectAll, pusherOptions, subscribed } from '../helpers/pusher.js';
import { REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

// The roster's lease (6 s) plus a refresh period (2 s) and some slack.
const REMOVED_WITHIN_MS = 10_000;

const hubs: Hookhub[] = [];
afterEach(async () => {
  disconnectAll();
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

describe('cluster: pusher failover', () => {
  it('the members of a killed node are removed on the survivor within the lease', async () => {
    const prefix = redisPrefix();
    const doomed = await spawnHub({
      HOOKHUB_STORE: 'redis',
      HOOKHUB_REDIS_URL: REDIS_URL,
      HOOKHUB_REDIS_PREFIX: prefix,
      HOOKHUB_PUSHER_APP_ID: APP.id,
      HOOKHUB_PUSHER_KEY: APP.key,
      HOOKHUB_PUSHER_SECRET: APP.secret,
    });
    const events: PusherLifecycleEvent[] = [];
    const survivor = await startServer(testConfig({ ...pusherOptions(), store: 'redis', redisUrl: REDIS_URL, redisPrefix: prefix }), {
      pusherWebhooks: { emit: (_app, e) => void events.push(e) },
    });
    hubs.push(survivor);

    const watcher = client(survivor, { user: { id: 'watcher' } });
    await subscribed(watcher, 'presence-room');
    const removed: string[] = [];
    watcher.channel('presence-room').bind('pusher:member_removed', (m: { id: string }) => removed.push(m.id));
    const victim = client(doomed, { user: { id: 'victim' } });
    await subscribed(victim, 'presence-room');
    await subscribed(victim, 'private-only-there');
    await until(async () => (await survivor.pusher?.users({ ...APP, clientEvents: true }, 'presence-room'))?.length === 2, 'both members');

    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();
    await until(() => removed.includes('victim'), 'member_removed for the victim', 15_000);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(REMOVED_WITHIN_MS);
    const app = { ...APP, clientEvents: true };
    expect(await survivor.pusher?.users(app, 'presence-room')).toEqual(['watcher']);
    expect(await survivor.pusher?.channels(app)).toEqual([{ name: 'presence-room', subscriptionCount: 1, userCount: 1 }]);
    await until(() => events.some((e) => e.name === 'channel_vacated'), 'vacated reported');
    expect(events.filter((e) => e.name === 'member_removed' || e.name === 'channel_vacated')).toEqual([
      { name: 'channel_vacated', channel: 'private-only-there' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'victim' },
    ]);
  }, 30_000);
});
