// Durability: 1,000 deliveries accepted (202) by a sqlite server whose receiver is down, the server
// killed with SIGKILL, restarted on the same data dir, the receiver brought up: every delivery arrives.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { closeAfterTest, freePort, killGroup, serveKillable } from '../helpers/killable-server.js';
import { tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const TOTAL = 1000;
/**
 * The receiver is down for the first server: its circuit would open and park the deliveries until the
 * cooldown (parking across kill -9 has its own test, dispatch-parking-durability); here retries are the subject.
 */
const NO_CIRCUIT = { HOOKHUB_CIRCUIT_FAILURES: '0', HOOKHUB_CIRCUIT_FAILURE_RATE: '0' };

it('1,000 accepted deliveries survive kill -9 and all arrive after a restart', async () => {
  const dataDir = tempDir();
  const hubPort = await freePort();
  const rxPort = await freePort();
  const target = `http://127.0.0.1:${rxPort}/hook`;

  const first = await serveKillable({ port: hubPort, dataDir, retries: 40, logLevel: 'error', env: NO_CIRCUIT });
  const accepted = new Set<string>();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < TOTAL) {
      const n = next++;
      const res = await fetch(`http://127.0.0.1:${hubPort}/dispatch`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `_url=${encodeURIComponent(target)}&n=${n}`,
      });
      expect(res.status).toBe(202);
      accepted.add(((await res.json()) as { id: string }).id);
    }
  }));
  expect(accepted.size).toBe(TOTAL);
  // Down hard, mid-retries (the receiver refuses connections): no shutdown code runs.
  killGroup(first);
  await until(() => first.exitCode !== null || first.signalCode !== null, 'killed server to exit');

  const received = new Map<string, number>();
  const rx = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      received.set(id, (received.get(id) ?? 0) + 1);
      res.end('ok');
    });
  });
  closeAfterTest(rx);
  await serveKillable({ port: hubPort, dataDir, retries: 40, logLevel: 'error', env: NO_CIRCUIT });
  await new Promise<void>((r) => rx.listen(rxPort, '127.0.0.1', r));

  await until(() => received.size >= TOTAL, `all ${TOTAL} deliveries (have ${received.size})`, 30_000, 100);
  const duplicates = [...received.values()].reduce((sum, n) => sum + n - 1, 0);
  console.log(`durability: ${received.size} distinct deliveries arrived of ${TOTAL} accepted; ${duplicates} duplicate attempts`);
  expect([...accepted].filter((id) => !received.has(id))).toEqual([]);
  expect(received.size).toBe(TOTAL);
}, 90_000);

it('deliveries claimed by a killed process (attempts in flight) are attempted again after the restart', async () => {
  const dataDir = tempDir();
  const hubPort = await freePort();
  let answering = false;
  const seen = new Map<string, number>();
  const rx = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (answering) res.end('ok'); // before the crash: hang, so the deliveries stay claimed
    });
  });
  closeAfterTest(rx);
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/`;

  const first = await serveKillable({ port: hubPort, dataDir, retries: 40, logLevel: 'error', env: NO_CIRCUIT });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`http://127.0.0.1:${hubPort}/dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _url: target, i }),
    });
    ids.push(((await res.json()) as { id: string }).id);
  }
  await until(() => seen.size === 20, 'all 20 attempts in flight');
  const inFlight = (await (await fetch(`http://127.0.0.1:${hubPort}/api/deliveries?status=delivering`)).json()) as { deliveries: unknown[] };
  expect(inFlight.deliveries).toHaveLength(20);
  killGroup(first);
  await until(() => first.exitCode !== null || first.signalCode !== null, 'killed server to exit');
  rx.closeAllConnections();

  answering = true;
  await serveKillable({ port: hubPort, dataDir, retries: 40, logLevel: 'error', env: NO_CIRCUIT });
  await until(async () => {
    const list = (await (await fetch(`http://127.0.0.1:${hubPort}/api/deliveries?status=succeeded`)).json()) as { deliveries: Array<{ id: string }> };
    return list.deliveries.length === 20;
  }, 'all 20 succeeded after the restart', 20_000, 100);
  for (const id of ids) expect(seen.get(id)).toBe(2);
}, 60_000);
