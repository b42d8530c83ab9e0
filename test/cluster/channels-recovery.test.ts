// Exact recovery on Redis across two nodes, for a user already in the channel: the publishes come from the
// other node while a second connection of the user resubscribes with since; each reaches it once, in order.
import { describe, expect, it } from 'vitest';
import { holdRecoveries } from '../helpers/recovery-window.js';
import { post, range, subscribed, wire } from '../helpers/room-traffic.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { startNodes } from './nodes.js';

describe('cluster: recovery of a user already in the channel', () => {
  it('published on node B while a second connection on node A resubscribes with since: each once, in order', async () => {
    const { nodes: [a, b] } = await startNodes(2);
    const first = await subscribed(a!.url, 'alice', true);
    const poster = await subscribed(b!.url, 'poster', false);
    await post(poster, 1, 3);
    await first.frame('PUBLISH', (x) => x.offset === 3);
    const second = await HookboxClient.connect(a!.url, { payload: { name: 'alice' }, offsets: true });
    expect((await second.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'room', user: 'alice', offset: 3 });
    // 4..8 reach node A while the second connection's recovery is open there.
    const window = holdRecoveries(a!, 'room', 1, async () => {
      await post(poster, 4, 8);
      await first.frame('PUBLISH', (x) => x.offset === 8);
    });
    second.send('SUBSCRIBE', { channel_name: 'room', since: 1 });
    await window;
    await second.frame('SUBSCRIBE', (x) => x.recovered !== undefined);
    await post(poster, 9, 10);
    await second.frame('PUBLISH', (x) => x.offset === 10);
    expect(wire(second)).toEqual(['SUBSCRIBE', 'SUBSCRIBE', ...range(2, 10)]);
    expect(second.all('SUBSCRIBE')[1]![2]).toMatchObject({ offset: 8, recovered: true, replayed: 7 });
    await first.frame('PUBLISH', (x) => x.offset === 10);
    expect(wire(first)).toEqual(['SUBSCRIBE', ...range(1, 10)]);
  });
});
