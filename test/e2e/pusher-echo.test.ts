// Laravel Echo's browser build (with pusher-js's browser build) in Chromium against a real Hookhub:
// a page served by the "app" on its own origin, its channels authorized by the app with the `pusher` SDK,
// the WebSocket on Hookhub (a foreign origin, as with Pusher). .channel().listen(), .private(),
// .join().here().joining().leaving().
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import PusherServer from 'pusher';
import { startHub } from '../helpers/server.js';
import { APP, pusherOptions } from '../helpers/pusher.js';
import { envelope } from '../../src/pusher/contracts.js';
import { eventually, newPage } from './browser.js';

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const PUSHER_JS = readFileSync(`${modules}pusher-js/dist/web/pusher.min.js`);
const ECHO_JS = readFileSync(`${modules}laravel-echo/dist/echo.iife.js`);

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** The page: Echo on the hub, listening on a public, a private and a presence channel; what it sees goes to #log. */
function page(hubPort: number): string {
  return `<!doctype html><meta charset="utf-8"><ul id="log"></ul>
<script src="/pusher.min.js"></script><script src="/echo.iife.js"></script>
<script>
  const user = new URLSearchParams(location.search).get('user');
  const log = (line) => { const li = document.createElement('li'); li.textContent = line; document.getElementById('log').append(li); };
  window.Pusher = Pusher;
  const echo = new Echo.default({
    broadcaster: 'pusher', key: ${JSON.stringify(APP.key)}, cluster: 'mt1',
    wsHost: '127.0.0.1', wsPort: ${hubPort}, forceTLS: false, enabledTransports: ['ws'],
    authEndpoint: '/broadcasting/auth', auth: { headers: { 'X-User': user } },
  });
  echo.channel('orders').listen('.order.created', (e) => log('public ' + e.id));
  echo.private('orders').listen('.order.paid', (e) => log('private ' + e.id));
  echo.join('room')
    .here((users) => log('here ' + users.map((u) => u.name).sort().join(',')))
    .joining((u) => log('joining ' + u.name))
    .leaving((u) => log('leaving ' + u.name));
</script>`;
}

/** The application: serves the page and the two scripts, and authorizes channels as Laravel's /broadcasting/auth does. */
async function startApp(hubPort: number): Promise<string> {
  const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, cluster: 'mt1' });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/pusher.min.js' || path === '/echo.iife.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end(path === '/pusher.min.js' ? PUSHER_JS : ECHO_JS);
    }
    if (path === '/broadcasting/auth' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        const user = String(req.headers['x-user'] ?? '');
        const channel = form.get('channel_name') ?? '';
        const presence = channel.startsWith('presence-') ? { user_id: user, user_info: { name: user } } : undefined;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(sdk.authorizeChannel(form.get('socket_id') ?? '', channel, presence)));
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page(hubPort));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const logOf = (p: Awaited<ReturnType<typeof newPage>>['page']): Promise<string[]> => p.$$eval('#log li', (els) => els.map((e) => e.textContent ?? ''));

describe('Laravel Echo in Chromium', () => {
  it('public and private events, presence here/joining/leaving', async () => {
    const hub = await startHub(pusherOptions());
    const appUrl = await startApp(Number(new URL(hub.url).port));
    const alice = await newPage();
    await alice.page.goto(`${appUrl}/?user=alice`);
    await eventually(() => logOf(alice.page)).toContain('here alice');
    const bob = await newPage();
    await bob.page.goto(`${appUrl}/?user=bob`);
    await eventually(() => logOf(bob.page)).toContain('here alice,bob');
    await eventually(() => logOf(alice.page)).toContain('joining bob');
    // Both pages subscribed everywhere (presence came last): events reach them.
    await eventually(async () => (await hub.pusher?.channel({ ...APP, clientEvents: true }, 'private-orders'))?.subscriptionCount).toBe(2);
    await eventually(async () => (await hub.pusher?.channel({ ...APP, clientEvents: true }, 'orders'))?.subscriptionCount).toBe(2);
    await hub.topics.publish(`${APP.id}/orders`, envelope({ event: 'order.created', data: JSON.stringify({ id: 1 }) }));
    await hub.topics.publish(`${APP.id}/private-orders`, envelope({ event: 'order.paid', data: JSON.stringify({ id: 2 }) }));
    for (const p of [alice, bob]) await eventually(() => logOf(p.page)).toEqual(expect.arrayContaining(['public 1', 'private 2']));
    await bob.context.close();
    await eventually(() => logOf(alice.page)).toContain('leaving bob');
    expect(alice.errors).toEqual([]);
  });
});
