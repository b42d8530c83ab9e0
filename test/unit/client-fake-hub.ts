// A small in-test stand-in for Hookhub's /ws endpoint, speaking DESIGN.md §3's frames over a real
// WebSocket server, so the client's unit tests can cut connections, refuse them and publish while a
// client is away. Only for test/unit/client*.test.ts; the e2e tests use the real server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

type Frame = [number | null, string, Record<string, unknown>];
type HistoryEntry = [string, { user: string | null; payload?: unknown; datetime: string }];

interface Channel {
  history: HistoryEntry[];
  historySize: number;
  members: Set<WebSocket>;
  presence: Set<string>;
  state: Record<string, unknown>;
}

const open = new Set<FakeHub>();
afterEach(async () => {
  await Promise.all([...open].map((h) => h.close()));
  open.clear();
});

export class FakeHub {
  /** Every frame received, as [connection number, frame]. */
  readonly received: Array<[number, Frame]> = [];
  /** Times at which WebSocket upgrades were attempted (accepted or refused). */
  readonly attempts: number[] = [];
  /** When false, upgrades are refused (the socket is destroyed), as if the server were down. */
  accepting = true;
  /** CONNECT answers: a name, an error message, or null for no answer at all. */
  connectAnswer: (cookie: string) => { name: string } | { msg: string } | null = (cookie) => ({ name: /user=([^;]+)/.exec(cookie)?.[1] ?? 'anon' });
  /** Sent as SET_COOKIE after CONNECTED when set. */
  setCookie: string | undefined;
  /** SUBSCRIBE refusals by channel name. */
  refuseSubscribe = new Set<string>();
  readonly channels = new Map<string, Channel>();
  private readonly users = new Map<WebSocket, string>();
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private sequence = 0;

  private constructor(private readonly server: Server, private readonly wss: WebSocketServer, readonly url: string) {}

