// Exact recovery for a user already in the channel: a tracking connection (CONNECT {offsets: true}) of a
// user whose other connection is subscribed hears the channel's publishes already; its SUBSCRIBE {since}
// must still get each publish once, in offset order — none twice while its recovery is open.
import { describe, expect, it } from 'vitest';
import { startHub, tempDir } from '../helpers/server.js';
import { holdRecoveries } from '../helpers/recovery-window.js';
import { post, range, subscribed, wire } from '../helpers/room-traffic.js';
import { HookboxClient } from '../helpers/ws-client.js';

describe.each([['memory'], ['sqlite']] as const)('channels on %s: recovery of a user already in the channel', (store) => {
  const start = () => startHub(store === 'sqlite' ? { store, dataDir: tempDir() } : {});

  it('a second connection of the user resubscribes with since while publishes come: each once, in order', async () => {
    const hub = await start();
    const first = await subscribed(hub.url, 'alice', true);
    const poster = await subscribed(hub.url, 'poster', false);
    await post(poster, 1, 3);
    const second = await HookboxClient.connect(hub.url, { payload: { name: 'alice' }, offsets: true });
    // The user is in already: the new connection is told so at once, at the channel's position.
    expect((await second.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'room', user: 'alice', offset: 3 });
    // 4..8 are published while the second connection's recovery is open.
    const window = holdRecoveries(hub, 'room', 1, () => post(poster, 4, 8));
    second.send('SUBSCRIBE', { channel_name: 'room', since: 1 });
    await window;
    await second.frame('SUBSCRIBE', (x) => x.recovered !== undefined);
    await post(poster, 9, 10);
    await second.frame('PUBLISH', (a) => a.offset === 10);
    expect(wire(second)).toEqual(['SUBSCRIBE', 'SUBSCRIBE', ...range(2, 10)]);
    expect(second.all('SUBSCRIBE')[1]![2]).toMatchObject({ offset: 8, recovered: true, replayed: 7 });
    await first.frame('PUBLISH', (a) => a.offset === 10);
    expect(wire(first)).toEqual(['SUBSCRIBE', ...range(1, 10)]);
  });

  it('two connections of a user not yet in recover at once: the one that joins second still gets its catch-up', async () => {
    const hub = await start();
    const poster = await subscribed(hub.url, 'poster', false);
    await post(poster, 1, 3);
    const one = await HookboxClient.connect(hub.url, { payload: { name: 'bob' }, offsets: true });
    const two = await HookboxClient.connect(hub.url, { payload: { name: 'bob' }, offsets: true });
    const window = holdRecoveries(hub, 'room', 2, () => post(poster, 4, 5));
    one.send('SUBSCRIBE', { channel_name: 'room', since: 1 });
    two.send('SUBSCRIBE', { channel_name: 'room', since: 2 });
    await window;
    for (const c of [one, two]) await c.frame('SUBSCRIBE', (a) => a.recovered !== undefined);
    await post(poster, 6, 6);
    for (const c of [one, two]) await c.frame('PUBLISH', (a) => a.offset === 6);
    expect(wire(one)).toEqual(['SUBSCRIBE', ...range(2, 6)]);
    expect(one.all('SUBSCRIBE')[0]![2]).toMatchObject({ offset: 5, recovered: true, replayed: 4 });
    expect(wire(two)).toEqual(['SUBSCRIBE', ...range(3, 6)]);
    expect(two.all('SUBSCRIBE')[0]![2]).toMatchObject({ offset: 5, recovered: true, replayed: 3 });
  });
});
