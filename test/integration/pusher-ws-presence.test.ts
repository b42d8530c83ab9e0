// Presence channels, client events, pusher:signin and terminating a user, with pusher-js; and the
// lifecycle events the node reports to its webhook sink (once per change).
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type Hookhub } from '../../src/server.js';
import type { PusherApp, PusherLifecycleEvent } from '../../src/pusher/contracts.js';
import { testConfig } from '../helpers/config.js';
import { APP, client, collect, connected, disconnectAll, pusherOptions, subscribed, type Pusher } from '../helpers/pusher.js';
import { until } from '../helpers/wait.js';

const hubs: Hookhub[] = [];
afterEach(async () => {
  disconnectAll();
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

/** A hub with the test app whose lifecycle events are recorded. */
async function hubWithSink(clientEvents = true): Promise<{ hub: Hookhub; events: PusherLifecycleEvent[] }> {
  const events: PusherLifecycleEvent[] = [];
  const hub = await startServer(testConfig(pusherOptions({ ...APP, clientEvents })), {
    pusherWebhooks: { emit: (_app: PusherApp, e: PusherLifecycleEvent) => void events.push(e) },
  });
  hubs.push(hub);
  return { hub, events };
}

interface Members {
  count: number;
  me: { id: string; info: unknown } | null;
  each(fn: (m: { id: string; info: unknown }) => void): void;
}

function memberIds(m: Members): string[] {
  const ids: string[] = [];
  m.each((x) => ids.push(x.id));
  return ids.sort();
}

describe('pusher presence and client events', () => {
  it('presence: members on subscribe, member_added/removed on a user\'s first and last connection', async () => {
    const { hub, events } = await hubWithSink();
    const alice = client(hub, { user: { id: 'alice', info: { name: 'Alice' } } });
    const first = (await subscribed(alice, 'presence-room')) as Members;
    expect(first.count).toBe(1);
    expect(first.me).toEqual({ id: 'alice', info: { name: 'Alice' } });

    const joined: string[] = [];
    const left: string[] = [];
    alice.channel('presence-room').bind('pusher:member_added', (m: { id: string }) => joined.push(m.id));
    alice.channel('presence-room').bind('pusher:member_removed', (m: { id: string }) => left.push(m.id));

    const bob1 = client(hub, { user: { id: 'bob', info: { name: 'Bob' } } });
    const seen = (await subscribed(bob1, 'presence-room')) as Members;
    expect(memberIds(seen)).toEqual(['alice', 'bob']);
    await until(() => joined.length === 1, 'member_added');
    // Bob's second connection is no new member.
    const bob2 = client(hub, { user: { id: 'bob' } });
    await subscribed(bob2, 'presence-room');
    bob1.disconnect();
    expect(await hub.pusher?.users({ ...APP, clientEvents: true }, 'presence-room')).toEqual(expect.arrayContaining(['alice', 'bob']));
    bob2.disconnect();
    await until(() => left.length === 1, 'member_removed');
    expect(joined).toEqual(['bob']);
    expect(left).toEqual(['bob']);
    expect(events.filter((e) => e.name === 'member_added' || e.name === 'member_removed')).toEqual([
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
    ]);
    expect(events.filter((e) => e.name === 'channel_occupied')).toEqual([{ name: 'channel_occupied', channel: 'presence-room' }]);
  });

  it('presence: a bad channel_data signature is an AuthError', async () => {
    const { hub } = await hubWithSink();
    const mallory = client(hub, { app: { ...APP, secret: 'guess' }, user: { id: 'mallory' } });
    const err = await subscribed(mallory, 'presence-room').then(() => undefined, (e: { data: unknown }) => e.data);
    expect(err).toMatchObject({ type: 'AuthError', status: 401 });
  });

  it('client events: to the other subscribers, never back to the sender, with user_id on presence', async () => {
    const { hub, events } = await hubWithSink();
    const a = client(hub, { user: { id: 'a' } });
    const b = client(hub, { user: { id: 'b' } });
    for (const p of [a, b]) {
      await subscribed(p, 'private-chat');
      await subscribed(p, 'presence-chat');
    }
    const gotA: unknown[] = [];
    const gotB: Array<{ data: unknown; user?: string }> = [];
    a.channel('private-chat').bind('client-typing', (d: unknown) => gotA.push(d));
    a.channel('presence-chat').bind('client-typing', (d: unknown) => gotA.push(d));
    b.channel('private-chat').bind('client-typing', (d: unknown, meta?: { user_id?: string }) => gotB.push({ data: d, ...(meta?.user_id ? { user: meta.user_id } : {}) }));
    b.channel('presence-chat').bind('client-typing', (d: unknown, meta?: { user_id?: string }) => gotB.push({ data: d, ...(meta?.user_id ? { user: meta.user_id } : {}) }));
    a.channel('private-chat').trigger('client-typing', { n: 1 });
    a.channel('presence-chat').trigger('client-typing', { n: 2 });
    await until(() => gotB.length === 2, 'client events at b');
    expect(gotB).toEqual([{ data: { n: 1 } }, { data: { n: 2 }, user: 'a' }]);
    expect(gotA).toEqual([]);
    // The topic has them too, so /stream, /sse and WebSub consumers see client events.
    const [stored] = await hub.topics.history(`${APP.id}/private-chat`, 0, 10);
    expect(JSON.parse(stored?.body.toString() ?? '{}')).toMatchObject({ event: 'client-typing', data: '{"n":1}', socket_id: a.connection.socket_id });
    expect(events.filter((e) => e.name === 'client_event')).toEqual([
      { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"n":1}', socket_id: a.connection.socket_id },
      { name: 'client_event', channel: 'presence-chat', event: 'client-typing', data: '{"n":2}', socket_id: a.connection.socket_id, user_id: 'a' },
    ]);
  });

  it('client events: refused with pusher:error on public channels and when the app does not enable them', async () => {
    for (const [clientEvents, channel] of [[true, 'public-room'], [false, 'private-room']] as const) {
      const { hub } = await hubWithSink(clientEvents);
      const a = client(hub);
      const b = client(hub);
      await subscribed(a, channel);
      await subscribed(b, channel);
      const got = collect(b, channel);
      const errors: Array<{ code?: number }> = [];
      a.bind('pusher:error', (e: { code?: number }) => errors.push(e));
      a.send_event('client-x', { n: 1 }, channel);
      await until(() => errors.length === 1, 'pusher:error');
      expect(errors[0]?.code).toBe(4301);
      expect(got).toEqual([]);
    }
  });

  it('signin, then terminateUser closes that user\'s connections only', async () => {
    const { hub } = await hubWithSink();
    const carol = client(hub, { user: { id: 'carol' } });
    const dave = client(hub, { user: { id: 'dave' } });
    for (const p of [carol, dave]) {
      await connected(p);
      p.signin();
    }
    await until(() => signedIn(carol) && signedIn(dave), 'signed in');
    await hub.pusher?.terminateUser({ ...APP, clientEvents: true }, 'carol');
    await until(() => carol.connection.state !== 'connected', 'carol disconnected');
    expect(dave.connection.state).toBe('connected');
  });

  it('signin with a bad signature closes with 4009', async () => {
    const { hub } = await hubWithSink();
    const eve = client(hub, { app: { ...APP, secret: 'nope' }, user: { id: 'eve' } });
    await connected(eve);
    // pusher:error on an open connection reaches pusher-js as {type: 'PusherError', data: {code, message}}.
    const closed = new Promise<{ data?: { code?: number } }>((resolve) => eve.connection.bind('error', resolve));
    eve.signin();
    expect((await closed).data?.code).toBe(4009);
    await until(() => eve.connection.state !== 'connected', 'closed');
  });

  it('directory: channels with their subscription and user counts; vacated once the last one leaves', async () => {
    const { hub, events } = await hubWithSink();
    const app = { ...APP, clientEvents: true };
    const a = client(hub, { user: { id: 'u1' } });
    const b = client(hub, { user: { id: 'u2' } });
    await subscribed(a, 'news');
    await subscribed(b, 'news');
    await subscribed(a, 'presence-lobby');
    await subscribed(b, 'presence-lobby');
    expect(await hub.pusher?.channels(app)).toEqual([
      { name: 'news', subscriptionCount: 2 },
      { name: 'presence-lobby', subscriptionCount: 2, userCount: 2 },
    ]);
    expect(await hub.pusher?.channels(app, 'presence-')).toEqual([{ name: 'presence-lobby', subscriptionCount: 2, userCount: 2 }]);
    expect(await hub.pusher?.channel(app, 'empty')).toEqual({ name: 'empty', subscriptionCount: 0 });
    a.unsubscribe('news');
    await until(async () => (await hub.pusher?.channel(app, 'news'))?.subscriptionCount === 1, 'one left');
    b.unsubscribe('news');
    await until(() => events.some((e) => e.name === 'channel_vacated' && e.channel === 'news'), 'vacated');
    expect(await hub.pusher?.channels(app)).toEqual([{ name: 'presence-lobby', subscriptionCount: 2, userCount: 2 }]);
  });
});

function signedIn(p: Pusher): boolean {
  return (p.user as unknown as { user_data: unknown }).user_data != null;
}
