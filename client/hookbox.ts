// Hookhub browser client: Hookbox's JavaScript API (hookbox.connect → connection → subscriptions) over
// WebSocket at <url>/ws, or the HTTP fallback (EventSource on /ws/sse + POST /ws/send) when WebSocket is
// missing or cannot open. Reconnects with capped, jittered exponential backoff, re-CONNECTs, resubscribes
// and recovers the publishes it missed: exactly, by topic offset, from a Hookhub server (SUBSCRIBE
// {since}); by lining up each channel's history with a server without offsets (README, client section).
//
// Built by esbuild into client/dist/hookbox.js (global `hookbox`) and client/dist/hookbox.mjs (ES module).
// No DOM typings here: the browser globals used are declared below, and can be injected (tests, Node).

import * as logging from './logging.js';

export { logging };
export const version = '0.1.0';

/** Every frame in and out is logged here at DEBUG (the name Hookbox's client logged them under). */
const frameLog = logging.get('net.protocols.rtjp');

// ---------------------------------------------------------------------------------------------------
// Frames (DESIGN.md §3)

export type HistoryKind = 'PUBLISH' | 'SUBSCRIBE' | 'UNSUBSCRIBE';
export interface HistoryData {
  user: string | null;
  payload?: unknown;
  datetime?: string;
}
export type HistoryEntry = [HistoryKind, HistoryData];

export interface SubscribeFrame {
  channel_name: string;
  user: string;
  history?: HistoryEntry[];
  history_size?: number;
  state?: Record<string, unknown>;
  presence?: string[];
  /** Hookhub, with offsets: the channel's position (the offset of the last publish before live ones). */
  offset?: number;
  /** Hookhub, with offsets: the epoch of the topic log the offsets count in. */
  epoch?: string;
  /** Hookhub, answering SUBSCRIBE {since}: the log began again since (its publishes are replayed from the start). */
  reset?: boolean;
  /** Hookhub, answering SUBSCRIBE {since}: whether history still held every publish after it. */
  recovered?: boolean;
  /** Hookhub, answering SUBSCRIBE {since}: how many PUBLISH frames of the catch-up follow. */
  replayed?: number;
}
export interface ConnectedFrame {
  /** The user name the application gave this connection. */
  name: string;
  /** The connect payload as sent, or the application's override_payload. */
  payload?: unknown;
}
export interface PresenceFrame {
  channel_name: string;
  user: string;
  datetime?: string;
}
export interface PublishFrame {
  channel_name: string;
  user: string | null;
  payload: unknown;
  datetime?: string;
  /** True when this publish was missed while disconnected and is replayed from the channel's history. */
  replayed?: boolean;
  /** Hookhub: the publish's topic offset. */
  offset?: number;
  /** Hookhub: the epoch of the topic log that offset counts in (a new one: the log began again at 1). */
  epoch?: string;
}
export interface StateFrame {
  channel_name: string;
  updates: Record<string, unknown>;
  deletes: string[];
}
export interface MessageFrame {
  sender: string | null;
  recipient: string;
  payload: unknown;
  datetime?: string;
}
export interface ErrorFrame {
  /** The id of the client frame this answers, or null. */
  id: number | null;
  msg: string;
  /** Name of the client frame answered (CONNECT, SUBSCRIBE, …) when the client knows it. */
  frame?: string;
  channel_name?: string;
}
export interface CloseInfo {
  code?: number;
  reason?: string;
  /** True when the client will try again (after `delay` ms): given to onConnectionLost, never to onClose. */
  reconnecting: boolean;
  delay?: number;
}
/**
 * Why an open connection was lost, in Hookbox's words: the server closed it (ServerClosedConnection),
 * or it broke off (ConnectionTimeout).
 */
export type LostReason = 'ServerClosedConnection' | 'ConnectionTimeout';
/** Reported when a resubscription could not prove it saw every publish (history too short or lost). */
export interface GapFrame {
  channel_name: string;
  /** Publishes replayed anyway (everything the server's history had). */
  replayed: number;
}

// ---------------------------------------------------------------------------------------------------
// Browser globals, declared minimally (the project compiles without DOM typings)

