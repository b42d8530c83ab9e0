// The browser client (run in Node with `ws`) against a real Hookhub across a restart: with offsets it
// recovers exactly what it missed, even on a channel without Hookbox history (history_size 0, the default).
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type Connection, type PublishFrame, type WebSocketConstructor } from '../../client/hookbox.js';
import { buildServer, type Hookhub } from '../../src/server.js';
import { testConfig } from '../helpers/config.js';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { restAuth, restful } from '../helpers/rest-key.js';

const conns: Connection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.disconnect();
  Cuttable.down = false;
  Cuttable.beforeSince = undefined;
});

const rest = async (base: string, method: string, body: Record<string, unknown>): Promise<unknown> =>
  (await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify(body) })).json();

/** REST publish to `feed` (which must exist: REST publish to a missing channel is Hookbox's error). */
async function restPublish(base: string, payload: unknown): Promise<void> {
  expect(await rest(base, 'publish', { channel_name: 'feed', payload })).toEqual([true, {}]);
}

/** `feed` made by the application, persistent: it is there while nobody is subscribed (and, with sqlite, across restarts). */
async function createFeed(base: string): Promise<void> {
  expect(await rest(base, 'create_channel', { channel_name: 'feed', persistent: true })).toEqual([true, {}]);
}

describe('client recovery with offsets (real server)', () => {
  it('gets the publishes missed across a server restart once each, marked replayed, on a channel without history', async () => {
    const dataDir = tempDir();
    const first = await startHub({ ...restful, store: 'sqlite', dataDir });
    const port = Number(new URL(first.url).port);
    await createFeed(first.url);
    const conn = connect(first.url, '', { WebSocket: WebSocket as unknown as WebSocketConstructor, transports: ['websocket'], reconnect: { initialDelay: 50, maxDelay: 200 }, payload: { name: 'alice' } });
    conns.push(conn);
    const got: PublishFrame[] = [];
    let gaps = 0;
    let subscribed = 0;
    conn.onSubscribed = (_name, sub) => {
      subscribed++;
      sub.onPublish = (f) => got.push(f);
      sub.onGap = () => gaps++;
    };
    conn.subscribe('feed');
    await until(() => (subscribed === 1 ? true : undefined), 'subscribed');
    await restPublish(first.url, 'before');
    await until(() => (got.length === 1 ? true : undefined), 'the live publish');

    await stopHub(first);
    await until(() => (!conn.connected ? true : undefined), 'disconnected');
    const second = await startHub({ ...restful, store: 'sqlite', dataDir, port });
    // Published before the client is back (the channel has no Hookbox history: history_size 0).
    await restPublish(second.url, 'missed-1');
    await restPublish(second.url, 'missed-2');
    await until(() => (got.length === 3 ? true : undefined), 'the missed publishes', 15_000);
    await restPublish(second.url, 'after');
    await until(() => (got.length === 4 ? true : undefined), 'the live publish after');
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((f) => [f.payload, f.offset, f.replayed ?? false])).toEqual([
      ['before', 1, false], ['missed-1', 2, true], ['missed-2', 3, true], ['after', 4, false],
    ]);
    expect(gaps).toBe(0);
  });

  it('a server whose log began again (memory store restarted: new epoch, offsets from 1) replays the new log; a gap is reported', async () => {
    const first = await startHub(restful);
    const port = Number(new URL(first.url).port);
    await createFeed(first.url);
    const conn = connect(first.url, '', { WebSocket: WebSocket as unknown as WebSocketConstructor, transports: ['websocket'], reconnect: { initialDelay: 50, maxDelay: 200 }, payload: { name: 'bob' } });
    conns.push(conn);
    const got: PublishFrame[] = [];
    let gaps = 0;
    conn.onSubscribed = (_name, sub) => {
      sub.onPublish = (f) => got.push(f);
      sub.onGap = () => gaps++;
    };
    conn.subscribe('feed');
    await until(() => (first.channels.node.channels.get('feed')?.members.size === 1 ? true : undefined), 'subscribed');
    for (const text of ['old-1', 'old-2', 'old-3']) await restPublish(first.url, text);
    await until(() => (got.length === 3 ? true : undefined), 'the live publishes');
    const oldEpoch = got[0]!.epoch;

    await stopHub(first);
    await until(() => (!conn.connected ? true : undefined), 'disconnected');
    // The new log gets its first message before the server listens: one the client surely missed.
    const second = await buildServer(testConfig({ ...restful, allowPrivateTargets: true }));
    try {
      for (const [method, body] of [['create_channel', { channel_name: 'feed', persistent: true }], ['publish', { channel_name: 'feed', payload: 'new-1' }]] as const) {
        const res = await second.app.inject({ method: 'POST', url: `/rest/${method}`, headers: restAuth, payload: body });
        expect(res.json()).toEqual([true, {}]);
      }
      second.url = (await second.app.listen({ port, host: '127.0.0.1' })).replace('[::1]', '127.0.0.1');
      await replayedAfterReset(second, got, () => gaps, oldEpoch);
    } finally {
      await second.close();
    }
  });

  it('a user already in the channel through another tab: what is published while it reconnects comes once, in order', async () => {
    const hub = await startHub(restful);
    // Another tab of alice keeps her in `feed`: the client, back, hears it from its CONNECT on.
    const tab = await HookboxClient.connect(hub.url, { payload: { name: 'alice' } });
    tab.send('SUBSCRIBE', { channel_name: 'feed' });
    await tab.frame('SUBSCRIBE');
    const conn = connect(hub.url, '', { WebSocket: Cuttable as unknown as WebSocketConstructor, transports: ['websocket'], reconnect: { initialDelay: 50, maxDelay: 100 }, payload: { name: 'alice' } });
    conns.push(conn);
    const got: PublishFrame[] = [];
    conn.onSubscribed = (_name, sub) => (sub.onPublish = (f) => got.push(f));
    conn.subscribe('feed');
    await until(() => (conn.connected && hub.channels.node.connectionCount === 2 ? true : undefined), 'connected');
    await restPublish(hub.url, 'p1');
    await until(() => (got.length === 1 ? true : undefined), 'the live publish');

    Cuttable.down = true;
    Cuttable.current!.terminate();
    await until(() => (!conn.connected ? true : undefined), 'disconnected');
    for (const text of ['p2', 'p3']) await restPublish(hub.url, text);
    // Back: p4 is published, and reaches the client, before the server reads its SUBSCRIBE {since: 1}.
    Cuttable.beforeSince = async (socket) => {
      await restPublish(hub.url, 'p4');
      await until(() => (socket.heard.some((text) => text.includes('"p4"')) ? true : undefined), 'p4 heard live');
    };
    Cuttable.down = false;
    await until(() => (got.some((f) => f.payload === 'p4') ? true : undefined), 'p4', 15_000);
    await restPublish(hub.url, 'p5');
    await until(() => (got.some((f) => f.payload === 'p5') ? true : undefined), 'the live publish after');
    expect(got.map((f) => [f.payload, f.offset, f.replayed ?? false])).toEqual([
      ['p1', 1, false], ['p2', 2, true], ['p3', 3, true], ['p4', 4, true], ['p5', 5, false],
    ]);
  });
});

