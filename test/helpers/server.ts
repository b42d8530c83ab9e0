// Starts a real Hookhub on an ephemeral port for a test; stops it afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Config } from '../../src/config.js';
import { testConfig } from './config.js';
import { startServer, type Hookhub } from '../../src/server.js';

const running = new Set<Hookhub>();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all([...running].map((h) => h.close().catch(() => {})));
  running.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test. */
export function tempDir(prefix = 'hookhub-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Memory store and silent logs unless overridden; allowPrivateTargets on (receivers are on 127.0.0.1). */
export async function startHub(overrides: Partial<Config> = {}): Promise<Hookhub> {
  const hub = await startServer(testConfig({ allowPrivateTargets: true, ...overrides }));
  running.add(hub);
  return hub;
}

/** Stops a hub now (e.g. to restart it on the same data dir). */
export async function stopHub(hub: Hookhub): Promise<void> {
  running.delete(hub);
  await hub.close();
}
