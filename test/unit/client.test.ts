// The browser client (client/hookbox.ts) run in Node against a real WebSocket server speaking the
// protocol (FakeHub): frames, events, reconnect with backoff, resubscribe and replay of missed publishes.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  backoffDelay,
  baseUrl,
  connect,
  missedPublishes,
  sessionIdOf,
  wsUrl,
  type CloseInfo,
  type Connection,
  type ConnectOptions,
  type ErrorFrame,
  type HistoryEntry,
  type PublishFrame,
  type Subscription,
  type WebSocketConstructor,
} from '../../client/hookbox.js';
import { until } from '../helpers/wait.js';
import { FakeHub } from './client-fake-hub.js';

const conns: Connection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.disconnect();
});

const WS = WebSocket as unknown as WebSocketConstructor;

/** A client with event logs, using `ws` as its WebSocket and only that transport. */
function client(url: string, cookie: string, options: ConnectOptions = {}) {
  const conn = connect(url, cookie, { WebSocket: WS, transports: ['websocket'], reconnect: { initialDelay: 40, maxDelay: 400 }, ...options });
  conns.push(conn);
  const log = {
    opens: 0,
    closes: [] as CloseInfo[],
    errors: [] as ErrorFrame[],
    subscribed: [] as Subscription[],
    unsubscribed: [] as string[],
    publishes: [] as PublishFrame[],
    messages: [] as unknown[],
    joins: [] as string[],
    leaves: [] as string[],
    gaps: 0,
  };
  conn.onOpen = () => log.opens++;
  conn.onClose = (info) => log.closes.push(info);
  // Lost (the client reconnects) and closed for good, in one list.
  conn.onConnectionLost = (_reason, info) => log.closes.push(info);
  conn.onError = (err) => log.errors.push(err);
  conn.onMessaged = (frame) => log.messages.push(frame);
  conn.onUnsubscribed = (sub) => log.unsubscribed.push(sub.channelName);
  conn.onSubscribed = (_channel, sub) => {
    log.subscribed.push(sub);
    sub.onPublish = (frame) => log.publishes.push(frame);
    sub.onSubscribe = (frame) => log.joins.push(frame.user);
    sub.onUnsubscribe = (frame) => log.leaves.push(frame.user);
    sub.onGap = () => log.gaps++;
  };
  return { conn, log };
}

const pub = (user: string | null, payload: unknown, datetime?: string): HistoryEntry => ['PUBLISH', { user, payload, ...(datetime ? { datetime } : {}) }];

describe('missedPublishes', () => {
  it('returns what follows the latest aligned run of what the client saw', () => {
    const local = [pub('a', 1), pub('b', 2)];
    const server = [pub('a', 1), pub('b', 2), ['SUBSCRIBE', { user: 'c' }] as HistoryEntry, pub('c', 3), pub('a', 4)];
    expect(missedPublishes(local, server)).toEqual({ missed: [pub('c', 3), pub('a', 4)], gap: false });
  });

  it('is not fooled by repeated payloads: the whole run must align', () => {
    const local = [pub(null, 7), pub(null, 0)];
    const server = [pub(null, 7), pub(null, 0), pub(null, 5), pub(null, 0)];
    expect(missedPublishes(local, server).missed).toEqual([pub(null, 5), pub(null, 0)]);
  });

  it('uses datetimes when both sides have them', () => {
    const local = [pub('a', 'x', 't1')];
    const server = [pub('a', 'x', 't1'), pub('a', 'x', 't2')];
    expect(missedPublishes(local, server).missed).toEqual([pub('a', 'x', 't2')]);
  });

  it('nothing missed when the server history ends where the client stopped', () => {
    expect(missedPublishes([pub('a', 1)], [pub('a', 1)])).toEqual({ missed: [], gap: false });
  });

  it('everything missed, without a gap, when the client had seen no publish', () => {
    expect(missedPublishes([], [pub('a', 1)])).toEqual({ missed: [pub('a', 1)], gap: false });
  });

  it('reports a gap when nothing aligns (history shorter than the outage, or lost)', () => {
    expect(missedPublishes([pub('a', 1)], [pub('b', 2), pub('b', 3)])).toEqual({ missed: [pub('b', 2), pub('b', 3)], gap: true });
  });
});

