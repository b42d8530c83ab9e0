// Browser channels on several nodes: a channel is a topic, so publishes reach subscribers on every node.
// Presence and users stay per node (documented limitation in docs/redis.md).
import { describe, expect, it } from 'vitest';
import { HookboxClient } from '../helpers/ws-client.js';
import { startNodes } from './nodes.js';

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
    expect(got[2]).toEqual({ channel_name: 'room', user: 'alice', payload: { text: 'hi from A' } });
    const echo = await alice.frame('PUBLISH');
    expect(echo[2]).toEqual(got[2]);
  });
});
