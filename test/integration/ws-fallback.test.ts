// The HTTP fallback: GET /ws/sse receives the frames as SSE events, POST /ws/send sends frames.
import { request, type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ChannelsApp } from '../helpers/channels-app.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient, type Frame } from '../helpers/ws-client.js';

interface SseEvent {
  event: string;
  data: string;
}

class FallbackClient {
  readonly events: SseEvent[] = [];
  ended = false;
  private nextId = 0;
  private constructor(readonly base: string, readonly res: IncomingMessage, private readonly abort: () => void) {}

  static open(base: string): Promise<FallbackClient> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}/ws/sse`, (res) => {
        const client = new FallbackClient(base, res, () => req.destroy());
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const ev: SseEvent = { event: 'message', data: '' };
            let hasData = false;
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) ev.event = line.slice(7);
              if (line.startsWith('data: ')) {
                ev.data = line.slice(6);
                hasData = true;
              }
            }
            if (hasData) client.events.push(ev);
          }
        });
        res.on('close', () => (client.ended = true));
        res.on('error', () => {});
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get session(): string {
    return (JSON.parse(this.events[0]!.data) as { session: string }).session;
  }

  get frames(): Frame[] {
    return this.events.slice(1).filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as Frame);
  }

  async post(body: string, session = this.session): Promise<Response> {
    return fetch(`${this.base}/ws/send?session=${encodeURIComponent(session)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  }

  async send(name: string, args: Record<string, unknown>): Promise<number> {
    const id = ++this.nextId;
    const res = await this.post(JSON.stringify([id, name, args]));
    expect(res.status).toBe(202);
    return id;
  }

  frame(name: string, match: (a: Record<string, any>) => boolean = () => true, n = 1): Promise<Frame> {
    return until(() => this.frames.filter((f) => f[1] === name && match(f[2]))[n - 1], `${name} over SSE (${JSON.stringify(this.events).slice(-400)})`, 5000, 5);
  }

  close(): void {
    this.abort();
  }
}

describe('HTTP fallback (/ws/sse + /ws/send)', () => {
  it('speaks the same protocol as /ws and shares channels with WebSocket clients', async () => {
    const hub = await startHub();
    const f = await FallbackClient.open(hub.url);
    await until(() => f.events.length >= 1, 'session event');
    expect(f.session).toMatch(/^[0-9a-f]{32}$/);
    expect(f.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await f.send('CONNECT', { payload: { name: 'legacy' } });
    expect((await f.frame('CONNECTED'))[2]).toEqual({ name: 'legacy', payload: { name: 'legacy' } });
    await f.send('SUBSCRIBE', { channel_name: 'mixed' });
    await f.frame('SUBSCRIBE');
    const ws = await HookboxClient.connect(hub.url, { payload: { name: 'modern' } });
    ws.send('SUBSCRIBE', { channel_name: 'mixed' });
    await ws.frame('SUBSCRIBE');
    ws.send('PUBLISH', { channel_name: 'mixed', payload: 'from ws' });
    expect((await f.frame('PUBLISH'))[2]).toEqual({ channel_name: 'mixed', user: 'modern', payload: 'from ws', datetime: expect.any(String) });
    await f.send('PUBLISH', { channel_name: 'mixed', payload: 'from sse' });
    expect((await ws.frame('PUBLISH', (a) => a.payload === 'from sse'))[2].user).toBe('legacy');
    f.close();
    await until(() => !hub.channels.node.users.has('legacy'), 'fallback user gone');
  });

  it('several frames in one POST; bad frames get ERROR events and the session stays usable', async () => {
    const hub = await startHub();
    const f = await FallbackClient.open(hub.url);
    await until(() => f.events.length >= 1, 'session event');
    expect((await f.post('not json')).status).toBe(202);
    expect((await f.frame('ERROR'))[2]).toMatchObject({ id: null, msg: expect.stringMatching(/not JSON/) });
    await f.send('PUBLISH', { channel_name: 'x', payload: 1 });
    expect((await f.frame('ERROR', (a) => a.msg === 'not connected'))[2].id).toBe(1);
    const res = await f.post(JSON.stringify([[5, 'CONNECT', { payload: { name: 'batch' } }], [6, 'SUBSCRIBE', { channel_name: 'b' }]]));
    expect(res.status).toBe(202);
    await f.frame('CONNECTED');
    expect((await f.frame('SUBSCRIBE'))[2]).toMatchObject({ channel_name: 'b', user: 'batch' });
  });

  it('frames of one POST are answered in order, an ERROR for a malformed one included', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? { raw: '[true, {"name": "slow"}]', delayMs: 150 } : [true, {}]));
    const hub = await startHub({ cbUrl: `${app.url}/hb` });
    const f = await FallbackClient.open(hub.url);
    await until(() => f.events.length >= 1, 'session event');
    const res = await f.post(JSON.stringify([[1, 'CONNECT', {}], [2, 'SUBSCRIBE', 'args should be an object'], [3, 'SUBSCRIBE', { channel_name: 'b' }]]));
    expect(res.status).toBe(202);
    await f.frame('SUBSCRIBE');
    expect(f.frames.map((fr) => (fr[1] === 'ERROR' ? `ERROR ${String(fr[2].id)}` : fr[1]))).toEqual(['CONNECTED', 'ERROR 2', 'SUBSCRIBE']);
  });

  it('an unknown session is a 404; a frame over --max-frame ends the session with code 1009', async () => {
    const hub = await startHub({ maxFrame: 512 });
    const f = await FallbackClient.open(hub.url);
    await until(() => f.events.length >= 1, 'session event');
    expect((await f.post('[1, "CONNECT", {}]', 'no-such-session')).status).toBe(404);
    const res = await f.post(JSON.stringify([1, 'CONNECT', { payload: 'x'.repeat(1000) }]));
    expect(res.status).toBe(413);
    const closing = await until(() => f.events.find((e) => e.event === 'close'), 'close event');
    expect(JSON.parse(closing.data)).toMatchObject({ code: 1009 });
    await until(() => f.ended, 'stream ended');
    expect((await f.post('[2, "CONNECT", {}]')).status).toBe(404);
  });
});
