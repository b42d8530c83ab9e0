// What the Pusher WebSocket does with input it cannot use: a pusher:error with a code, never a crash;
// and its limits (frame size, subscriptions per connection, connections). Malformed frames cannot be
// sent with pusher-js, so these use a raw WebSocket (the `ws` package).
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { APP, client, connected, disconnectAll, pusherOptions, subscribed } from '../helpers/pusher.js';
import { until } from '../helpers/wait.js';
import type { Hookhub } from '../../src/server.js';

const sockets: WebSocket[] = [];
afterEach(() => {
  disconnectAll();
  for (const ws of sockets.splice(0)) ws.terminate();
});

interface Raw {
  ws: WebSocket;
  frames: Array<{ event: string; channel?: string; data?: unknown }>;
  closed?: number;
}

async function raw(hub: Hookhub, key = APP.key, headers: Record<string, string> = {}): Promise<Raw> {
  const ws = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/app/${key}?protocol=7&client=js&version=8.4.0`, { headers });
  sockets.push(ws);
  const r: Raw = { ws, frames: [] };
  ws.on('message', (d) => r.frames.push(JSON.parse(d.toString()) as Raw['frames'][number]));
  ws.on('close', (code) => (r.closed = code));
  ws.on('error', () => {});
  await until(() => r.frames.length > 0 || r.closed !== undefined, 'first frame');
  return r;
}

describe('pusher input and limits', () => {
  it('answers each malformed frame with pusher:error and a code, and keeps serving', async () => {
    const hub = await startHub(pusherOptions());
    const c = await raw(hub);
    expect(c.frames[0]?.event).toBe('pusher:connection_established');
    const bad = [
      'not json',
      '[1,2]',
      '{"event":5}',
      '{"event":"pusher:subscribe","data":{"channel":"bad name!"}}',
      '{"event":"pusher:subscribe","data":"not an object"}',
      '{"event":"pusher:unsubscribe"}',
      '{"event":"pusher:no_such_thing","data":{}}',
      '{"event":"pusher:signin","data":{"user_data":"{}","auth":"x"}}',
    ];
    // The last one (a bad signin) closes the connection with 4009, as Pusher does.
    for (const text of bad) c.ws.send(text);
    await until(() => c.closed !== undefined, 'closed after the bad signin');
    const errors = c.frames.filter((f) => f.event === 'pusher:error').map((f) => (f.data as { code: number }).code);
    expect(errors).toEqual([4200, 4200, 4200, 4200, 4200, 4200, 4200, 4009]);
    expect(c.closed).toBe(4009);

    const d = await raw(hub);
    d.ws.send('{"event":"pusher:subscribe","data":{"channel":"x","since":-1}}');
    d.ws.send('{"event":"pusher:ping","data":{}}');
    await until(() => d.frames.some((f) => f.event === 'pusher:pong'), 'pong');
    expect(d.frames.find((f) => f.event === 'pusher:subscription_error')).toMatchObject({ channel: 'x', data: { type: 'BadRequest', status: 400 } });
  });

  it('closes a connection that sends a frame over --max-frame (1009)', async () => {
    const hub = await startHub({ ...pusherOptions(), maxFrame: 1024 });
    const c = await raw(hub);
    c.ws.send(JSON.stringify({ event: 'client-big', channel: 'private-x', data: 'x'.repeat(2000) }));
    await until(() => c.closed !== undefined, 'closed');
    expect(c.closed).toBe(1009);
  });

  it('accepts a foreign Origin (the channel signatures are the access control)', async () => {
    const hub = await startHub({ ...pusherOptions(), allowedOrigins: [] });
    const c = await raw(hub, APP.key, { origin: 'https://app.example.com' });
    expect(c.frames[0]?.event).toBe('pusher:connection_established');
  });

  it('refuses subscriptions past --max-subscriptions with subscription_error', async () => {
    const hub = await startHub({ ...pusherOptions(), maxSubscriptions: 2 });
    const p = client(hub);
    await subscribed(p, 'a');
    await subscribed(p, 'b');
    const err = await subscribed(p, 'c').then(() => undefined, (e: { data: unknown }) => e.data);
    expect(err).toMatchObject({ type: 'LimitReached', status: 429 });
  });

  it('counts its connections in --max-connections', async () => {
    const hub = await startHub({ ...pusherOptions(), maxConnections: 1 });
    const p = client(hub);
    await connected(p);
    expect(hub.connections.size).toBe(1);
    const c = await raw(hub);
    expect(c.closed).toBe(1013);
  });
});
