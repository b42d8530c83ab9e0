import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHub, stopHub } from '../helpers/server.js';
it('an upgrade to a path without a WebSocket route is refused and does not hold shutdown', async () => {
  const hub = await startHub();
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/nope`);
  const outcome = await new Promise<string>((r) => { ws.on('error', (e) => r(String(e.message))); ws.on('open', () => r('open')); });
  expect(outcome).toMatch(/404/);
  const t = Date.now();
  await stopHub(hub);
  expect(Date.now() - t).toBeLessThan(3000);
});
