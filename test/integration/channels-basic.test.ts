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