/** A WebSocket for the client that the test can cut, keep from reconnecting, and hold a SUBSCRIBE {since} of. */
class Cuttable extends WebSocket {
  static down = false;
  static current: Cuttable | undefined;
  /** Runs before the next SUBSCRIBE {since} goes out. */
  static beforeSince: ((socket: Cuttable) => Promise<void>) | undefined;
  readonly heard: string[] = [];

  constructor(url: string) {
    super(Cuttable.down ? 'ws://127.0.0.1:1/ws' : url);
    Cuttable.current = this;
    this.on('message', (data) => this.heard.push(String(data)));
  }

  override send(data: string): void {
    const hold = Cuttable.beforeSince;
    if (hold && data.includes('"since"')) {
      Cuttable.beforeSince = undefined;
      void hold(this).then(() => super.send(data));
      return;
    }
    super.send(data);
  }
}

/** The client, back on a server whose log began again, gets new-1 replayed (once, new epoch), then new-2 live, and one gap. */
async function replayedAfterReset(second: Hookhub, got: PublishFrame[], gaps: () => number, oldEpoch: string | undefined): Promise<void> {
  await until(() => (got.length === 4 ? true : undefined), 'the new log replayed', 15_000);
  await restPublish(second.url, 'new-2');
  await until(() => (got.length === 5 ? true : undefined), 'the live publish after');
  const newEpoch = (await second.topics.bounds('feed')).epoch;
  expect(newEpoch).not.toBe(oldEpoch);
  expect(got.slice(3).map((f) => [f.payload, f.offset, f.epoch, f.replayed ?? false])).toEqual([
    ['new-1', 1, newEpoch, true], ['new-2', 2, newEpoch, false],
  ]);
  expect(gaps()).toBe(1);
}
