// Exact recovery: a connection that CONNECTs with {offsets: true} sees offsets on PUBLISH and SUBSCRIBE
// frames, and a SUBSCRIBE {since} gets exactly the publishes after it, right behind its SUBSCRIBE frame.
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { restAuth, restful } from '../helpers/rest-key.js';

/** REST publish (to a channel kept while nobody is in it: REST publish to a missing channel is Hookbox's error). */
async function publish(base: string, channel: string, payload: unknown): Promise<void> {
  await keepChannel(base, channel);
  const res = await fetch(`${base}/rest/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...restAuth },
    body: JSON.stringify({ channel_name: channel, payload }),
  });
  expect(await res.json()).toEqual([true, {}]);
}

/** Makes the channel persistent (created when missing), so that it outlives its subscribers. */
async function keepChannel(base: string, channel: string): Promise<void> {
  const call = (method: string) =>
    fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify({ channel_name: channel, persistent: true }) });
  const [created] = (await (await call('create_channel')).json()) as [boolean];
  if (!created) expect(await (await call('set_channel_options')).json()).toEqual([true, {}]);
}

const payloads = (c: HookboxClient, after = 0) => c.all('PUBLISH').slice(after).map((f) => [f[2].offset, f[2].payload]);

describe('channels: exact recovery with offsets', () => {
  it('a resubscription with since gets the missed publishes once, in order, then live ones', async () => {
    const hub = await startHub({ ...restful, store: 'sqlite', dataDir: (await import('../helpers/server.js')).tempDir() });
    const first = await HookboxClient.connect(hub.url, { payload: { name: 'alice' }, offsets: true });
    first.send('SUBSCRIBE', { channel_name: 'room' });
    expect((await first.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'room', offset: 0 });
    for (const n of [1, 2, 3]) await publish(hub.url, 'room', { n });
    await first.frame('PUBLISH', () => true, 3);
    expect(payloads(first)).toEqual([[1, { n: 1 }], [2, { n: 2 }], [3, { n: 3 }]]);
    first.close();
    await first.closed();
    for (const n of [4, 5]) await publish(hub.url, 'room', { n });

    const again = await HookboxClient.connect(hub.url, { payload: { name: 'alice' }, offsets: true });
    again.send('SUBSCRIBE', { channel_name: 'room', since: 3 });
    await again.frame('PUBLISH', () => true, 2);
    await publish(hub.url, 'room', { n: 6 });
    await again.frame('PUBLISH', () => true, 3);
    const names = again.frames.filter((f) => f[1] === 'SUBSCRIBE' || f[1] === 'PUBLISH').map((f) => f[1]);
    expect(names).toEqual(['SUBSCRIBE', 'PUBLISH', 'PUBLISH', 'PUBLISH']);
    expect(again.all('SUBSCRIBE')[0]![2]).toMatchObject({ offset: 5, recovered: true });
    expect(payloads(again)).toEqual([[4, { n: 4 }], [5, { n: 5 }], [6, { n: 6 }]]);
  });

  it('a log that began again (another epoch, or since past the head) is replayed from its start, marked reset', async () => {
    const hub = await startHub(restful);
    for (const n of [1, 2]) await publish(hub.url, 'room', { n });
    const epoch = (await hub.topics.bounds('room')).epoch;
    const sameLog = await HookboxClient.connect(hub.url, { payload: { name: 'same' }, offsets: true });
    sameLog.send('SUBSCRIBE', { channel_name: 'room', since: 1, epoch });
    await sameLog.frame('PUBLISH');
    expect(sameLog.all('SUBSCRIBE')[0]![2]).toMatchObject({ offset: 2, epoch, recovered: true, replayed: 1 });
    expect(sameLog.all('SUBSCRIBE')[0]![2]).not.toHaveProperty('reset');
    expect(sameLog.all('PUBLISH').map((f) => [f[2].offset, f[2].epoch])).toEqual([[2, epoch]]);
    for (const [name, position] of [['other-epoch', { since: 1, epoch: 'deadbeef' }], ['past-head', { since: 5 }]] as const) {
      const c = await HookboxClient.connect(hub.url, { payload: { name }, offsets: true });
      c.send('SUBSCRIBE', { channel_name: 'room', ...position });
      await c.frame('PUBLISH', () => true, 2);
      expect(c.all('SUBSCRIBE')[0]![2]).toMatchObject({ offset: 2, epoch, recovered: false, replayed: 2, reset: true });
      expect(c.all('PUBLISH').map((f) => [f[2].offset, f[2].epoch, f[2].payload])).toEqual([[1, epoch, { n: 1 }], [2, epoch, { n: 2 }]]);
    }
    const bad = await HookboxClient.connect(hub.url, { payload: { name: 'bad' }, offsets: true });
    const id = bad.send('SUBSCRIBE', { channel_name: 'room', since: 1, epoch: 'not an epoch!' });
    expect((await bad.error(id))[2].msg).toMatch(/epoch/);
  });

  it('history shorter than the outage: recovered false, and what history still holds', async () => {
    const hub = await startHub({ ...restful, historySize: 2 });
    for (const n of [1, 2, 3, 4]) await publish(hub.url, 'news', { n });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'bob' }, offsets: true });
    c.send('SUBSCRIBE', { channel_name: 'news', since: 1 });
    await c.frame('PUBLISH', () => true, 2);
    expect(c.all('SUBSCRIBE')[0]![2]).toMatchObject({ offset: 4, recovered: false });
    expect(payloads(c)).toEqual([[3, { n: 3 }], [4, { n: 4 }]]);
  });

  it('a non-reflective channel leaves out the subscriber’s own publishes from the replay', async () => {
    const hub = await startHub(restful);
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'carol' }, offsets: true });
    const res = await fetch(`${hub.url}/rest/create_channel`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify({ channel_name: 'quiet', reflective: false, persistent: true }),
    });
    expect(await res.json()).toEqual([true, {}]);
    c.send('SUBSCRIBE', { channel_name: 'quiet' });
    await c.frame('SUBSCRIBE');
    c.send('PUBLISH', { channel_name: 'quiet', payload: 'mine' });
    await publish(hub.url, 'quiet', 'theirs');
    await c.frame('PUBLISH');
    c.close();
    await c.closed();
    const back = await HookboxClient.connect(hub.url, { payload: { name: 'carol' }, offsets: true });
    back.send('SUBSCRIBE', { channel_name: 'quiet', since: 0 });
    await back.frame('SUBSCRIBE');
    await back.frame('PUBLISH');
    await new Promise((r) => setTimeout(r, 100));
    expect(payloads(back)).toEqual([[2, 'theirs']]);
  });

  it('without offsets the frames are Hookbox’s, and since is ignored; a bad since is an ERROR', async () => {
    const hub = await startHub(restful);
    await publish(hub.url, 'plain', 'old');
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'dave' } });
    c.send('SUBSCRIBE', { channel_name: 'plain', since: 0 });
    expect(Object.keys((await c.frame('SUBSCRIBE'))[2]).sort()).toEqual(['channel_name', 'history', 'history_size', 'presence', 'state', 'user']);
    await publish(hub.url, 'plain', 'new');
    expect((await c.frame('PUBLISH'))[2]).toEqual({ channel_name: 'plain', user: null, payload: 'new', datetime: expect.any(String) });
    expect(c.all('PUBLISH')).toHaveLength(1);
    const bad = c.send('SUBSCRIBE', { channel_name: 'plain', since: -1 });
    expect((await c.error(bad))[2].msg).toMatch(/since must be an offset/);
  });
});
