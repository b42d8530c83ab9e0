// --max-subscriptions: channels one /ws connection may join, topics one /stream or /sse request may
// name. Past it: ERROR (channels are not made) or 400; everything under it keeps working.
import { describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { startHub } from '../helpers/server.js';
import { HookboxClient } from '../helpers/ws-client.js';

describe('--max-subscriptions', () => {
  it('/ws: a SUBSCRIBE past the limit gets ERROR and makes no channel; unsubscribing frees a place', async () => {
    const hub = await startHub({ maxSubscriptions: 3 });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'greedy' } });
    for (const name of ['a', 'b', 'c']) {
      c.send('SUBSCRIBE', { channel_name: name });
      await c.frame('SUBSCRIBE', (a) => a.channel_name === name);
    }
    const id = c.send('SUBSCRIBE', { channel_name: 'd' });
    expect((await c.error(id))[2].msg).toMatch(/subscription limit \(3\) reached/);
    expect(hub.channels.node.channels.has('d')).toBe(false);

    // Subscribing again to a channel it is in is not a new subscription.
    c.send('SUBSCRIBE', { channel_name: 'a' });
    await c.frame('SUBSCRIBE', (a) => a.channel_name === 'a', 2);

    c.send('UNSUBSCRIBE', { channel_name: 'b' });
    await c.frame('UNSUBSCRIBE', (a) => a.channel_name === 'b');
    c.send('SUBSCRIBE', { channel_name: 'd' });
    await c.frame('SUBSCRIBE', (a) => a.channel_name === 'd');
    c.close();
  });

  for (const path of ['/stream', '/sse']) {
    it(`${path}: more topics than the limit in one request answers 400`, async () => {
      const hub = await startHub({ maxSubscriptions: 2 });
      const q = ['a', 'b', 'c'].map((t) => `topic=${t}`).join('&');
      const res = await call<{ error: string }>(`${hub.url}${path}?${q}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/at most 2 topics/);
    });
  }
});
