// The accepting half of /dispatch alone: the HTTP request up to its 202, after the delivery's commit. The
// first attempt is an hour away (--retry-schedule 1h), so nothing is sent while measured: the server's
// event-loop CPU per request is the cost of accepting one. The same load generator as bench/dispatch.ts
// (form bodies, 64 in flight), in a process of its own.
// Run alone: npx tsx bench/dispatch-accept.ts [requests] [rounds]   (20,000 per round, 3 rounds by default)
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/config.js';
import { benchServer, startProfile, threadCpuMs } from './lib.js';

/** Requests sent before the rounds are measured (the JIT warms up). */
const WARM = 5000;

async function main(count: number, rounds: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookhub-accept-'));
  const hub = await (await benchServer()).startServer(resolveConfig({ port: 0, store: 'sqlite', 'data-dir': dataDir, 'log-level': 'silent', 'allow-private-targets': true, 'retry-schedule': '1h' }));
  const loader = fork(fileURLToPath(new URL('./dispatch-load.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  /** `n` requests through the load generator; resolves once all were answered 202. */
  const load = (n: number): Promise<void> => new Promise((resolve, reject) => {
    loader.once('message', () => resolve());
    loader.once('exit', (code) => reject(new Error(`the load generator exited (${code})`)));
    loader.send({ type: 'load', hubUrl: hub.url, target: 'http://127.0.0.1:9/hook', from: next, count: n, concurrency: 64, batch: 1 });
    next += n;
  });
  try {
    await load(WARM);
    for (let r = 1; r <= rounds; r++) {
      // BENCH_PROFILE: a V8 profile of the last round.
      const profiling = process.env.BENCH_PROFILE && r === rounds ? await startProfile() : undefined;
      const cpuBefore = threadCpuMs();
      const started = performance.now();
      await load(count);
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = threadCpuMs();
      await profiling?.stop(process.env.BENCH_PROFILE as string);
      const perRequest = cpuBefore === undefined || cpuAfter === undefined ? 'n/a' : `${Math.round(((cpuAfter - cpuBefore) * 1000) / count)} µs`;
      console.log(`round ${r}: ${Math.round(count / seconds)} requests/s accepted, server event loop ${perRequest} CPU per request`);
    }
  } finally {
    loader.kill();
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const [count, rounds] = [process.argv[2], process.argv[3]].map((a, i) => (a ? Number(a) : [20000, 3][i] as number)) as [number, number];
main(count, rounds).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
