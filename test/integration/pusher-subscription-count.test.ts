// Pusher's optional subscription_count event, with pusher-js: an app with subscriptionCount (config file
// `pusherApps`, or --pusher-subscription-count) tells the subscribers of public and private channels their
// channel's count whenever it changes; presence channels (member events instead) and other apps get none.
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { APP, client, disconnectAll, pusherOptions, subscribed, type Pusher } from '../helpers/pusher.js';
import { sleep, until } from '../helpers/wait.js';

afterEach(() => disconnectAll());

/** The subscription_count events a channel hears (pusher-js emits them as pusher:subscription_count). */
function counts(p: Pusher, channel: string): number[] {
  const got: number[] = [];
  p.channel(channel).bind('pusher:subscription_count', (d: { subscription_count: number }) => got.push(d.subscription_count));
  return got;
}

describe('pusher subscription_count', () => {
  it('tells every subscriber of a public or private channel the count as it changes (config file app)', async () => {
    const hub = await startHub({ pusherApps: [{ ...APP, clientEvents: false, subscriptionCount: true }] });
    for (const channel of ['news', 'private-news']) {
      const a = client(hub);
      const b = client(hub);
      const subA = subscribed(a, channel);
      const seenA = counts(a, channel);
      await subA;
      await until(() => seenA.at(-1) === 1, 'a told 1');
      const subB = subscribed(b, channel);
      const seenB = counts(b, channel);
      await subB;
      await until(() => seenA.at(-1) === 2 && seenB.at(-1) === 2, 'both told 2');
      b.unsubscribe(channel);
      await until(() => seenA.at(-1) === 1, 'a told 1 again');
      expect(seenA).toEqual([1, 2, 1]);
      expect(a.channel(channel).subscriptionCount).toBe(1);
    }
  });

  it('--pusher-subscription-count; none on presence channels, none for an app without it', async () => {
    const hub = await startHub({ ...pusherOptions(), pusherSubscriptionCount: true });
    const a = client(hub, { user: { id: 'a' } });
    const sub = subscribed(a, 'presence-room');
    const seen = counts(a, 'presence-room');
    await sub;
    await subscribed(client(hub, { user: { id: 'b' } }), 'presence-room');
    const marker = subscribed(a, 'marker');
    const seenMarker = counts(a, 'marker');
    await marker;
    await until(() => seenMarker.length === 1, 'the marker channel counted');
    expect(seen).toEqual([]);

    const plain = await startHub(pusherOptions());
    const c = client(plain);
    const s = subscribed(c, 'news');
    const none = counts(c, 'news');
    await s;
    await subscribed(client(plain), 'news');
    await sleep(200);
    expect(none).toEqual([]);
  });
});
