// Who may use the browser endpoints (/ws, /ws/sse, /ws/send): the Origin check (cross-site WebSocket
// hijacking), and with keys set, only through the application's callbacks (or --channels-open).
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChannelsApp, nameFromPayload } from '../helpers/channels-app.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

type Upgrade = { open: true; ws: WebSocket } | { open: false; status: number; body: string };

/** Tries the WebSocket handshake; a refusal comes back as the HTTP answer. */
function upgrade(base: string, headers: Record<string, string> = {}): Promise<Upgrade> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ open: true, ws }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ open: false, status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

const streams: AbortController[] = [];
afterEach(() => streams.splice(0).forEach((c) => c.abort()));

/** Opens /ws/sse and reads its first event (the session id), leaving the stream open; or the refusal. */
async function fallbackOpen(base: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; session?: string }> {
  const controller = new AbortController();
  streams.push(controller);
  const res = await fetch(`${base}/ws/sse`, { headers, signal: controller.signal });
  if (res.status !== 200) return { status: res.status, text: await res.text() };
  let text = '';
  const reader = res.body!.getReader();
  while (!/data: .*\n\n/.test(text)) text += Buffer.from((await reader.read()).value!).toString();
  const session = (JSON.parse(/data: (.*)\n/.exec(text)![1]!) as { session: string }).session;
  return { status: 200, text, session };
}

const evil = { origin: 'https://evil.example', cookie: 'session=victim' };

describe('browser endpoints: Origin', () => {
  it('a foreign Origin is refused with 403 before the handshake, on /ws, /ws/sse and /ws/send; the app is never asked', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: 'victim' }] : [true, {}]));
    const hub = await startHub({ cbUrl: app.url });
    const refused = await upgrade(hub.url, evil);
    expect(refused).toMatchObject({ open: false, status: 403 });
    expect(JSON.parse((refused as { body: string }).body).error).toMatch(/origin https:\/\/evil\.example is not allowed/);

    expect((await fallbackOpen(hub.url, evil)).status).toBe(403);
    // A session id learned elsewhere does not let a foreign page send frames.
    const { session } = await fallbackOpen(hub.url);
    const send = await fetch(`${hub.url}/ws/send?session=${session}`, { method: 'POST', headers: { ...evil, 'content-type': 'text/plain' }, body: JSON.stringify([1, 'CONNECT', {}]) });
    expect(send.status).toBe(403);
    const preflight = await fetch(`${hub.url}/ws/send`, { method: 'OPTIONS', headers: { origin: evil.origin, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    expect(app.of('connect')).toEqual([]);
  });

  it('allowed: no Origin (not a browser), the same host, --public-url, --allowed-origins; the Origin reaches the connect callback', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const hub = await startHub({ cbUrl: app.url, allowedOrigins: ['https://app.example.com'], publicUrl: 'https://hub.example.com' });
    const host = new URL(hub.url).host;
    for (const origin of [undefined, `http://${host}`, 'https://hub.example.com', 'https://APP.example.com:443']) {
      const name = `u${app.of('connect').length}`;
      const c = await HookboxClient.connect(hub.url, { payload: { name } }, origin ? { origin } : {});
      expect(c.name, String(origin)).toBe(name);
      const call = app.of('connect').at(-1)!;
      expect(call.fields.origin).toBe(origin);
    }
    // Same host name, another port: another origin.
    const otherPort = await upgrade(hub.url, { origin: `http://127.0.0.1:${Number(new URL(hub.url).port) + 1}` });
    expect(otherPort).toMatchObject({ open: false, status: 403 });
    expect((await upgrade(hub.url, { origin: 'null' }))).toMatchObject({ open: false, status: 403 });
  });

  it('the HTTP fallback passes the Origin to the connect callback too', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: 'fb' }] : [true, {}]));
    const hub = await startHub({ cbUrl: app.url, allowedOrigins: ['https://app.example.com'] });
    const headers = { origin: 'https://app.example.com' };
    const { session } = await fallbackOpen(hub.url, headers);
    const send = await fetch(`${hub.url}/ws/send?session=${session}`, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: JSON.stringify([1, 'CONNECT', {}]) });
    expect(send.status).toBe(202);
    const call = await until(() => app.of('connect')[0], 'connect callback');
    expect(call.fields.origin).toBe('https://app.example.com');
  });

  it('--allowed-origins * lets any origin in', async () => {
    const hub = await startHub({ allowedOrigins: ['*'] });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'x' } }, { origin: 'https://anywhere.example' });
    expect(c.name).toBe('x');
  });
});

describe('browser endpoints with keys set', () => {
  const keys = { apiKey: 'api-k3y', streamKey: 'stream-k3y' };

  it('without application callbacks /ws, /ws/sse and /ws/send are closed (403): nobody reads or writes a topic there', async () => {
    const hub = await startHub(keys);
    await hub.topics.publish('orders', { contentType: 'application/json', body: Buffer.from('{"secret":1}') });
    const refused = await upgrade(hub.url);
    expect(refused).toMatchObject({ open: false, status: 403 });
    expect(JSON.parse((refused as { body: string }).body).error).toMatch(/browser channels are closed.*--cb-url.*--channels-open/);
    expect((await fallbackOpen(hub.url)).status).toBe(403);
    expect((await fetch(`${hub.url}/ws/send?session=x`, { method: 'POST', body: '[]' })).status).toBe(403);
    // Either key alone closes them too.
    expect(await upgrade((await startHub({ streamKey: 's' })).url)).toMatchObject({ open: false, status: 403 });
    expect(await upgrade((await startHub({ apiKey: 'a' })).url)).toMatchObject({ open: false, status: 403 });
  });

  it('--channels-open opens them for development', async () => {
    const hub = await startHub({ ...keys, channelsOpen: true });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'dev' } });
    expect(c.name).toBe('dev');
  });

  it('with application callbacks the app decides: a refused CONNECT cannot SUBSCRIBE or PUBLISH', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [false, { msg: 'who are you?' }] : [true, {}]));
    const hub = await startHub({ ...keys, cbUrl: app.url });
    await hub.topics.publish('orders', { contentType: 'application/json', body: Buffer.from('{"secret":1}') });
    const c = await HookboxClient.connect(hub.url, { cookie: 'nobody' });
    expect(c.all('ERROR').map((f) => f[2].msg)).toEqual(['who are you?']);
    const sub = c.send('SUBSCRIBE', { channel_name: 'orders', since: 0 });
    expect((await c.error(sub))[2].msg).toBe('not connected');
    const pub = c.send('PUBLISH', { channel_name: 'orders', payload: 'x' });
    expect((await c.error(pub))[2].msg).toBe('not connected');
    expect(c.all('PUBLISH')).toEqual([]);
    expect((await hub.topics.bounds('orders')).last).toBe(1);
  });

  it('without keys (the first run on loopback) /ws stays open without callbacks', async () => {
    const hub = await startHub();
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'first' } });
    expect(c.name).toBe('first');
  });
});