describe('backoffDelay', () => {
  it('grows by the factor from the initial delay, up to the cap', () => {
    const top = () => 1; // the jitter's highest draw: the ceiling itself
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, {}, top))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialDelay: 100, maxDelay: 1000, factor: 3 }, top))).toEqual([100, 300, 900, 1000]);
  });

  it('jitters between half and all of the ceiling', () => {
    expect(backoffDelay(2, {}, () => 0)).toBe(1000);
    expect(backoffDelay(2, {}, () => 0.5)).toBe(1500);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, {});
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});

describe('URLs', () => {
  it('takes the server base and derives /ws', () => {
    expect(baseUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(baseUrl('http://h:1/csp')).toBe('http://h:1');
    expect(baseUrl('https://h/prefix/ws')).toBe('https://h/prefix');
    expect(wsUrl('http://h:1')).toBe('ws://h:1/ws');
    expect(wsUrl('https://h/p')).toBe('wss://h/p/ws');
  });

  it('refuses what is not an http(s) URL with a clear error', () => {
    expect(() => baseUrl('ftp://h')).toThrow(/expected an http\(s\) URL/);
    expect(() => connect('not a url')).toThrow(/expected an http\(s\) URL/);
  });

  it('reads the fallback session id from a bare string or an object', () => {
    expect(sessionIdOf('abc')).toBe('abc');
    expect(sessionIdOf('"abc"')).toBe('abc');
    expect(sessionIdOf('{"session":"s1"}')).toBe('s1');
    expect(sessionIdOf('{"session_id":"s2"}')).toBe('s2');
    expect(sessionIdOf('{"other":1}')).toBeUndefined();
    expect(sessionIdOf('')).toBeUndefined();
  });
});

describe('client against a WebSocket server', () => {
  it('CONNECTs with the cookie and payload, subscribes, publishes and receives', async () => {
    const hub = await FakeHub.start();
    const { conn, log } = client(hub.url, 'user=alice', { payload: { room: 1 } });
    // Asked before the connection is up: buffered, then sent after CONNECTED, SUBSCRIBE first.
    conn.publish('news', { n: 1 });
    conn.subscribe('news');
    await until(() => log.publishes.length === 1, 'the reflected publish');
    expect(hub.received.map(([, f]) => f[1])).toEqual(['CONNECT', 'SUBSCRIBE', 'PUBLISH']);
    expect(hub.received[0]![1][2]).toEqual({ cookie: 'user=alice', payload: { room: 1 }, offsets: true });
    expect(conn.username).toBe('alice');
    expect(conn.transport).toBe('websocket');
    expect(log.opens).toBe(1);
    const sub = log.subscribed[0]!;
    expect(sub.channelName).toBe('news');
    expect(sub.presence).toEqual(['alice']);
    expect(log.publishes[0]).toMatchObject({ channel_name: 'news', user: 'alice', payload: { n: 1 } });
    expect(sub.history.at(-1)).toEqual(['PUBLISH', { user: 'alice', payload: { n: 1 }, datetime: expect.any(String) }]);
    // Frame ids increase; frames are [id, NAME, args].
    expect(hub.received.map(([, f]) => f[0])).toEqual([0, 1, 2]);
  });

  it('tracks presence and state, routes private messages, and cancels', async () => {
    const hub = await FakeHub.start();
    const a = client(hub.url, 'user=alice');
    a.conn.subscribe('room');
    await until(() => a.log.subscribed.length === 1, 'alice subscribed');
    const b = client(hub.url, 'user=bob');
    b.conn.subscribe('room');
    await until(() => a.log.joins.includes('bob'), 'alice sees bob join');
    const room = a.log.subscribed[0]!;
    expect(room.presence.sort()).toEqual(['alice', 'bob']);

    hub.setState('room', { topic: 'hi', x: 1 });
    hub.setState('room', { topic: 'bye' }, ['x']);
    await until(() => room.state.topic === 'bye', 'state updates');
    expect(room.state).toEqual({ topic: 'bye' });

    b.conn.message('alice', { text: 'psst' });
    await until(() => a.log.messages.length === 1, 'the private message');
    expect(a.log.messages[0]).toEqual({ sender: 'bob', recipient: 'alice', payload: { text: 'psst' } });

    b.log.subscribed[0]!.cancel();
    await until(() => b.log.unsubscribed.length === 1 && a.log.leaves.includes('bob'), 'bob leaves');
    expect(b.log.subscribed[0]!.canceled).toBe(true);
    expect(room.presence).toEqual(['alice']);
  });

  it('reports ERROR frames with the frame they answer', async () => {
    const hub = await FakeHub.start();
    hub.refuseSubscribe.add('secret');
    const { conn, log } = client(hub.url, 'user=alice');
    conn.subscribe('secret');
    await until(() => log.errors.length === 1, 'the error');
    expect(log.errors[0]).toEqual({ id: 1, msg: 'subscribe refused', frame: 'SUBSCRIBE', channel_name: 'secret' });
    expect(log.subscribed).toEqual([]);
  });

  it('a refused CONNECT is reported and not retried', async () => {
    const hub = await FakeHub.start();
    hub.connectAnswer = () => ({ msg: 'who are you?' });
    const { log } = client(hub.url, '');
    await until(() => log.closes.length === 1, 'the close');
    expect(log.errors).toEqual([{ id: 0, msg: 'who are you?', frame: 'CONNECT' }]);
    expect(log.closes[0]).toMatchObject({ reconnecting: false, reason: 'who are you?' });
    const attempts = hub.attempts.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.attempts.length).toBe(attempts);
    expect(log.opens).toBe(0);
  });

  it('reconnects with growing delays, resubscribes and replays what it missed', async () => {
    const hub = await FakeHub.start();
    const { conn, log } = client(hub.url, 'user=alice', { reconnect: { initialDelay: 40, maxDelay: 160 } });
    conn.subscribe('feed');
    await until(() => log.subscribed.length === 1, 'subscribed');
    hub.publish('feed', 'app', 'before-1');
    hub.publish('feed', 'app', 'before-2');
    await until(() => log.publishes.length === 2, 'live publishes');

    // The server goes away; while the client cannot get back, three messages are published.
    hub.accepting = false;
    const cutAt = Date.now();
    hub.dropAll();
    await until(() => log.closes.length === 1, 'the close event');
    expect(log.closes[0]).toMatchObject({ reconnecting: true });
    expect(conn.connected).toBe(false);
    hub.publish('feed', 'app', 'missed-1');
    hub.publish('feed', 'app', 'missed-2');
    hub.publish('feed', 'bob', 'missed-3');
    await until(() => hub.attempts.filter((t) => t > cutAt).length >= 5, 'five refused attempts');
    hub.accepting = true;
    await until(() => log.opens === 2, 'reopened');
    await until(() => log.publishes.length === 5, 'the replayed publishes');

    expect(log.publishes.map((p) => p.payload)).toEqual(['before-1', 'before-2', 'missed-1', 'missed-2', 'missed-3']);
    expect(log.publishes.slice(2).every((p) => p.replayed === true)).toBe(true);
    expect(log.publishes[4]!.user).toBe('bob');
    expect(log.subscribed).toHaveLength(1); // the same subscription object, not a second onSubscribed
    expect(log.gaps).toBe(0);
    expect(log.closes).toHaveLength(1); // refused attempts are not reported one by one

    // Delays between refused attempts: at least half the ceiling min(160, 40·2^k) (exact values are
    // backoffDelay's test; timers may only fire late on a loaded machine, so no tight upper bound).
    const after = hub.attempts.filter((t) => t > cutAt);
    const gaps = after.slice(1, 5).map((t, i) => t - after[i]!);
    const ceilings = [80, 160, 160, 160];
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(ceilings[i]! / 2 - 5));

    // Live again on the new connection; the next publish is delivered once.
    hub.publish('feed', 'app', 'after');
    await until(() => log.publishes.length === 6, 'the live publish');
    expect(log.publishes[5]).toMatchObject({ payload: 'after' });
    expect(log.publishes[5]!.replayed).toBeUndefined();
    expect(hub.framesNamed('CONNECT')).toHaveLength(2);
    expect(hub.framesNamed('SUBSCRIBE')).toHaveLength(2);
  });

  it('reports presence changes that happened while away, and a gap history cannot fill', async () => {
    const hub = await FakeHub.start({ historySize: 2 });
    const a = client(hub.url, 'user=alice');
    const b = client(hub.url, 'user=bob');
    a.conn.subscribe('room');
    await until(() => a.log.subscribed.length === 1 && b.log.opens === 1, 'alice subscribed, bob connected');
    hub.publish('room', 'app', 'seen');
    await until(() => a.log.publishes.length === 1, 'live publish');
    hub.accepting = false;
    hub.dropUser('alice');
    await until(() => a.log.closes.length === 1, 'closed');
    // bob joins while alice is away, and more is said than the 2-entry history keeps.
    b.conn.subscribe('room');
    await until(() => b.log.subscribed.length === 1, 'bob subscribed');
    for (const n of [1, 2, 3]) hub.publish('room', 'app', `lost-${n}`);
    hub.accepting = true;
    await until(() => a.log.opens === 2 && a.log.gaps === 1, 'alice back, with a gap');
    expect(a.log.joins).toEqual(['bob']);
    expect(a.log.subscribed[0]!.presence.sort()).toEqual(['alice', 'bob']);
    // What history still had is replayed anyway.
    expect(a.log.publishes.map((p) => p.payload)).toEqual(['seen', 'lost-2', 'lost-3']);
  });

  it('queues publishes while disconnected and sends them after the reconnect', async () => {
    const hub = await FakeHub.start();
    const { conn, log } = client(hub.url, 'user=alice');
    conn.subscribe('q');
    await until(() => log.subscribed.length === 1, 'subscribed');
    hub.accepting = false;
    hub.dropAll();
    await until(() => log.closes.length === 1, 'closed');
    conn.publish('q', 'while-away');
    hub.accepting = true;
    await until(() => log.publishes.some((p) => p.payload === 'while-away'), 'the queued publish');
    const names = hub.received.filter(([n]) => n === 2).map(([, f]) => f[1]);
    expect(names).toEqual(['CONNECT', 'SUBSCRIBE', 'PUBLISH']);
  });

  it('keeps SET_COOKIE cookies and sends them with the next CONNECT', async () => {
    const hub = await FakeHub.start();
    hub.setCookie = 'sid=s1; Path=/; HttpOnly';
    const { log } = client(hub.url, 'user=alice; sid=old');
    await until(() => log.opens === 1, 'open');
    hub.setCookie = undefined;
    hub.dropAll();
    await until(() => log.opens === 2, 'reopened');
    expect(hub.framesNamed('CONNECT').map((f) => f[2].cookie)).toEqual(['user=alice; sid=old', 'user=alice; sid=s1']);
  });

  it('disconnect() closes for good', async () => {
    const hub = await FakeHub.start();
    const { conn, log } = client(hub.url, 'user=alice');
    await until(() => log.opens === 1, 'open');
    conn.disconnect();
    expect(log.closes).toEqual([{ reconnecting: false, reason: 'disconnected by client' }]);
    await until(() => hub.clients === 0, 'socket closed on the server');
    const attempts = hub.attempts.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(hub.attempts.length).toBe(attempts);
  });

  it('gives up on a server that never answers CONNECT, and tries again', async () => {
    const hub = await FakeHub.start();
    hub.connectAnswer = () => null;
    const { log } = client(hub.url, 'user=alice', { openTimeout: 150 });
    await until(() => hub.framesNamed('CONNECT').length >= 2, 'a second CONNECT on a new connection');
    expect(new Set(hub.received.filter(([, f]) => f[1] === 'CONNECT').map(([n]) => n)).size).toBeGreaterThanOrEqual(2);
    expect(log.opens).toBe(0);
    hub.connectAnswer = () => ({ name: 'alice' });
    await until(() => log.opens === 1, 'open once the server answers');
  });

  it('says once when the first connection cannot be made, and keeps trying', async () => {
    const hub = await FakeHub.start();
    hub.accepting = false;
    const { log } = client(hub.url, 'user=alice');
    await until(() => hub.attempts.length >= 3, 'three attempts');
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]!.msg).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+ \(websocket\)$/);
    hub.accepting = true;
    await until(() => log.opens === 1, 'finally open');
  });
});

describe('client without any transport', () => {
  it('reports it through the handlers set after connect()', async () => {
    const conn = connect('http://127.0.0.1:9', '', { transports: [] });
    conns.push(conn);
    const errors: ErrorFrame[] = [];
    const closes: CloseInfo[] = [];
    conn.onError = (e) => errors.push(e);
    conn.onClose = (c) => closes.push(c);
    await until(() => closes.length === 1, 'the close');
    expect(errors).toEqual([{ id: null, msg: 'no transport available: neither WebSocket nor EventSource+fetch' }]);
    expect(closes[0]).toMatchObject({ reconnecting: false });
  });
});