interface MessageEventLike {
  data: unknown;
}
interface CloseEventLike {
  code?: number;
  reason?: string;
}
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: CloseEventLike) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: MessageEventLike) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: MessageEventLike) => void) | null;
  addEventListener(type: string, listener: (ev: MessageEventLike) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

interface FetchResponseLike {
  ok: boolean;
  status: number;
  type?: string;
}
export type FetchLike = (url: string, init: { method: string; mode?: string; headers: Record<string, string>; body: string }) => Promise<FetchResponseLike>;

interface BrowserGlobals {
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  fetch?: FetchLike;
  document?: { cookie?: string };
  location?: { origin?: string; protocol?: string; host?: string };
}
const browser = globalThis as unknown as BrowserGlobals;

// ---------------------------------------------------------------------------------------------------
// Options

export type TransportName = 'websocket' | 'sse';

export interface ReconnectOptions {
  /** First delay, ms (default 500). */
  initialDelay?: number;
  /** Largest delay, ms (default 15000). */
  maxDelay?: number;
  /** Growth factor per failed attempt (default 2). */
  factor?: number;
}

export interface ConnectOptions {
  /** Transports to try, in order (default ['websocket', 'sse']). */
  transports?: TransportName[];
  /** false: never reconnect. Default: reconnect with backoff. */
  reconnect?: boolean | ReconnectOptions;
  /** Extra `payload` of the CONNECT frame (passed to the application's connect callback). */
  payload?: unknown;
  /** A WebSocket, EventSource or fetch to use instead of the globals (tests, Node). */
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  fetch?: FetchLike;
  /** Give up opening a transport after this many ms (default 10000). */
  openTimeout?: number;
  /** Frames kept while disconnected before the oldest are dropped (default 1000). */
  maxQueue?: number;
}

// ---------------------------------------------------------------------------------------------------
// Transports: each delivers whole frame texts and reports open/close once.

interface TransportEvents {
  open(): void;
  frame(text: string): void;
  /** `opened` says whether open() was called before the transport ended. */
  closed(info: { opened: boolean; code?: number; reason?: string }): void;
}

interface Transport {
  readonly name: TransportName;
  send(text: string): void;
  close(): void;
}

/** http(s)://host:port[/prefix] with no trailing slash, and Hookbox's /csp or /ws suffix removed. */
export function baseUrl(url: string | undefined): string {
  let base = url && url.length > 0 ? url : (browser.location?.origin ?? '');
  if (base.startsWith('//')) base = (browser.location?.protocol ?? 'http:') + base;
  if (base.startsWith('/')) base = (browser.location?.origin ?? '') + base;
  base = base.replace(/\/+$/, '').replace(/\/(csp|ws)$/, '');
  if (!/^https?:\/\//i.test(base)) throw new Error(`hookbox.connect: expected an http(s) URL of the Hookhub server, got "${url ?? ''}"`);
  return base;
}

export function wsUrl(base: string): string {
  return base.replace(/^http/i, 'ws') + '/ws';
}

function openWebSocket(Ctor: WebSocketConstructor, base: string, timeoutMs: number, on: TransportEvents): Transport {
  let opened = false;
  let done = false;
  const socket = new Ctor(wsUrl(base));
  const finish = (info: { code?: number; reason?: string }): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    on.closed({ opened, ...info });
  };
  const timer = setTimeout(() => {
    try {
      socket.close();
    } finally {
      finish({ reason: 'open timed out' });
    }
  }, timeoutMs);
  socket.onopen = () => {
    opened = true;
    clearTimeout(timer);
    on.open();
  };
  socket.onmessage = (ev) => {
    if (typeof ev.data === 'string') on.frame(ev.data);
  };
  // An error is always followed by close; close reports it.
  socket.onerror = () => {};
  socket.onclose = (ev) => finish({ ...(ev.code !== undefined ? { code: ev.code } : {}), ...(ev.reason ? { reason: ev.reason } : {}) });
  return {
    name: 'websocket',
    send: (text) => socket.send(text),
    close: () => {
      try {
        socket.close(1000);
      } finally {
        finish({ code: 1000, reason: 'closed by client' });
      }
    },
  };
}

/** The session id carried by the fallback's first event: a bare string, or an object naming it. */
export function sessionIdOf(data: unknown): string | undefined {
  if (typeof data !== 'string' || data.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return data;
  }
  if (typeof parsed === 'string') return parsed;
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const o = parsed as Record<string, unknown>;
    for (const k of ['session', 'session_id', 'sessionId', 'sid', 'id']) if (typeof o[k] === 'string') return o[k] as string;
  }
  return undefined;
}

