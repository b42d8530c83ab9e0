// Shared pieces of the benchmarks: child servers, CPU accounting, percentiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Worker } from 'node:worker_threads';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

type ServerModule = typeof import('../src/server.js');

/** Newest modification time of the files under a directory (ms). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/**
 * The server as the in-process benches run it (the config, plain data, still comes from src/config.ts): the compiled tree (dist/, or BENCH_SERVER_DIST) when it is built
 * and newer than src/ — as `hookhub serve` runs it — else the sources through tsx (whose transform wraps every
 * named closure in a call the build does not have: about 0.6 µs each, made per request on a hot path).
 */
export async function benchServer(): Promise<{ startServer: ServerModule['startServer']; compiled: boolean }> {
  const dist = `${root}/${process.env.BENCH_SERVER_DIST ?? 'dist'}`;
  if (existsSync(`${dist}/server.js`) && statSync(`${dist}/server.js`).mtimeMs >= newestMtime(`${root}/src`)) {
    const server = (await import(pathToFileURL(`${dist}/server.js`).href)) as ServerModule;
    return { startServer: server.startServer, compiled: true };
  }
  console.log('bench: dist/ is missing or older than src/ — running the server from the sources through tsx (npm run build first to measure the compiled server)');
  const server = await import('../src/server.js');
  return { startServer: server.startServer, compiled: false };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** Resident memory of a process in bytes. */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts `hookhub serve` (compiled dist/ when built — as in production — else through tsx); resolves once /healthz answers.
 *  BENCH_SERVER_NODE_ARGS passes node flags to the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof";
 *  BENCH_SERVER_DIST another compiled tree under the repository (e.g. an earlier commit's, for an A/B run). */
export async function startHookhub(env: Record<string, string>, distDir?: string, extraNodeArgs: string[] = []): Promise<ChildServer> {
  const port = await freePort();
  const dist = distDir ?? process.env.BENCH_SERVER_DIST ?? 'dist';
  const compiled = existsSync(`${root}/${dist}/cli.js`);
  const nodeArgs = [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...extraNodeArgs];
  const proc = spawn(process.execPath, compiled ? [...nodeArgs, `${dist}/cli.js`, 'serve'] : [...nodeArgs, '--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: root,
    env: { ...process.env, HOOKHUB_PORT: String(port), HOOKHUB_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`hookhub exited ${proc.exitCode}`);
    const up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 200) throw new Error('hookhub did not start in 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    url,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.on('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}

export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** True when this module is the script node was started with (run alone rather than imported). */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && fileURLToPath(moduleUrl).replace(/\.ts$/, '') === resolve(process.argv[1]).replace(/\.ts$/, '');

/**
 * A process's main thread from the scheduler's view (/proc/<pid>/schedstat, Linux; undefined elsewhere): ms on a
 * core, and ms runnable but waiting for one. Both together over the wall time say whether the thread was busy
 * all along (at its own ceiling, the rest of the time taken by other processes) or idle, waiting for work.
 */
export function schedMs(pid: number | 'self' = 'self'): { cpu: number; wait: number } | undefined {
  try {
    const [cpu, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { cpu: (cpu as number) / 1e6, wait: (wait as number) / 1e6 };
  } catch {
    return undefined;
  }
}

/** CPU time (ms) of this process's main thread so far, from /proc (Linux); undefined elsewhere. */
export function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** A CPU profile of this thread from now until `stop` writes it (BENCH_PROFILE=<file> in the dispatcher benches). */
export async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * `perf record` of this process's main thread (on-CPU samples only: cpu-clock) from now until `stop`, written to
 * `file` (BENCH_PERF=<file> in the dispatcher bench). JavaScript frames get names when node runs with
 * --perf-basic-prof. A V8 profile (BENCH_PROFILE) samples wall time instead: on a busy machine it charges
 * the time a thread waits for a core to whatever it was doing then (socket writes that wake another process).
 */
export function perfRecord(file: string): { stop(): Promise<void> } {
  const proc = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '1999', '-g', '-t', String(process.pid), '-o', file], { stdio: 'ignore' });
  return {
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGINT');
    }),
  };
}

/** Posts `message` to a worker (unless undefined) and resolves with its next message of `type`. */
export function ask<T>(worker: Worker, message: unknown, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }): void => {
      if (m.type !== type) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(m as T);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    if (message !== undefined) worker.postMessage(message);
  });
}
