// Parked deliveries are in the store, not in memory: a sqlite server killed with SIGKILL while its
// endpoint is open keeps them parked (and the endpoint's state) across the restart; the circuit then
// closes against the recovered receiver and every parked delivery goes out.
import { createServer } from 'node:http';
import { expect, it } from 'vitest';
import { closeAfterTest, freePort, killGroup, serveKillable } from '../helpers/killable-server.js';
import { tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const COUNT = 5;

it('deliveries parked behind an open circuit survive kill -9 and go out once the endpoint recovers', async () => {
  const dataDir = tempDir();
  const hubPort = await freePort();
  const base = `http://127.0.0.1:${hubPort}`;
  let failing = true;
  const received: string[] = [];
  const rx = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!failing) received.push(Buffer.concat(chunks).toString());
      res.writeHead(failing ? 503 : 200);
      res.end();
    });
  });
  closeAfterTest(rx);
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(rx.address() as { port: number }).port}`;
  // A long cooldown first (no probe: every delivery stays parked), a short one after the restart.
  const env = (cooldown: string) => ({ HOOKHUB_CIRCUIT_FAILURES: '2', HOOKHUB_CIRCUIT_COOLDOWN: cooldown });

  const first = await serveKillable({ port: hubPort, dataDir, retries: 30, logLevel: 'error', env: env('10m') });
  const ids: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const res = await fetch(`${base}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_url=${encodeURIComponent(`${origin}/hook`)}&n=${i}` });
    ids.push(((await res.json()) as { id: string }).id);
  }
  const parkedAll = async (): Promise<boolean> => {
    for (const id of ids) {
      const d = (await (await fetch(`${base}/api/deliveries/${id}`)).json()) as { parked?: boolean };
      if (d.parked !== true) return false;
    }
    return true;
  };
  await until(parkedAll, 'every delivery parked', 20_000, 50);
  killGroup(first);
  await until(() => first.exitCode !== null || first.signalCode !== null, 'killed server to exit');

  // The endpoint's state is on disk too: still open after the restart.
  await serveKillable({ port: hubPort, dataDir, retries: 30, logLevel: 'error', env: env('300ms') });
  const endpoint = (await (await fetch(`${base}/api/endpoints/${encodeURIComponent(origin)}`)).json()) as { state: string };
  expect(['open', 'half_open']).toContain(endpoint.state);
  expect(received).toEqual([]);
  failing = false;
  await until(() => received.length >= COUNT, `all ${COUNT} parked deliveries (have ${received.length})`, 20_000, 50);
  expect(received.sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `n=${i}`));
}, 60_000);