  static async start(options: { historySize?: number } = {}): Promise<FakeHub> {
    const server = createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hub = new FakeHub(server, wss, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    hub.defaultHistory = options.historySize ?? 10;
    server.on('connection', (s: Socket) => {
      hub.sockets.add(s);
      s.on('close', () => hub.sockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => {
      hub.attempts.push(Date.now());
      if (!hub.accepting || req.url !== '/ws') {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws));
    });
    open.add(hub);
    return hub;
  }

  defaultHistory = 10;

  private accept(ws: WebSocket): void {
    const n = ++this.connections;
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(data)) as Frame;
      } catch {
        this.send(ws, [null, 'ERROR', { id: null, msg: 'not JSON' }]);
        return;
      }
      this.received.push([n, frame]);
      this.handle(ws, frame);
    });
    ws.on('close', () => this.leaveAll(ws));
  }

  private send(ws: WebSocket, frame: Frame): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  private channel(name: string): Channel {
    let c = this.channels.get(name);
    if (!c) {
      c = { history: [], historySize: this.defaultHistory, members: new Set(), presence: new Set(), state: {} };
      this.channels.set(name, c);
    }
    return c;
  }

  private record(c: Channel, entry: HistoryEntry): void {
    c.history.push(entry);
    if (c.history.length > c.historySize) c.history.splice(0, c.history.length - c.historySize);
  }

  private handle(ws: WebSocket, [id, name, args]: Frame): void {
    const user = this.users.get(ws);
    if (name === 'CONNECT') {
      const answer = this.connectAnswer(String(args.cookie ?? ''));
      if (answer === null) return;
      if ('msg' in answer) return this.send(ws, [null, 'ERROR', { id, msg: answer.msg }]);
      this.users.set(ws, answer.name);
      this.send(ws, [null, 'CONNECTED', { name: answer.name }]);
      if (this.setCookie) this.send(ws, [null, 'SET_COOKIE', { cookie: this.setCookie }]);
      return;
    }
    if (user === undefined) return this.send(ws, [null, 'ERROR', { id, msg: 'not connected' }]);
    const channelName = String(args.channel_name ?? '');
    switch (name) {
      case 'SUBSCRIBE': {
        if (this.refuseSubscribe.has(channelName)) return this.send(ws, [null, 'ERROR', { id, msg: 'subscribe refused' }]);
        const c = this.channel(channelName);
        const history = c.history.slice();
        c.members.add(ws);
        if (!c.presence.has(user)) {
          c.presence.add(user);
          this.record(c, ['SUBSCRIBE', { user, datetime: this.now() }]);
          for (const m of c.members) if (m !== ws) this.send(m, [null, 'SUBSCRIBE', { channel_name: channelName, user }]);
        }
        return this.send(ws, [null, 'SUBSCRIBE', { channel_name: channelName, user, history, history_size: c.historySize, state: c.state, presence: [...c.presence] }]);
      }
      case 'UNSUBSCRIBE': {
        const c = this.channels.get(channelName);
        if (!c?.members.has(ws)) return this.send(ws, [null, 'ERROR', { id, msg: 'not subscribed' }]);
        return this.leave(ws, user, channelName, c);
      }
      case 'PUBLISH':
        return this.publish(channelName, user, args.payload);
      case 'MESSAGE':
        for (const [peer, name2] of this.users) if (name2 === args.name) this.send(peer, [null, 'MESSAGE', { sender: user, recipient: args.name, payload: args.payload }]);
        return;
      default:
        return this.send(ws, [null, 'ERROR', { id, msg: `unknown frame ${name}` }]);
    }
  }

  private now(): string {
    // Distinct, increasing datetimes, as a real server's clock would give for separate publishes.
    return new Date(Date.UTC(2026, 0, 1) + ++this.sequence).toISOString();
  }

  /** Publishes as `user` (as the REST API would): recorded in history and sent to the members. */
  publish(channelName: string, user: string | null, payload: unknown): void {
    const c = this.channel(channelName);
    const datetime = this.now();
    this.record(c, ['PUBLISH', { user, payload, datetime }]);
    for (const m of c.members) this.send(m, [null, 'PUBLISH', { channel_name: channelName, user, payload, datetime }]);
  }

  setState(channelName: string, updates: Record<string, unknown>, deletes: string[] = []): void {
    const c = this.channel(channelName);
    for (const k of deletes) delete c.state[k];
    Object.assign(c.state, updates);
    for (const m of c.members) this.send(m, [null, 'STATE_UPDATE', { channel_name: channelName, updates, deletes }]);
  }

  private leave(ws: WebSocket, user: string, channelName: string, c: Channel): void {
    c.members.delete(ws);
    if ([...c.members].some((m) => this.users.get(m) === user)) return;
    c.presence.delete(user);
    this.record(c, ['UNSUBSCRIBE', { user, datetime: this.now() }]);
    this.send(ws, [null, 'UNSUBSCRIBE', { channel_name: channelName, user }]);
    for (const m of c.members) this.send(m, [null, 'UNSUBSCRIBE', { channel_name: channelName, user }]);
  }

  private leaveAll(ws: WebSocket): void {
    const user = this.users.get(ws);
    this.users.delete(ws);
    if (user === undefined) return;
    for (const [name, c] of this.channels) if (c.members.has(ws)) this.leave(ws, user, name, c);
  }

  /** Frames of a kind received, in order. */
  framesNamed(name: string): Frame[] {
    return this.received.filter(([, f]) => f[1] === name).map(([, f]) => f);
  }

  /** Connected WebSocket clients. */
  get clients(): number {
    return this.wss.clients.size;
  }

  /** Cuts the connections of one user abruptly. */
  dropUser(user: string): void {
    for (const [ws, name] of this.users) if (name === user) ws.terminate();
  }

  /** Cuts every connection abruptly (no close frame), as a crashing server would. */
  dropAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  async close(): Promise<void> {
    open.delete(this);
    for (const ws of this.wss.clients) ws.terminate();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
