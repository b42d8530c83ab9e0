// A Hookbox-protocol client over a real WebSocket (the `ws` package), recording every frame.
import WebSocket from 'ws';
import { afterEach } from 'vitest';
import { until } from './wait.js';

export type Frame = [number, string, Record<string, any>];

const open = new Set<HookboxClient>();
afterEach(() => {
  for (const c of open) c.ws.terminate();
  open.clear();
});

export class HookboxClient {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  closeInfo: { code: number; reason: string } | undefined;
  private nextId = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      this.frames.push(JSON.parse(text) as Frame);
    });
    ws.on('close', (code, reason) => (this.closeInfo = { code, reason: reason.toString() }));
    ws.on('error', () => {});
  }

  static open(baseUrl: string, headers: Record<string, string> = {}): Promise<HookboxClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers });
    const client = new HookboxClient(ws);
    open.add(client);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Opens and CONNECTs; resolves with the CONNECTED name. */
  static async connect(baseUrl: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<HookboxClient> {
    const c = await HookboxClient.open(baseUrl, headers);
    c.send('CONNECT', args);
    await c.waitFor((f) => f[1] === 'CONNECTED' || f[1] === 'ERROR', 'CONNECTED');
    return c;
  }

  send(name: string, args: Record<string, unknown> = {}): number {
    const id = ++this.nextId;
    this.ws.send(JSON.stringify([id, name, args]));
    return id;
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  get name(): string | undefined {
    return this.frames.find((f) => f[1] === 'CONNECTED')?.[2].name as string | undefined;
  }

  /** The frames named `name` (optionally matching), in arrival order. */
  all(name: string, match: (args: Record<string, any>) => boolean = () => true): Frame[] {
    return this.frames.filter((f) => f[1] === name && match(f[2]));
  }

  waitFor(pred: (f: Frame) => boolean, what: string, timeoutMs = 5000): Promise<Frame> {
    return until(() => this.frames.find(pred), `${what} (frames: ${JSON.stringify(this.frames).slice(-600)})`, timeoutMs, 5);
  }

  /** Waits for the n-th frame named `name` matching (n = 1: the first). */
  async frame(name: string, match: (args: Record<string, any>) => boolean = () => true, n = 1, timeoutMs = 5000): Promise<Frame> {
    return until(() => this.all(name, match)[n - 1], `${n}× ${name} (frames: ${JSON.stringify(this.frames).slice(-600)})`, timeoutMs, 5);
  }

  /** Waits for the ERROR answering the frame with this id. */
  error(id: number, timeoutMs = 5000): Promise<Frame> {
    return this.frame('ERROR', (a) => a.id === id, 1, timeoutMs);
  }

  closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return until(() => this.closeInfo, 'websocket close', timeoutMs, 5);
  }

  close(): void {
    this.ws.close();
  }
}

/** A local web application answering Hookbox callbacks; `answer` decides per action. */
export type Answer = (action: string, fields: URLSearchParams, headers: Record<string, string | string[] | undefined>) => unknown;
