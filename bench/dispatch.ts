// Dispatcher benchmark, end to end: durable deliveries per second through Hookhub's /dispatch (accept, commit,
// send, record; sqlite store) to a receiver, enqueue→delivered latency, the server's CPU per delivery, and the
// same requests sent by a bare undici loop (the reference) for the ratio.
// Run alone: npx tsx bench/dispatch.ts [deliveries]   (bounded: 5,000 deliveries by default)
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolveConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { cpuSeconds, startProfile, threadCpuMs } from './lib.js';

export interface DispatchBenchOptions {
  /** Deliveries measured (after a warm-up of a tenth of them). */
  deliveries?: number;
  /** Concurrent /dispatch requests from the load generator, and concurrent requests of the bare loop. */
  concurrency?: number;
  store?: 'sqlite' | 'memory';
  /** Skip the bare undici baseline (for profiling the server alone). */
  skipBaseline?: boolean;
  /** --delivery-per-host (default: the server's default). */
  perHost?: number;
  /** --delivery-threads (default: the server's default). */
  threads?: number;
  /** Deliveries per /dispatch request (a JSON array batch when > 1; default 1). */
  batch?: number;
  /** Deliveries per second of the fixed-rate latency run (0: skip it). */
  pacedRate?: number;
}

export interface DispatchBenchResults {
  deliveries: number;
  store: string;
  hookhub: {
    deliveriesPerSecond: number; enqueueP50Ms: number; enqueueP99Ms: number; deliveredP50Ms: number; deliveredP99Ms: number; seconds: number;
    /** Event-loop utilization of the server's thread while measured (1 = saturated). */
    serverLoopUtilization: number;
    /**
     * CPU time of the server's thread per delivery while measured (Linux; null elsewhere), in µs: the cost of a
     * delivery whatever else runs on the machine (wall-clock rates vary with the load of other processes).
     */
    serverCpuUsPerDelivery: number | null;
    /** CPU time of the server's whole process (every thread: event loop, GC, delivery threads) per delivery, µs. */
    serverProcessCpuUsPerDelivery: number;
    /** CPU time of the receiver process per delivery, µs. */
    receiverCpuUsPerDelivery: number;
    /** CPU time of the three processes (server, load generator, receiver) per delivery, µs. */
    totalCpuUsPerDelivery: number;
  };
  /** Latency enqueue→delivered at a fixed rate below capacity (no backlog). */
  paced?: { rate: number; deliveries: number; deliveredP50Ms: number; deliveredP99Ms: number; deliveredMaxMs: number };
  /** The reference in its own process; totalCpuUsPerDelivery: its sender plus the receiver, per request. */
  bareUndici: {
    requestsPerSecond: number; seconds: number; concurrency: number;
    senderCpuUsPerRequest: number; receiverCpuUsPerRequest: number; totalCpuUsPerDelivery: number;
  };
  /** Hookhub's deliveries/s ÷ the reference's requests/s (each delivery is two HTTP exchanges and a commit: ~0.5× is the limit). */
  ratio: number;
  goals: { deliveriesPerSecond: number; met: boolean; ratio: number; ratioMet: boolean };
}

const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system;

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
};


/** Requests the reference sends before it is measured. */
const BARE_WARM = 5000;

/** A child process of this benchmark (TypeScript through tsx), talking over IPC. */
function child(file: string): ChildProcess {
  return fork(fileURLToPath(new URL(file, import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Sends `message` (unless undefined) and resolves with the child's next message of `type`. */
function askChild<T>(proc: ChildProcess, message: unknown, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string }): void => {
      if (m.type !== type) return;
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`benchmark child exited (${code}) before answering ${type}`));
    proc.on('message', onMessage);
    proc.once('exit', onExit);
    if (message !== undefined) proc.send(message as Serializable);
  });
}

/** CPU µs of a child process so far (/proc, Linux; 0 elsewhere). */
const childCpuUs = (proc: ChildProcess): number => {
  try {
    return cpuSeconds(proc.pid as number) * 1e6;
  } catch {
    return 0;
  }
};

