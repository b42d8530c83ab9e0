// The Pusher WebSocket (/app/<key>) with pusher-js itself: connection, public and private channels,
// signature checks, and events from the topic core (whoever published them).
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { APP, client, collect, connected, disconnectAll, pusherOptions, subscribed } from '../helpers/pusher.js';
import { until } from '../helpers/wait.js';
import { envelope } from '../../src/pusher/contracts.js';

afterEach(() => disconnectAll());

describe('pusher /app/<key>', () => {
  it('connects pusher-js: socket_id is digits.digits', async () => {
    const hub = await startHub(pusherOptions());
    const p = client(hub);
    const socketId = await connected(p);
    expect(socketId).toMatch(/^\d+\.\d+$/);
  });

  it('refuses an unknown key with pusher:error 4001 and a close', async () => {
    const hub = await startHub(pusherOptions());
    const p = client(hub, { key: 'no-such-key' });
    // pusher-js reports the refusal as {type: 'WebSocketError', error: {type: 'PusherError', data: {code}}}.
    const error = await new Promise<{ error?: { data?: { code?: number } } }>((resolve) => p.connection.bind('error', resolve));
    expect(error.error?.data?.code).toBe(4001);
    await until(() => p.connection.state === 'failed' || p.connection.state === 'disconnected' || p.connection.state === 'unavailable', 'pusher-js gives up');
  });

  it('delivers events published on the topic to public and private subscribers, data as the string it was', async () => {
    const hub = await startHub(pusherOptions());
    const p = client(hub);
    await subscribed(p, 'orders');
    await subscribed(p, 'private-orders');
    const pub = collect(p, 'orders');
    const priv = collect(p, 'private-orders');
    await hub.topics.publish(`${APP.id}/orders`, envelope({ event: 'order.created', data: JSON.stringify({ id: 7 }) }));
    await hub.topics.publish(`${APP.id}/private-orders`, envelope({ event: 'order.paid', data: 'plain text' }));
    await until(() => pub.length === 1 && priv.length === 1, 'both events');
    expect(pub[0]).toEqual({ event: 'order.created', data: { id: 7 } });
    expect(priv[0]).toEqual({ event: 'order.paid', data: 'plain text' });
  });

  it('a message from another producer (not a Pusher event) arrives as the event "message"', async () => {
    const hub = await startHub(pusherOptions());
    const p = client(hub);
    await subscribed(p, 'news');
    const got = collect(p, 'news');
    await hub.topics.publish(`${APP.id}/news`, { contentType: 'text/plain', body: Buffer.from('hello') });
    await until(() => got.length === 1, 'the event');
    expect(got[0]).toEqual({ event: 'message', data: 'hello' });
  });

  it('refuses a private channel with a bad signature: subscription_error AuthError 401, nothing delivered', async () => {
    const hub = await startHub(pusherOptions());
    const p = client(hub, { app: { ...APP, secret: 'wrong-secret' } });
    await connected(p);
    const err = await subscribed(p, 'private-x').then(
      () => undefined,
      (e: { data: unknown }) => e.data,
    );
    expect(err).toMatchObject({ type: 'AuthError', status: 401 });
    const got = collect(p, 'private-x');
    await hub.topics.publish(`${APP.id}/private-x`, envelope({ event: 'secret', data: 'x' }));
    const witness = client(hub);
    await subscribed(witness, 'private-x');
    const seen = collect(witness, 'private-x');
    await hub.topics.publish(`${APP.id}/private-x`, envelope({ event: 'secret', data: 'y' }));
    await until(() => seen.length === 1, 'the witness gets it');
    expect(got).toEqual([]);
  });

  it('leaves out the socket_id the event names', async () => {
    const hub = await startHub(pusherOptions());
    const a = client(hub);
    const b = client(hub);
    await subscribed(a, 'room');
    await subscribed(b, 'room');
    const gotA = collect(a, 'room');
    const gotB = collect(b, 'room');
    await hub.topics.publish(`${APP.id}/room`, envelope({ event: 'e1', data: '1', socketId: a.connection.socket_id }));
    await hub.topics.publish(`${APP.id}/room`, envelope({ event: 'e2', data: '2' }));
    await until(() => gotB.length === 2 && gotA.length === 1, 'deliveries');
    expect(gotA.map((e) => e.event)).toEqual(['e2']);
  });
});
