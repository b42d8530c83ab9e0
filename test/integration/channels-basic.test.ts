import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { HookboxClient } from '../helpers/ws-client.js';

describe('browser channels without an application', () => {
  it('connects, subscribes, publishes and receives', async () => {
    const hub = await startHub();
    const a = await HookboxClient.connect(hub.url, { payload: { name: 'alice' } });
    expect(a.name).toBe('alice');
    a.send('SUBSCRIBE', { channel_name: 'room' });
    const sub = await a.frame('SUBSCRIBE');
    expect(sub[2]).toMatchObject({ channel_name: 'room', user: 'alice', history: [], history_size: 0, state: {} });
    a.send('PUBLISH', { channel_name: 'room', payload: { text: 'hi' } });
    const pub = await a.frame('PUBLISH');
    expect(pub[2]).toEqual({ channel_name: 'room', user: 'alice', payload: { text: 'hi' }, datetime: expect.any(String) });
    expect(typeof pub[0]).toBe('number');
  });
});

describe('a channel publish reaches exactly its members as membership changes', () => {
  it('a second connection of a member, a new member, a closed connection and an unsubscribe are followed at once', async () => {
    const hub = await startHub();
    const publish = async (n: number): Promise<void> => {
      const res = await fetch(`${hub.url}/api/topics/room/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
      expect(res.status).toBe(202);
    };
    const got = (c: HookboxClient, n: number): Promise<unknown> => c.frame('PUBLISH', (a) => a.channel_name === 'room' && a.payload?.n === n);
    const has = (c: HookboxClient, n: number): boolean => c.all('PUBLISH', (a) => a.payload?.n === n).length > 0;

    const a1 = await HookboxClient.connect(hub.url, { payload: { name: 'alice' } });
    a1.send('SUBSCRIBE', { channel_name: 'room' });
    await a1.frame('SUBSCRIBE');
    await publish(1);
    await got(a1, 1);
    // Alice's second connection is in the room from its CONNECT on.
    const a2 = await HookboxClient.connect(hub.url, { payload: { name: 'alice' } });
    await a2.frame('SUBSCRIBE', (a) => a.channel_name === 'room');
    await publish(2);
    await Promise.all([got(a1, 2), got(a2, 2)]);
    const b = await HookboxClient.connect(hub.url, { payload: { name: 'bob' } });
    b.send('SUBSCRIBE', { channel_name: 'room' });
    await b.frame('SUBSCRIBE');
    await publish(3);
    await Promise.all([got(a1, 3), got(a2, 3), got(b, 3)]);
    b.send('UNSUBSCRIBE', { channel_name: 'room' });
    await b.frame('UNSUBSCRIBE', (a) => a.user === 'bob');
    await publish(4);
    await Promise.all([got(a1, 4), got(a2, 4)]);
    // One of Alice's connections goes: she stays, through the other.
    a1.close();
    await publish(5);
    await got(a2, 5);
    // Bob is out: the publishes that reached Alice since have not reached him.
    expect([has(b, 4), has(b, 5)]).toEqual([false, false]);
    expect(a1.all('PUBLISH').map((f) => f[2].payload.n)).toEqual([1, 2, 3, 4]);
    expect(a2.all('PUBLISH').map((f) => f[2].payload.n)).toEqual([2, 3, 4, 5]);
    expect(b.all('PUBLISH').map((f) => f[2].payload.n)).toEqual([3]);
  });
});
