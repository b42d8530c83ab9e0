// Pusher's rate limit on client events, with pusher-js: 10 per second per connection; past it the sender
// gets pusher:error 4301 and the event is dropped (not relayed, not stored), and the connection stays.
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { APP, client, collect, disconnectAll, pusherOptions, subscribed } from '../helpers/pusher.js';
import { sleep, until } from '../helpers/wait.js';

afterEach(() => disconnectAll());

const BURST = 30;

describe('pusher client event rate limit', () => {
  it('a burst past 10 per second: the rest refused with 4301 and dropped; the connection keeps sending after', async () => {
    const hub = await startHub(pusherOptions());
    const a = client(hub);
    const b = client(hub);
    await subscribed(a, 'private-chat');
    await subscribed(b, 'private-chat');
    const got = collect(b, 'private-chat');
    const errors: Array<{ code?: number; message?: string }> = [];
    a.bind('pusher:error', (e: { code?: number; message?: string }) => errors.push(e));
    for (let n = 0; n < BURST; n++) a.channel('private-chat').trigger('client-tick', { n });
    await until(() => got.length + errors.length === BURST, 'every event relayed or refused');
    // 10 at once, plus whatever refilled while the burst arrived (one per 100 ms).
    expect(got.length).toBeGreaterThanOrEqual(10);
    expect(got.length).toBeLessThan(BURST / 2);
    expect(got.slice(0, 10).map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(errors.every((e) => e.code === 4301 && /10 client events per second/.test(e.message ?? ''))).toBe(true);
    // Dropped means not stored either: the topic holds only what was relayed.
    const stored = await hub.topics.history(`${APP.id}/private-chat`, 0, 100);
    expect(stored.length).toBe(got.length);
    // A second later the bucket is full again.
    await sleep(1100);
    const before = got.length;
    a.channel('private-chat').trigger('client-tick', { n: 'later' });
    await until(() => got.length === before + 1, 'the next event relayed');
    expect(a.connection.state).toBe('connected');
  });
});
