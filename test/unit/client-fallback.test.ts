// The client's HTTP fallback (EventSource on /ws/sse + POST /ws/send) and its switch from WebSocket,
// run in Node against the real server (the `eventsource` package stands in for the browser's).
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect, type CloseInfo, type Connection, type ConnectOptions, type EventSourceConstructor, type PublishFrame, type WebSocketConstructor } from '../../client/hookbox.js';
import { startHub, stopHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { restAuth, restful } from '../helpers/rest-key.js';
import { freePort } from '../helpers/free-port.js';

/** A port nothing listens on (bound, then released). */
const conns: Connection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.disconnect();
});

const ES = EventSource as unknown as EventSourceConstructor;
const WS = WebSocket as unknown as WebSocketConstructor;

function client(url: string, payload: unknown, options: ConnectOptions) {
  const conn = connect(url, '', { EventSource: ES, WebSocket: WS, payload, reconnect: { initialDelay: 50, maxDelay: 200 }, ...options });
  conns.push(conn);
  const log = { opens: 0, closes: [] as CloseInfo[], publishes: [] as PublishFrame[], messages: [] as unknown[] };
  conn.onOpen = () => log.opens++;
  conn.onClose = (info) => log.closes.push(info);
  // Lost (the client reconnects) and closed for good, in one list.
  conn.onConnectionLost = (_reason, info) => log.closes.push(info);
  conn.onMessaged = (frame) => log.messages.push(frame);
  conn.onSubscribed = (_c, sub) => {
    sub.onPublish = (frame) => log.publishes.push(frame);
  };
  return { conn, log };
}

describe('client HTTP fallback against the server', () => {
  it('connects, subscribes, publishes and receives over /ws/sse + /ws/send', async () => {
    // No application: CONNECT's payload {name} names the user.
    const hub = await startHub();
    const ws = client(hub.url, { name: 'wes' }, { transports: ['websocket'] });
    ws.conn.subscribe('mixed');
    await until(() => ws.conn.subscription('mixed'), 'wes subscribed');
    const sse = client(hub.url, { name: 'ann' }, { transports: ['sse'] });
    // Frames written before the session is known go out together (one POST, a JSON array).
    sse.conn.subscribe('mixed');
    sse.conn.publish('mixed', { from: 'ann', n: 1 });
    await until(() => sse.log.opens === 1, 'ann open');
    expect(sse.conn.transport).toBe('sse');
    expect(sse.conn.username).toBe('ann');
    await until(() => sse.conn.subscription('mixed') && ws.conn.subscription('mixed'), 'both subscribed');

    ws.conn.publish('mixed', { from: 'wes' });
    sse.conn.publish('mixed', { from: 'ann', n: 2 });
    await until(() => ws.log.publishes.some((p) => (p.payload as { n?: number }).n === 2), 'ann’s second message at wes');
    await until(() => sse.log.publishes.some((p) => (p.payload as { from: string }).from === 'wes'), 'wes’s message at ann');
    expect(ws.log.publishes.map((p) => [p.user, p.payload])).toEqual([
      ['ann', { from: 'ann', n: 1 }],
      ['wes', { from: 'wes' }],
      ['ann', { from: 'ann', n: 2 }],
    ]);
    // Reflection: ann sees her own messages.
    expect(sse.log.publishes.map((p) => p.payload)).toEqual([{ from: 'ann', n: 1 }, { from: 'wes' }, { from: 'ann', n: 2 }]);

    ws.conn.message('ann', { text: 'hi' });
    await until(() => sse.log.messages.length === 1, 'the private message over the fallback');
    expect(sse.log.messages[0]).toEqual({ sender: 'wes', recipient: 'ann', payload: { text: 'hi' }, datetime: expect.any(String) });
  });

  it('falls back to the event stream when WebSocket cannot open, and reconnects after a restart', async () => {
    const hub = await startHub(restful);
    // A WebSocket that never gets through (as behind a proxy refusing upgrades): it dials a closed port.
    const closedPort = await freePort();
    const Blocked = function (this: unknown, url: string) {
      return new (WS as unknown as new (u: string) => object)(url.replace(/:\d+\/ws$/, `:${closedPort}/ws`));
    } as unknown as WebSocketConstructor;
    const { conn, log } = client(hub.url, { name: 'pat' }, { WebSocket: Blocked });
    conn.subscribe('news');
    await until(() => log.opens === 1, 'open over the fallback');
    expect(conn.transport).toBe('sse');

    const port = Number(new URL(hub.url).port);
    await stopHub(hub);
    await until(() => log.closes.length === 1, 'closed with the server');
    expect(log.closes[0]!.reconnecting).toBe(true);
    const again = await startHub({ ...restful, port });
    await until(() => log.opens === 2, 'reopened after the restart');
    // The fallback worked and WebSocket never did: the client went straight back to it.
    expect(conn.transport).toBe('sse');
    await until(() => again.channels.node.channels.get('news')?.members.size === 1, 'resubscribed');
    const res = await fetch(`${again.url}/rest/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...restAuth },
      body: JSON.stringify({ channel_name: 'news', payload: 'after restart' }),
    });
    expect(await res.json()).toEqual([true, {}]);
    await until(() => log.publishes.length === 1, 'the publish after the restart');
    expect(log.publishes[0]).toMatchObject({ channel_name: 'news', user: null, payload: 'after restart' });
  });
});
