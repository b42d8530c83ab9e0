// A real sqlite server in a child process of its own group, for kill -9 tests: SIGKILL reaches the
// server itself (no wrapper survives it), and the same data dir can be served again after it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { until } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) killGroup(c);
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** Closes the receiver (an HTTP server of the test) after the test. */
export function closeAfterTest(server: Server): void {
  servers.push(server);
}

/** SIGKILL to the server's whole process group: no shutdown code runs. */
export function killGroup(c: ChildProcess): void {
  try {
    process.kill(-(c.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
}

export { freePort } from './free-port.js';

export interface KillableOptions {
  port: number;
  dataDir: string;
  /** How many 1 s retries follow the first attempt of a webhook. */
  retries: number;
  logLevel: 'warn' | 'error';
  /** Receives the server's stdout lines (its log). */
  log?: string[];
  /** More HOOKHUB_* options. */
  env?: Record<string, string>;
}

/** `node --import tsx src/cli.ts serve` on sqlite, resolved once /healthz answers. */
export async function serveKillable(o: KillableOptions): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', o.log ? 'pipe' : 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOOKHUB_PORT: String(o.port),
      HOOKHUB_STORE: 'sqlite',
      HOOKHUB_DATA_DIR: o.dataDir,
      HOOKHUB_ALLOW_PRIVATE_TARGETS: '1',
      HOOKHUB_RETRY_SCHEDULE: ['0s', ...Array<string>(o.retries).fill('1s')].join(','),
      HOOKHUB_LOG_LEVEL: o.logLevel,
      ...o.env,
    },
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const log = o.log;
  if (log) child.stdout?.on('data', (c: Buffer) => log.push(...c.toString().split('\n').filter(Boolean)));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${stderr}`);
    return fetch(`http://127.0.0.1:${o.port}/healthz`).then((r) => r.ok, () => false);
  }, 'server /healthz', 20_000, 50);
  return child;
}