/**
 * Three processes, as in production: the server under test (this process, nothing else on it), the load
 * generator posting to /dispatch (dispatch-load.ts) and the receiver (dispatch-receiver.ts). The reference
 * is a bare undici loop in a fresh process of its own (dispatch-bare.ts) sending the same requests to the
 * same receiver: no server, load generator or their heap beside it, so it runs at its own ceiling.
 */
export async function runDispatchBench(opts: DispatchBenchOptions = {}): Promise<DispatchBenchResults> {
  const total = opts.deliveries ?? 5000;
  const concurrency = opts.concurrency ?? 64;
  const store = opts.store ?? 'sqlite';
  const warm = Math.max(50, Math.floor(total / 10));
  const pacedRate = opts.pacedRate ?? 1000;
  const dataDir = mkdtempSync(join(tmpdir(), 'hookhub-bench-'));
  const receiver = child('./dispatch-receiver.ts');
  const loader = child('./dispatch-load.ts');
  type Loaded = { sent: number[]; accepted: number[] };
  type Arrived = { times: number[] };
  /** Sends deliveries from..from+count-1 through /dispatch; resolves once all arrived. */
  const run = async (m: Record<string, unknown> & { from: number; count: number }, type = 'loaded'): Promise<[Loaded, Arrived]> => {
    await askChild(receiver, { type: 'expect', from: m.from, count: m.count }, 'expecting');
    const arrived = askChild<Arrived>(receiver, undefined, 'arrived');
    return Promise.all([askChild<Loaded>(loader, m, type), arrived]);
  };
  try {
    const { port } = await askChild<{ port: number }>(receiver, undefined, 'ready');
    const target = `http://127.0.0.1:${port}/hook`;
    const config = resolveConfig({ port: 0, store, 'data-dir': dataDir, 'log-level': 'silent', 'allow-private-targets': true, 'retry-schedule': '0s,1s,5s',
      ...(opts.perHost !== undefined ? { 'delivery-per-host': opts.perHost } : {}),
      ...(opts.threads !== undefined ? { 'delivery-threads': opts.threads } : {}) });
    const hub = await startServer(config);
    let measured: { enqueue: number[]; delivered: number[]; seconds: number };
    let utilization: number;
    let cpuMs: number | undefined;
    let processCpuUs = 0;
    let totalCpuUs = 0;
    let receiverCpuUs = 0;
    let paced: DispatchBenchResults['paced'];
    try {
      const batch = opts.batch ?? 1;
      await run({ type: 'load', hubUrl: hub.url, target, from: 0, count: warm, concurrency, batch });
      const elu = performance.eventLoopUtilization();
      const cpuBefore = threadCpuMs();
      const processBefore = process.cpuUsage();
      const othersBefore = [childCpuUs(loader), childCpuUs(receiver)];
      const profiling = process.env.BENCH_PROFILE ? await startProfile() : undefined;
      const [loaded, arrived] = await run({ type: 'load', hubUrl: hub.url, target, from: warm, count: total, concurrency: batch > 1 ? Math.max(2, Math.ceil(concurrency / 8)) : concurrency, batch });
      await profiling?.stop(process.env.BENCH_PROFILE as string);
      utilization = Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100;
      const cpuAfter = threadCpuMs();
      cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
      processCpuUs = cpuUs(process.cpuUsage(processBefore)) / total;
      receiverCpuUs = (childCpuUs(receiver) - (othersBefore[1] as number)) / total;
      totalCpuUs = processCpuUs + (childCpuUs(loader) - (othersBefore[0] as number)) / total + receiverCpuUs;
      const first = Math.min(...loaded.sent);
      const last = Math.max(...arrived.times);
      measured = {
        enqueue: loaded.accepted.map((t, i) => t - (loaded.sent[i] as number)),
        delivered: arrived.times.map((t, i) => t - (loaded.sent[i] as number)),
        seconds: (last - first) / 1000,
      };
      if (pacedRate > 0 && batch === 1) {
        const count = pacedRate * 4;
        const [sent, got] = await run({ type: 'paced', hubUrl: hub.url, target, from: warm + total, count, rate: pacedRate }, 'paced');
        const delivered = got.times.map((t, i) => t - (sent.sent[i] as number));
        paced = { rate: pacedRate, deliveries: count, deliveredP50Ms: quantile(delivered, 0.5), deliveredP99Ms: quantile(delivered, 0.99), deliveredMaxMs: quantile(delivered, 1) };
      }
    } finally {
      await hub.close();
    }

    // The reference: the same requests, to the same receiver, from a bare undici loop in a process of its own.
    let bare = { seconds: Infinity, cpuUs: 0 };
    let bareReceiverCpuUs = 0;
    if (!opts.skipBaseline) {
      const from = 10 * (warm + total + pacedRate * 4);
      await askChild(receiver, { type: 'expect', from, count: total }, 'expecting');
      const arrived = askChild<Arrived>(receiver, undefined, 'arrived');
      const receiverBefore = childCpuUs(receiver);
      const sender = child('./dispatch-bare.ts');
      // A fresh process: warmed up on at least BARE_WARM requests before it is measured (its JIT starts cold).
      [bare] = await Promise.all([askChild<{ seconds: number; cpuUs: number }>(sender, { type: 'bare', target, warm: Math.max(warm, BARE_WARM), from, count: total, concurrency }, 'bare'), arrived]);
      bareReceiverCpuUs = (childCpuUs(receiver) - receiverBefore) / total;
    }

    const perSecond = Math.round(total / measured.seconds);
    const barePerSecond = Math.round(total / bare.seconds);
    const ratio = Math.round((perSecond / barePerSecond) * 100) / 100;
    return {
      deliveries: total,
      store,
      hookhub: {
        deliveriesPerSecond: perSecond,
        enqueueP50Ms: quantile(measured.enqueue, 0.5),
        enqueueP99Ms: quantile(measured.enqueue, 0.99),
        deliveredP50Ms: quantile(measured.delivered, 0.5),
        deliveredP99Ms: quantile(measured.delivered, 0.99),
        seconds: Math.round(measured.seconds * 100) / 100,
        serverLoopUtilization: utilization,
        serverCpuUsPerDelivery: cpuMs === undefined ? null : Math.round((cpuMs * 1000) / total),
        serverProcessCpuUsPerDelivery: Math.round(processCpuUs),
        receiverCpuUsPerDelivery: Math.round(receiverCpuUs),
        totalCpuUsPerDelivery: Math.round(totalCpuUs),
      },
      ...(paced ? { paced } : {}),
      bareUndici: {
        requestsPerSecond: barePerSecond,
        seconds: Math.round(bare.seconds * 100) / 100,
        concurrency,
        senderCpuUsPerRequest: Math.round(bare.cpuUs / total),
        receiverCpuUsPerRequest: Math.round(bareReceiverCpuUs),
        totalCpuUsPerDelivery: Math.round(bare.cpuUs / total + bareReceiverCpuUs),
      },
      ratio,
      goals: { deliveriesPerSecond: 3000, met: perSecond >= 3000, ratio: 0.4, ratioMet: ratio >= 0.4 },
    };
  } finally {
    loader.kill();
    receiver.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = process.argv[2] ? Number(process.argv[2]) : undefined;
  const threads = process.env.BENCH_DELIVERY_THREADS ? Number(process.env.BENCH_DELIVERY_THREADS) : undefined;
  const batch = process.env.BENCH_BATCH ? Number(process.env.BENCH_BATCH) : undefined;
  runDispatchBench({ ...(n ? { deliveries: n } : {}), ...(threads !== undefined ? { threads } : {}), ...(batch !== undefined ? { batch } : {}) }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
