// The Pusher WebSocket (/app/<key>) with pusher-js itself: connection, public and private channels,
// signature checks, and events from the topic core (whoever published them).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import PusherServer from 'pusher';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { APP, client, collect, connected, disconnectAll, Pusher, pusherOptions, subscribed } from '../helpers/pusher.js';
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

describe('pusher private-encrypted channels', () => {
  it('signed like private; the server relays the ciphertext the SDK made, pusher-js decrypts it', async () => {
    const hub = await startHub(pusherOptions());
    const masterKey = randomBytes(32).toString('base64');
    const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, cluster: 'mt1', encryptionMasterKeyBase64: masterKey });
    const p = new Pusher(APP.key, {
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: Number(new URL(hub.url).port),
      forceTLS: false,
      enabledTransports: ['ws'],
      channelAuthorization: {
        endpoint: 'unused',
        transport: 'ajax',
        customHandler: ({ socketId, channelName }, callback) => callback(null, sdk.authorizeChannel(socketId, channelName)),
      },
    });
    try {
      const channel = p.subscribe('private-encrypted-vault');
      await new Promise((resolve, reject) => {
        channel.bind('pusher:subscription_succeeded', resolve);
        channel.bind('pusher:subscription_error', reject);
      });
      const got: unknown[] = [];
      channel.bind('secret', (d: unknown) => got.push(d));
      // The data the SDK's trigger makes for an encrypted channel ({nonce, ciphertext}), caught on its way.
      const data = await triggeredData(masterKey, 'private-encrypted-vault', 'secret', { pin: 1234 });
      expect(data).not.toContain('1234');
      await hub.topics.publish(`${APP.id}/private-encrypted-vault`, envelope({ event: 'secret', data }));
      await until(() => got.length === 1, 'the decrypted event');
      expect(got).toEqual([{ pin: 1234 }]);
      // Only the ciphertext is stored.
      const [stored] = await hub.topics.history(`${APP.id}/private-encrypted-vault`, 0, 1);
      expect(stored?.body.toString()).not.toContain('1234');
    } finally {
      p.disconnect();
    }
  });
});

/** The `data` the pusher SDK sends for one trigger, caught by a local stand-in for the HTTP API. */
async function triggeredData(masterKey: string, channel: string, event: string, payload: unknown): Promise<string> {
  let body = '';
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = String((server.address() as AddressInfo).port);
    const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port, useTLS: false, encryptionMasterKeyBase64: masterKey });
    await sdk.trigger(channel, event, payload);
    return (JSON.parse(body) as { data: string }).data;
  } finally {
    server.close();
  }
}
