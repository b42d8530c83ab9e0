// A client that behaves on the wire as Hookbox's own hookbox.js does (js.io RTJP over WebSocket):
// every frame it sends ends with "\r\n" and carries payloads as JSON text; what it receives is
// buffered and a frame is taken only once "\r\n" follows it, the text read as bytes (so only ASCII
// survives). Written for these tests from the protocol's description.
import WebSocket from 'ws';
import { afterEach } from 'vitest';
import { until } from './wait.js';

export type Frame = [number, string, Record<string, any>];

const open = new Set<RtjpClient>();
afterEach(() => {
  for (const c of open) c.ws.terminate();
  open.clear();
});

export class RtjpClient {
  readonly frames: Frame[] = [];
  /** Each WebSocket message as received. */
  readonly messages: string[] = [];
  /** Lines that were not a valid RTJP frame ([number, string, args]) or held non-ASCII characters. */
  readonly rejected: string[] = [];
  private buffer = '';
  private nextId = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.messages.push(text);
      this.buffer += text;
      let i: number;
      while ((i = this.buffer.indexOf('\r\n')) !== -1) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 2);
        this.line(line);
      }
    });
    ws.on('error', () => {});
  }

  static open(baseUrl: string): Promise<RtjpClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`);
    const client = new RtjpClient(ws);
    open.add(client);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** CONNECT as Hookbox 0.3.4's client does: cookie_string, and the payload as JSON text. */
  static async connect(baseUrl: string, payload: unknown, cookie = ''): Promise<RtjpClient> {
    const c = await RtjpClient.open(baseUrl);
    c.send('CONNECT', { cookie_string: cookie, payload: JSON.stringify(payload) });
    await c.frame('CONNECTED');
    return c;
  }

  /** Not yet terminated by "\r\n": what the original client would still be waiting on. */
  get pending(): string {
    return this.buffer;
  }

  send(name: string, args: Record<string, unknown> = {}): number {
    const id = ++this.nextId;
    this.ws.send(`${JSON.stringify([id, name, args])}\r\n`);
    return id;
  }

  publish(channel: string, data: unknown): number {
    return this.send('PUBLISH', { channel_name: channel, payload: JSON.stringify(data) });
  }

  all(name: string, match: (args: Record<string, any>) => boolean = () => true): Frame[] {
    return this.frames.filter((f) => f[1] === name && match(f[2]));
  }

  frame(name: string, match: (args: Record<string, any>) => boolean = () => true, n = 1): Promise<Frame> {
    return until(() => this.all(name, match)[n - 1], `${n}× ${name} (frames: ${JSON.stringify(this.frames).slice(-600)}, pending: ${this.buffer.slice(0, 200)})`, 5000, 5);
  }

  private line(line: string): void {
    // hookbox.js read WebSocket text as UTF-8 bytes: a non-ASCII character would arrive garbled.
    if (/[^\x00-\x7f]/.test(line)) return void this.rejected.push(line);
    try {
      const frame = JSON.parse(line) as unknown;
      if (Array.isArray(frame) && frame.length === 3 && typeof frame[0] === 'number' && typeof frame[1] === 'string') {
        this.frames.push(frame as Frame);
        return;
      }
    } catch {
      // rejected below
    }
    this.rejected.push(line);
  }
}
