// Beyond Pusher: history and resume on a Pusher channel. pusher-js sends the extra subscribe fields
// through its public send_event and reads the offsets on its transport's raw frames.
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { APP, client, connected, disconnectAll, pusherOptions, type Pusher } from '../helpers/pusher.js';
import { until } from '../helpers/wait.js';
import { envelope } from '../../src/pusher/contracts.js';

afterEach(() => disconnectAll());

interface RawFrame {
  event: string;
  channel?: string;
  data?: unknown;
  offset?: number;
  epoch?: string;
}

/** The frames the client's transport receives, as sent (pusher-js drops fields it does not know). */
function rawFrames(p: Pusher): RawFrame[] {
  const frames: RawFrame[] = [];
  (p.connection.connection as unknown as { transport: { bind(e: string, fn: (m: { data: string }) => void): void } }).transport.bind('message', (m) => {
    frames.push(JSON.parse(m.data) as RawFrame);
  });
  return frames;
}

/** Subscribes through pusher-js's channel table (so its bindings work) with the extra fields. */
function subscribeWith(p: Pusher, channel: string, extra: Record<string, unknown>): void {
  p.channels.add(channel, p);
  p.send_event('pusher:subscribe', { channel, ...extra });
}

describe('pusher history and resume', () => {
  it('replays the events after `since`, then goes live, each with its offset; plain subscribers see no offsets', async () => {
    const hub = await startHub(pusherOptions());
    const topic = `${APP.id}/feed`;
    for (const n of [1, 2, 3]) await hub.topics.publish(topic, envelope({ event: 'tick', data: String(n) }));

    const p = client(hub);
    await connected(p);
    const frames = rawFrames(p);
    const got: unknown[] = [];
    subscribeWith(p, 'feed', { since: 1 });
    p.channel('feed').bind('tick', (d: unknown) => got.push(d));
    await until(() => got.length === 2, 'the replay');
    await hub.topics.publish(topic, envelope({ event: 'tick', data: '4' }));
    await until(() => got.length === 3, 'the live event');
    expect(got).toEqual([2, 3, 4]);
    const ok = frames.find((f) => f.event === 'pusher_internal:subscription_succeeded');
    expect(ok).toMatchObject({ channel: 'feed', offset: 3 });
    expect(typeof ok?.epoch).toBe('string');
    expect(frames.filter((f) => f.event === 'tick').map((f) => f.offset)).toEqual([2, 3, 4]);

    // A client that did not ask gets Pusher's frames unchanged.
    const plain = client(hub);
    await connected(plain);
    const plainFrames = rawFrames(plain);
    await new Promise((resolve) => plain.subscribe('feed').bind('pusher:subscription_succeeded', resolve));
    await hub.topics.publish(topic, envelope({ event: 'tick', data: '5' }));
    await until(() => plainFrames.some((f) => f.event === 'tick'), 'plain event');
    expect(plainFrames.find((f) => f.event === 'tick')).toEqual({ event: 'tick', channel: 'feed', data: '5' });
  });

  it('a replay larger than --subscriber-buffer paces itself to the client instead of dropping it', async () => {
    const hub = await startHub({ ...pusherOptions(), subscriberBuffer: 64 * 1024, historySize: 4000 });
    const topic = `${APP.id}/bulk`;
    // Far more than socket buffers hold on loopback: without pacing the connection is dropped as slow.
    const filler = 'x'.repeat(2000);
    for (let n = 1; n <= 4000; n++) await hub.topics.publish(topic, envelope({ event: 'row', data: JSON.stringify({ n, filler }) }));
    const p = client(hub);
    await connected(p);
    const got: number[] = [];
    let dropped = false;
    p.connection.bind('state_change', () => (dropped = true));
    subscribeWith(p, 'bulk', { since: 0 });
    p.channel('bulk').bind('row', (d: { n: number }) => got.push(d.n));
    await until(() => got.length === 4000 || dropped, 'the whole replay (or a drop)', 20_000);
    expect(dropped).toBe(false);
    expect(got).toEqual(Array.from({ length: 4000 }, (_, i) => i + 1));
  });

  it('a reconnecting client resumes exactly where it stood', async () => {
    const hub = await startHub(pusherOptions());
    const topic = `${APP.id}/private-orders`;
    const first = client(hub);
    await connected(first);
    const frames = rawFrames(first);
    subscribeWithAuth(first, 'private-orders', { offsets: true });
    await until(() => frames.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'offsets subscription');
    await hub.topics.publish(topic, envelope({ event: 'order', data: 'a' }));
    await until(() => frames.some((f) => f.event === 'order'), 'first event');
    const last = frames.filter((f) => f.event === 'order').at(-1)?.offset;
    expect(last).toBe(1);
    first.disconnect();
    // Missed while away:
    await hub.topics.publish(topic, envelope({ event: 'order', data: 'b' }));
    await hub.topics.publish(topic, envelope({ event: 'order', data: 'c' }));

    const again = client(hub);
    await connected(again);
    const got: unknown[] = [];
    subscribeWithAuth(again, 'private-orders', { since: last });
    again.channel('private-orders').bind('order', (d: unknown) => got.push(d));
    await until(() => got.length === 2, 'the missed events');
    await hub.topics.publish(topic, envelope({ event: 'order', data: 'd' }));
    await until(() => got.length === 3, 'live again');
    expect(got).toEqual(['b', 'c', 'd']);
  });
});

/** As subscribeWith, signing the private channel with the SDK (what the app's auth endpoint returns). */
function subscribeWithAuth(p: Pusher, channel: string, extra: Record<string, unknown>): void {
  const ch = p.channels.add(channel, p);
  // pusher-js's own authorizer (the helper's customHandler) signs; the frame carries the extra fields.
  (ch as unknown as { authorize(socketId: string, cb: (err: unknown, data: { auth: string }) => void): void }).authorize(p.connection.socket_id, (_err, data) => {
    p.send_event('pusher:subscribe', { channel, auth: data.auth, ...extra });
  });
}
