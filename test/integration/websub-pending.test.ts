// --websub-pending-per-host and --websub-pending-max: subscribe requests whose verification GET would
// wait behind too many others (e.g. to a hanging callback) are refused at once, 429 or 503 with a
// plain-text reason, nothing stored; room comes back as verifications finish.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Hookhub } from '../../src/server.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/** A callback that holds every request until released, then echoes the challenge. */
async function holdingCallback() {
  const held: Array<{ req: IncomingMessage; res: ServerResponse }> = [];
  const server = createServer((req, res) => held.push({ req, res }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
  return {
    url,
    held,
    releaseAll(): void {
      for (const { req, res } of held.splice(0)) {
        const challenge = new URL(req.url ?? '/', url).searchParams.get('hub.challenge') ?? '';
        res.end(challenge);
      }
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const subscribe = (hub: Hookhub, callback: string, topic: string) =>
  fetch(`${hub.url}/hub`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.callback': `${callback}?n=${topic}`, 'hub.topic': topic }).toString(),
  });

describe('WebSub pending verification limits', () => {
  it('per callback host: past the limit 429 with a plain reason, nothing stored; room returns when they finish', async () => {
    const cb = await holdingCallback();
    closers.push(cb.close);
    const hub = await startHub({ websubPendingPerHost: 2, websubPendingMax: 100 });
    expect((await subscribe(hub, cb.url, 't1')).status).toBe(202);
    expect((await subscribe(hub, cb.url, 't2')).status).toBe(202);
    const refused = await subscribe(hub, cb.url, 't3');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await refused.text()).toMatch(/too many verifications of intent pending for this callback host \(2\)/);
    expect((await hub.store.subscriptions.list('t3'))).toEqual([]);

    await until(() => cb.held.length === 2, 'two verification GETs held');
    cb.releaseAll();
    await until(async () => (await hub.store.subscriptions.list()).filter((s) => s.state === 'active').length === 2, 'two verified');
    await until(async () => (await subscribe(hub, cb.url, 't3')).status === 202, 'room for t3');
  });

  it('overall: past --websub-pending-max 503 with a plain reason', async () => {
    const cb = await holdingCallback();
    closers.push(cb.close);
    const hub = await startHub({ websubPendingPerHost: 100, websubPendingMax: 2 });
    expect((await subscribe(hub, cb.url, 'a')).status).toBe(202);
    expect((await subscribe(hub, cb.url, 'b')).status).toBe(202);
    const refused = await subscribe(hub, cb.url, 'c');
    expect(refused.status).toBe(503);
    expect(await refused.text()).toMatch(/too many verifications of intent pending \(2\)/);
    cb.releaseAll();
  });
});