function openFallback(ES: EventSourceConstructor, fetchFn: FetchLike, base: string, timeoutMs: number, on: TransportEvents): Transport {
  let session: string | undefined;
  let opened = false;
  let done = false;
  // Frames go out in order, one POST at a time; what was written meanwhile (or before the session id
  // was known) goes in the next POST, as a JSON array of frames when there are several.
  let queue: string[] = [];
  let sending = false;
  // No credentials: the session id is the key, and CONNECT carries the cookie (a cross-origin stream
  // with credentials would need the server to name the page's origin).
  const source = new ES(`${base}/ws/sse`);
  const finish = (info: { code?: number; reason?: string }): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    source.onopen = source.onmessage = source.onerror = null;
    source.close();
    queue = [];
    on.closed({ opened, ...info });
  };
  const timer = setTimeout(() => finish({ reason: 'open timed out' }), timeoutMs);
  const pump = async (): Promise<void> => {
    if (sending || session === undefined) return;
    sending = true;
    try {
      while (queue.length > 0 && !done) {
        const batch = queue;
        queue = [];
        const res = await fetchFn(`${base}/ws/send?session=${encodeURIComponent(session)}`, {
          method: 'POST',
          // A "simple" request (text/plain, no-cors): no preflight from a page on another origin. Its
          // answer is then opaque; a session that ended shows on the event stream instead.
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
          body: batch.length === 1 ? batch[0]! : `[${batch.join(',')}]`,
        });
        if (res.type !== 'opaque' && !res.ok) throw new Error(`POST /ws/send answered ${res.status}`);
      }
    } catch (err) {
      finish({ reason: (err as Error).message });
    } finally {
      sending = false;
    }
  };
  const onData = (data: unknown): void => {
    if (done || typeof data !== 'string') return;
    if (session === undefined) {
      // The first event names the session: {"session": "<id>"}.
      const id = data.trimStart().startsWith('[') ? undefined : sessionIdOf(data);
      if (id === undefined) return finish({ reason: 'fallback stream did not start with a session id' });
      session = id;
      opened = true;
      clearTimeout(timer);
      on.open();
      void pump();
      return;
    }
    on.frame(data);
  };
  source.onmessage = (ev) => onData(ev.data);
  // The server's farewell: `event: close` with {code, reason}.
  source.addEventListener('close', (ev) => {
    let info: { code?: number; reason?: string } = { reason: 'closed by server' };
    try {
      const parsed = JSON.parse(String(ev.data)) as { code?: unknown; reason?: unknown };
      info = { ...(typeof parsed.code === 'number' ? { code: parsed.code } : {}), reason: typeof parsed.reason === 'string' ? parsed.reason : 'closed by server' };
    } catch {
      // no details
    }
    finish(info);
  });
  // EventSource would reconnect by itself into a new, empty session: the client reconnects instead.
  source.onerror = () => finish({ reason: 'event stream failed' });
  return {
    name: 'sse',
    send: (text) => {
      if (done) return;
      queue.push(text);
      void pump();
    },
    close: () => finish({ reason: 'closed by client' }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Subscription

const noop = (): void => {};

function entryKey(entry: HistoryEntry, withTime: boolean): string {
  const [, d] = entry;
  return JSON.stringify([d.user ?? null, d.payload === undefined ? null : d.payload, withTime ? (d.datetime ?? null) : null]);
}

/**
 * The publishes of `server` that `local` has not seen: `local` is the client's copy of the channel's
 * history (the SUBSCRIBE frame's, then every frame since); `server` is the history of a new SUBSCRIBE
 * frame. Aligns the latest run of `local` publishes found in `server`; what follows it was missed.
 * `gap` is true when nothing aligned although both sides had publishes (history shorter than the outage,
 * or lost by the server): then every server publish is returned.
 */
export function missedPublishes(local: HistoryEntry[], server: HistoryEntry[]): { missed: HistoryEntry[]; gap: boolean } {
  const mine = local.filter((e) => e[0] === 'PUBLISH');
  const theirs = server.filter((e) => e[0] === 'PUBLISH');
  if (theirs.length === 0) return { missed: [], gap: false };
  if (mine.length === 0) return { missed: theirs, gap: false };
  const withTime = mine.every((e) => e[1].datetime !== undefined) && theirs.every((e) => e[1].datetime !== undefined);
  const a = mine.map((e) => entryKey(e, withTime));
  const b = theirs.map((e) => entryKey(e, withTime));
  for (let j = b.length - 1; j >= 0; j--) {
    const run = Math.min(j + 1, a.length);
    let k = 0;
    while (k < run && a[a.length - 1 - k] === b[j - k]) k++;
    if (k === run) return { missed: theirs.slice(j + 1), gap: false };
  }
  return { missed: theirs, gap: true };
}

export class Subscription {
  readonly channelName: string;
  history: HistoryEntry[];
  historySize: number;
  state: Record<string, unknown>;
  presence: string[];
  canceled = false;
  /**
   * The topic offset of the last publish seen (Hookhub servers): a resubscription asks for exactly what
   * came after it (SUBSCRIBE {since}). Undefined with a server that sends no offsets (Hookbox).
   */
  offset: number | undefined;
  /** The epoch of the topic log `offset` counts in (Hookhub servers): sent back with `since`. */
  epoch: string | undefined;
  /** Publishes up to this offset are the catch-up of a resubscription (marked `replayed`). */
  private replayUntil: number | undefined;

  onPublish: (frame: PublishFrame) => void = noop;
  onSubscribe: (frame: PresenceFrame) => void = noop;
  onUnsubscribe: (frame: PresenceFrame) => void = noop;
  onState: (frame: StateFrame) => void = noop;
  /** Called when a resubscription could not rule out missed publishes (see GapFrame). */
  onGap: (frame: GapFrame) => void = noop;

  /** @internal */
  constructor(private readonly conn: Connection, args: SubscribeFrame) {
    this.channelName = args.channel_name;
    this.history = Array.isArray(args.history) ? args.history.slice() : [];
    this.historySize = typeof args.history_size === 'number' ? args.history_size : this.history.length;
    this.state = isRecord(args.state) ? { ...args.state } : {};
    this.presence = Array.isArray(args.presence) ? args.presence.slice() : [];
    this.offset = typeof args.offset === 'number' ? args.offset : undefined;
    this.epoch = typeof args.epoch === 'string' ? args.epoch : undefined;
  }

  /** Hookbox's snake_case name, kept for old pages. */
  get channel_name(): string {
    return this.channelName;
  }

  publish(payload: unknown): void {
    this.conn.publish(this.channelName, payload);
  }

  cancel(): void {
    if (!this.canceled) this.conn._unsubscribe(this.channelName);
  }

  /** @internal A frame for this channel. */
  _frame(name: string, args: Record<string, unknown>): void {
    switch (name) {
      case 'PUBLISH': {
        let frame = args as unknown as PublishFrame;
        if (typeof frame.offset === 'number') {
          if (typeof frame.epoch === 'string' && frame.epoch !== this.epoch) {
            // The server's log began again (e.g. its store lost it): offsets restart; earlier ones may be lost.
            if (this.epoch !== undefined && this.offset !== undefined) this.onGap({ channel_name: this.channelName, replayed: 0 });
            if (this.epoch !== undefined) this.offset = undefined;
            this.epoch = frame.epoch;
          }
          if (this.offset !== undefined && frame.offset <= this.offset) break; // seen already
          this.offset = frame.offset;
          if (this.replayUntil !== undefined && frame.offset <= this.replayUntil) frame = { ...frame, replayed: true };
        }
        this.remember(['PUBLISH', { user: frame.user ?? null, payload: frame.payload, ...(typeof frame.datetime === 'string' ? { datetime: frame.datetime } : {}) }]);
        this.onPublish(frame);
        break;
      }
      case 'SUBSCRIBE': {
        const frame = args as unknown as PresenceFrame;
        this.remember(['SUBSCRIBE', { user: frame.user }]);
        if (!this.presence.includes(frame.user)) this.presence.push(frame.user);
        this.onSubscribe(frame);
        break;
      }
      case 'UNSUBSCRIBE': {
        const frame = args as unknown as PresenceFrame;
        this.remember(['UNSUBSCRIBE', { user: frame.user }]);
        const i = this.presence.indexOf(frame.user);
        if (i >= 0) this.presence.splice(i, 1);
        this.onUnsubscribe(frame);
        break;
      }
      case 'STATE_UPDATE': {
        const frame = args as unknown as StateFrame;
        const deletes = Array.isArray(frame.deletes) ? frame.deletes : [];
        const updates = isRecord(frame.updates) ? frame.updates : {};
        for (const key of deletes) delete this.state[key];
        for (const [key, value] of Object.entries(updates)) this.state[key] = value;
        this.onState({ channel_name: this.channelName, updates, deletes });
        break;
      }
    }
  }

  /**
   * @internal A new SUBSCRIBE frame for a subscription this client already had (after a reconnect):
   * replay missed publishes, report presence and state changes, then adopt the server's view.
   */
  _resync(args: SubscribeFrame, self: string | null): void {
    this.canceled = false;
    const serverHistory = Array.isArray(args.history) ? args.history : undefined;
    if (typeof args.offset === 'number' && this.offset !== undefined) {
      // Offsets: the server replays exactly what was missed (answering SUBSCRIBE {since}); no guessing.
      if (typeof args.recovered === 'boolean') {
        this.replayUntil = args.offset;
        // A reset: the catch-up that follows is the new log from its start.
        if (args.reset === true) this.offset = 0;
        if (typeof args.epoch === 'string') this.epoch = args.epoch;
        if (!args.recovered) this.onGap({ channel_name: this.channelName, replayed: typeof args.replayed === 'number' ? args.replayed : 0 });
      }
      if (serverHistory) this.history = serverHistory.slice();
      if (typeof args.history_size === 'number') this.historySize = args.history_size;
    } else if (serverHistory) {
      const { missed, gap } = missedPublishes(this.history, serverHistory);
      if (typeof args.history_size === 'number') this.historySize = args.history_size;
      this.history = serverHistory.slice();
      for (const [, d] of missed) {
        this.onPublish({ channel_name: this.channelName, user: d.user ?? null, payload: d.payload, ...(d.datetime !== undefined ? { datetime: d.datetime } : {}), replayed: true });
      }
      if (gap) this.onGap({ channel_name: this.channelName, replayed: missed.length });
    }
    if (Array.isArray(args.presence)) {
      const before = this.presence;
      const after = args.presence.slice();
      this.presence = after;
      for (const user of after) if (user !== self && !before.includes(user)) this.onSubscribe({ channel_name: this.channelName, user });
      for (const user of before) if (user !== self && !after.includes(user)) this.onUnsubscribe({ channel_name: this.channelName, user });
    }
    if (this.offset === undefined && typeof args.offset === 'number') this.offset = args.offset;
    if (this.epoch === undefined && typeof args.epoch === 'string') this.epoch = args.epoch;
    if (isRecord(args.state)) {
      const next = args.state;
      const updates: Record<string, unknown> = {};
      const deletes = Object.keys(this.state).filter((k) => !(k in next));
      for (const [k, v] of Object.entries(next)) if (JSON.stringify(this.state[k]) !== JSON.stringify(v)) updates[k] = v;
      this.state = { ...next };
      if (deletes.length > 0 || Object.keys(updates).length > 0) this.onState({ channel_name: this.channelName, updates, deletes });
    }
  }

  private remember(entry: HistoryEntry): void {
    if (this.historySize <= 0) return;
    this.history.push(entry);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------
// Connection

/**
 * The wait before reconnection attempt `attempt` (0 for the first after a loss): a ceiling growing by
 * `factor` per failed attempt from `initialDelay`, capped at `maxDelay`, and a random point between
 * half and all of it (jitter), so that many clients cut off together do not come back in step.
 */
export function backoffDelay(attempt: number, o: ReconnectOptions = {}, random: () => number = Math.random): number {
  const initial = o.initialDelay ?? 500;
  const max = o.maxDelay ?? 15_000;
  const factor = o.factor ?? 2;
  const ceiling = Math.min(max, initial * Math.pow(factor, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

interface SentFrame {
  name: string;
  channel?: string;
  /** A SUBSCRIBE sent to restore a subscription after a reconnect. */
  resubscribe?: boolean;
}

const MAX_TRACKED = 512;

export class Connection {
  readonly url: string;
  /** The user name the application gave this connection (CONNECTED {name}). */
  username: string | null = null;
  /** True between CONNECTED and the transport closing. */
  connected = false;
  /** The transport in use (or last used). */
  transport: TransportName | null = null;

  /** CONNECTED, on the first connection and after every reconnection. */
  onOpen: (args: ConnectedFrame) => void = noop;
  /** Closed for good: disconnect(), a refused CONNECT, or no reconnecting. Not called on a reconnect. */
  onClose: (info: CloseInfo) => void = noop;
  /** An open connection was lost; the client reconnects by itself (onOpen again when it has). */
  onConnectionLost: (reason: LostReason, info: CloseInfo) => void = noop;
  onError: (err: ErrorFrame) => void = noop;
  /** `args`: the SUBSCRIBE frame (history, history_size, state, presence). */
  onSubscribed: (channelName: string, subscription: Subscription, args: SubscribeFrame) => void = noop;
  onUnsubscribed: (subscription: Subscription, frame: PresenceFrame) => void = noop;
  onMessaged: (frame: MessageFrame) => void = noop;

  /** The cookie given to connect(); when none, document.cookie is read at each CONNECT. */
  private cookie: string | undefined;
  private readonly options: ConnectOptions;
  private readonly subscriptions = new Map<string, Subscription>();
  /** Channels to (re)subscribe on every CONNECTED, in the order asked. */
  private readonly wanted = new Set<string>();
  /** Subscriptions confirmed by a SUBSCRIBE frame on the current transport. */
  private readonly confirmed = new Set<string>();
  /**
   * Resubscriptions with `since` not answered yet: the channel's PUBLISH frames until the answer are left
   * out (a user already in the channel hears it from CONNECT on; the answer's replay holds them, in order).
   */
  private readonly recovering = new Set<string>();
  private readonly sent = new Map<number, SentFrame>();
  private queue: Array<[string, Record<string, unknown>]> = [];
  private current: Transport | null = null;
  private nextId = 0;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private everConnected = false;
  private websocketWorked = false;
  private fallbackWorked = false;

  constructor(url: string | undefined, cookie?: string, options: ConnectOptions = {}) {
    this.url = baseUrl(url);
    this.cookie = cookie;
    this.options = options;
    // Opened on the next turn: the page sets its handlers (conn.onOpen = …) right after connect().
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open(0);
    }, 0);
  }

  /** The subscription to a channel, if subscribed. */
  subscription(channelName: string): Subscription | undefined {
    return this.subscriptions.get(channelName);
  }

  subscribe(channelName: string): void {
    this.wanted.add(channelName);
    if (this.connected) this.sendFrame('SUBSCRIBE', { channel_name: channelName });
  }

  publish(channelName: string, payload: unknown): void {
    this.sendOrQueue('PUBLISH', { channel_name: channelName, payload: payload === undefined ? null : payload });
  }

  message(name: string, payload: unknown): void {
    this.sendOrQueue('MESSAGE', { name, payload: payload === undefined ? null : payload });
  }

  /** Closes for good: no reconnect. */
  disconnect(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.clearHandshakeTimer();
    const transport = this.current;
    this.current = null;
    const wasConnected = this.connected;
    this.connected = false;
    this.queue = [];
    transport?.close();
    if (wasConnected || transport || this.everConnected) this.onClose({ reconnecting: false, reason: 'disconnected by client' });
  }

  /** @internal */
  _unsubscribe(channelName: string): void {
    this.wanted.delete(channelName);
    this.sendOrQueue('UNSUBSCRIBE', { channel_name: channelName });
  }

  // --- transport lifecycle

  private transportsToTry(): TransportName[] {
    const allowed = this.options.transports ?? ['websocket', 'sse'];
    const order = allowed.filter((t) => (t === 'websocket' ? this.webSocketCtor() !== undefined : this.eventSourceCtor() !== undefined && this.fetchFn() !== undefined));
    // WebSocket never opened but the fallback did: a proxy probably blocks upgrades; start with the fallback.
    if (!this.websocketWorked && this.fallbackWorked && order.includes('sse')) return ['sse', ...order.filter((t) => t !== 'sse')];
    return order;
  }

  private webSocketCtor(): WebSocketConstructor | undefined {
    return this.options.WebSocket ?? browser.WebSocket;
  }
  private eventSourceCtor(): EventSourceConstructor | undefined {
    return this.options.EventSource ?? browser.EventSource;
  }
  private fetchFn(): FetchLike | undefined {
    return this.options.fetch ?? (browser.fetch ? browser.fetch.bind(globalThis) : undefined);
  }

  private open(index: number): void {
    if (this.stopped) return;
    const order = this.transportsToTry();
    const name = order[index];
    if (name === undefined) {
      if (order.length === 0) {
        this.stopped = true;
        this.onError({ id: null, msg: 'no transport available: neither WebSocket nor EventSource+fetch' });
        this.onClose({ reconnecting: false, reason: 'no transport' });
        return;
      }
      const reason = `cannot reach ${this.url} (${order.join(', ')})`;
      // Said once: when the very first connection fails; later failed attempts stay quiet.
      if (!this.everConnected && this.attempt === 0) this.onError({ id: null, msg: reason });
      this.scheduleReconnect({ reason }, false);
      return;
    }
    const timeout = this.options.openTimeout ?? 10_000;
    const events: TransportEvents = {
      open: () => {
        if (this.current !== transport) return;
        this.transport = name;
        if (name === 'websocket') this.websocketWorked = true;
        else this.fallbackWorked = true;
        // offsets: Hookhub's PUBLISH frames carry topic offsets, so a resubscription recovers exactly.
        const args: Record<string, unknown> = { cookie: this.currentCookie(), offsets: true };
        if (this.options.payload !== undefined) args.payload = this.options.payload;
        this.sendFrame('CONNECT', args);
        // A server that takes the transport but never answers CONNECT: give up and try again.
        this.clearHandshakeTimer();
        this.handshakeTimer = setTimeout(() => {
          this.handshakeTimer = null;
          if (this.current === transport && !this.connected) transport.close();
        }, timeout);
      },
      frame: (text) => {
        if (this.current === transport) this.receive(text);
      },
      closed: (info) => {
        if (this.current !== transport) return;
        this.clearHandshakeTimer();
        this.current = null;
        const wasConnected = this.connected;
        this.connected = false;
        this.confirmed.clear();
        this.recovering.clear();
        if (!info.opened) {
          // Could not open this transport: try the next one at once.
          this.open(index + 1);
          return;
        }
        this.scheduleReconnect(info, wasConnected);
      },
    };
    let transport: Transport;
    try {
      transport =
        name === 'websocket'
          ? openWebSocket(this.webSocketCtor()!, this.url, timeout, events)
          : openFallback(this.eventSourceCtor()!, this.fetchFn()!, this.url, timeout, events);
    } catch {
      this.open(index + 1);
      return;
    }
    this.current = transport;
  }

  private currentCookie(): string {
    if (this.cookie !== undefined) return this.cookie;
    try {
      return browser.document?.cookie ?? '';
    } catch {
      return '';
    }
  }

  /**
   * SET_COOKIE {cookie}: the application's Set-Cookie, stored in the browser as Hookbox did, and in the
   * cookie string given to connect() (if any), which the next CONNECT sends.
   */
  private setCookie(cookie: string): void {
    let stored = false;
    if (browser.document) {
      try {
        browser.document.cookie = cookie;
        stored = true;
      } catch {
        // a sandboxed document: keep it in the connection's own cookie string below
      }
    }
    if (this.cookie === undefined && stored) return;
    const pair = cookie.split(';')[0]!.trim();
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq);
    const kept = (this.cookie ?? '').split(';').map((p) => p.trim()).filter((p) => p !== '' && p.slice(0, p.indexOf('=')) !== name);
    this.cookie = [...kept, pair].join('; ');
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private scheduleReconnect(info: { code?: number; reason?: string }, notify = true): void {
    const r = this.options.reconnect;
    if (r === false) {
      this.stopped = true;
      this.onClose({ ...info, reconnecting: false });
      return;
    }
    const delay = backoffDelay(this.attempt, typeof r === 'object' ? r : {});
    this.attempt++;
    if (notify) this.onConnectionLost(lostReason(info.code), { ...info, reconnecting: true, delay });
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open(0);
    }, delay);
  }

  // --- frames out

  private sendOrQueue(name: string, args: Record<string, unknown>): void {
    if (this.stopped) return;
    if (this.connected) {
      this.sendFrame(name, args);
      return;
    }
    this.queue.push([name, args]);
    const max = this.options.maxQueue ?? 1000;
    if (this.queue.length > max) {
      const [dropped] = this.queue.splice(0, this.queue.length - max);
      this.onError({ id: null, msg: `send queue full while disconnected: dropped a ${dropped?.[0] ?? 'frame'}` });
    }
  }

  private sendFrame(name: string, args: Record<string, unknown>, extra: Partial<SentFrame> = {}): number {
    const id = this.nextId++;
    const channel = typeof args.channel_name === 'string' ? args.channel_name : undefined;
    this.sent.set(id, { name, ...(channel !== undefined ? { channel } : {}), ...extra });
    if (this.sent.size > MAX_TRACKED) this.sent.delete(this.sent.keys().next().value!);
    if (frameLog.enabled(logging.DEBUG)) frameLog.debug('sendFrame', name, args);
    this.current?.send(JSON.stringify([id, name, args]));
    return id;
  }

  // --- frames in

  private receive(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!Array.isArray(frame) || typeof frame[1] !== 'string') return;
    const name = frame[1];
    const args = isRecord(frame[2]) ? frame[2] : {};
    if (frameLog.enabled(logging.DEBUG)) frameLog.debug('frameReceived', name, args);
    const channel = typeof args.channel_name === 'string' ? args.channel_name : undefined;
    switch (name) {
      case 'CONNECTED':
        this.onConnected(args);
        break;
      case 'SUBSCRIBE':
        if (channel === undefined) break;
        if (args.user === this.username) this.onOwnSubscribe(args as unknown as SubscribeFrame);
        else this.subscriptions.get(channel)?._frame(name, args);
        break;
      case 'UNSUBSCRIBE':
        if (channel === undefined) break;
        if (args.user === this.username) this.onOwnUnsubscribe(channel, args as unknown as PresenceFrame);
        else this.subscriptions.get(channel)?._frame(name, args);
        break;
      case 'PUBLISH':
        if (channel !== undefined && !this.recovering.has(channel)) this.subscriptions.get(channel)?._frame(name, args);
        break;
      case 'STATE_UPDATE':
        if (channel !== undefined) this.subscriptions.get(channel)?._frame(name, args);
        break;
      case 'MESSAGE':
        this.onMessaged(args as unknown as MessageFrame);
        break;
      case 'ERROR':
        this.onServerError(args);
        break;
      case 'SET_COOKIE':
        if (typeof args.cookie === 'string') this.setCookie(args.cookie);
        break;
    }
  }

  private onConnected(args: Record<string, unknown>): void {
    this.clearHandshakeTimer();
    this.connected = true;
    this.everConnected = true;
    this.username = typeof args.name === 'string' ? args.name : null;
    this.attempt = 0;
    for (const channel of this.wanted) {
      // A user's other connections may already have restored it (server sends SUBSCRIBE on CONNECT).
      // With an offset, ask for what came after it even when already restored.
      const known = this.subscriptions.get(channel);
      const since = known?.offset;
      if (!this.confirmed.has(channel) || since !== undefined) {
        const position = since !== undefined ? { since, ...(known?.epoch !== undefined ? { epoch: known.epoch } : {}) } : {};
        if (since !== undefined) this.recovering.add(channel);
        this.sendFrame('SUBSCRIBE', { channel_name: channel, ...position }, { resubscribe: this.subscriptions.has(channel) });
      }
    }
    const queued = this.queue;
    this.queue = [];
    for (const [name, a] of queued) this.sendFrame(name, a);
    this.onOpen({ ...args, name: this.username ?? '' } as ConnectedFrame);
  }

  private onOwnSubscribe(args: SubscribeFrame): void {
    const channel = args.channel_name;
    this.confirmed.add(channel);
    // The answer to SUBSCRIBE {since} (the one that says whether it recovered): its replay follows.
    if (typeof args.recovered === 'boolean') this.recovering.delete(channel);
    const existing = this.subscriptions.get(channel);
    if (existing) {
      existing._resync(args, this.username);
      return;
    }
    this.wanted.add(channel);
    const sub = new Subscription(this, args);
    this.subscriptions.set(channel, sub);
    this.onSubscribed(channel, sub, args);
  }

  private onOwnUnsubscribe(channel: string, frame: PresenceFrame): void {
    this.wanted.delete(channel);
    this.confirmed.delete(channel);
    this.recovering.delete(channel);
    const sub = this.subscriptions.get(channel);
    if (!sub) return;
    this.subscriptions.delete(channel);
    sub.canceled = true;
    this.onUnsubscribed(sub, frame);
  }

  private onServerError(args: Record<string, unknown>): void {
    const id = typeof args.id === 'number' ? args.id : null;
    const msg = typeof args.msg === 'string' ? args.msg : 'error';
    const sent = id !== null ? this.sent.get(id) : undefined;
    if (id !== null) this.sent.delete(id);
    const err: ErrorFrame = { id, msg, ...(sent ? { frame: sent.name } : {}), ...(sent?.channel !== undefined ? { channel_name: sent.channel } : {}) };
    if (sent?.name === 'SUBSCRIBE' && sent.channel !== undefined) {
      this.recovering.delete(sent.channel);
      // A resubscription answered by an error after the server already restored it: nothing lost.
      if (sent.resubscribe && this.confirmed.has(sent.channel)) return;
      if (!this.subscriptions.has(sent.channel)) this.wanted.delete(sent.channel);
      else if (sent.resubscribe) {
        // The application refused to restore it: the subscription is over.
        const sub = this.subscriptions.get(sent.channel)!;
        this.wanted.delete(sent.channel);
        this.subscriptions.delete(sent.channel);
        sub.canceled = true;
        this.onError(err);
        this.onUnsubscribed(sub, { channel_name: sent.channel, user: this.username ?? '' });
        return;
      }
    }
    this.onError(err);
    if (sent?.name === 'CONNECT') {
      // The application refused the connection: retrying would be refused again.
      const transport = this.current;
      this.current = null;
      this.connected = false;
      this.stopped = true;
      transport?.close();
      this.onClose({ reconnecting: false, reason: msg });
    }
  }
}

function lostReason(code: number | undefined): LostReason {
  // 1006: no close frame (the network or the server process went away).
  return code === undefined || code === 1006 ? 'ConnectionTimeout' : 'ServerClosedConnection';
}

/** A cookie string ("a=1; b=2", or empty), as opposed to a connect payload that is a string. */
function looksLikeCookie(s: string): boolean {
  return s.trim() === '' || /^[^=;\s]+=/.test(s.trim());
}

/**
 * Hookbox's entry point, in each of its forms (`url`: the server's base, http://host:port):
 * - `connect(url, cookieString)` (Hookbox 0.3.3; a string that is empty or starts with name=);
 * - `connect(url, connectPayload, cookieString)` (Hookbox 0.3.4; any other second argument, or three);
 * - `connect(url, cookieString, options)` (Hookhub: options are ConnectOptions, `payload` among them).
 * A missing or empty cookie string means document.cookie, read at each CONNECT.
 */
export function connect(url?: string, ...rest: unknown[]): Connection {
  const [second, third] = rest;
  let cookie: unknown;
  let options: ConnectOptions = {};
  if (isRecord(third)) {
    cookie = second;
    options = third as ConnectOptions;
  } else if (rest.length >= 2 || (second !== undefined && (typeof second !== 'string' || !looksLikeCookie(second)))) {
    cookie = third;
    if (second !== undefined) options = { payload: second };
  } else {
    cookie = second;
  }
  return new Connection(url, typeof cookie === 'string' && cookie !== '' ? cookie : undefined, options);
}

export default { connect, Connection, Subscription, logging, version };
