// Dispatcher benchmark, the sending side: a durable backlog on disk (what a receiver's outage or a restart
// leaves) drained by Hookhub, against the same requests sent by a bare undici loop, to the same receiver,
// with the same number in flight. Rounds alternate the two (bare first, then Hookhub first), so that a
// machine whose speed drifts (this one does) weighs on both alike; the ratio is the median of the rounds'.
// Run alone: npx tsx bench/dispatch-drain.ts [deliveries] [rounds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { Agent } from 'undici';
import { resolveConfig, type Config } from '../src/config.js';
import { createMetrics } from '../src/core/metrics.js';
import { createDispatcher } from '../src/dispatch/index.js';
import { createStore } from '../src/store/index.js';
import { bareLoop, deliveryFields } from './bare-loop.js';
import { ask, benchServer, isMain, startProfile, threadCpuMs } from './lib.js';

export interface DrainBenchOptions {
  /** Deliveries per round (default 10,000). */
  deliveries?: number;
  /** Rounds of (bare loop, Hookhub) (default 7). */
  rounds?: number;
  /** Requests in flight: the bare loop's, and Hookhub's --delivery-concurrency and --delivery-per-host. */
  concurrency?: number;
  /** --delivery-threads (default: the server's default). */
  threads?: number;
}

export interface DrainSide {
  perSecond: number;
  /** CPU of the sending thread (the server's event loop; the bare loop's thread) per delivery, µs. */
  threadCpuUs: number | null;
  /** CPU of the whole process (sender, receiver, WAL checkpointer, GC) per delivery, µs. */
  totalCpuUs: number;
}

export interface DrainRound {
  hookhub: DrainSide;
  bare: DrainSide;
  ratio: number;
}

export interface DrainBenchResults {
  deliveries: number;
  concurrency: number;
  rounds: DrainRound[];
  /** Median of the rounds' ratios (deliveries/s of Hookhub ÷ the bare loop's in the same round). */
  ratio: number;
  goal: { ratio: number; met: boolean };
}

// The receiver counts distinct deliveries and times the first and the last arrival of a round.
const RECEIVER = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
let seen = new Set(), expected = Infinity, first = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.end('ok');
    const n = new URLSearchParams(Buffer.concat(chunks).toString()).get('n');
    if (seen.size === 0) first = performance.now();
    seen.add(n);
    if (seen.size === expected) {
      expected = Infinity;
      parentPort.postMessage({ type: 'done', seconds: (performance.now() - first) / 1000 });
    }
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'ready', port: server.address().port }));
parentPort.on('message', (m) => {
  if (m.type === 'count') return parentPort.postMessage({ type: 'count', seen: seen.size });
  seen = new Set(); expected = m.expected; parentPort.postMessage({ type: 'expecting' });
});
`;

const next = <T>(worker: Worker, type: string): Promise<T> => ask<T>(worker, undefined, type);

/**
 * Tells the receiver how many distinct deliveries make the round; `seconds` resolves with first → last
 * arrival, or rejects (naming how many arrived) when the round takes past a generous deadline.
 */
async function expect(worker: Worker, count: number): Promise<{ seconds: Promise<number> }> {
  const ready = next(worker, 'expecting');
  worker.postMessage({ type: 'expect', expected: count });
  await ready;
  const deadlineMs = 60_000 + count * 2;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void next<{ seen: number }>(worker, 'count').then((m) => reject(new Error(`round not done after ${deadlineMs} ms: ${m.seen} of ${count} arrived`)));
      worker.postMessage({ type: 'count' });
    }, deadlineMs);
  });
  const done = next<{ seconds: number }>(worker, 'done').then((m) => m.seconds);
  return { seconds: Promise.race([done, late]).finally(() => clearTimeout(timer)) };
}

/** Measures `run` (which resolves once `seconds` does): rate over the receiver's clock, CPU over the whole run. */
async function measure(count: number, seconds: Promise<number>, run: () => Promise<unknown>): Promise<DrainSide> {
  const threadBefore = threadCpuMs();
  const before = process.cpuUsage();
  await Promise.all([seconds, run()]);
  const cpu = process.cpuUsage(before);
  const threadAfter = threadCpuMs();
  return {
    perSecond: Math.round(count / (await seconds)),
    threadCpuUs: threadBefore === undefined || threadAfter === undefined ? null : Math.round(((threadAfter - threadBefore) * 1000) / count),
    totalCpuUs: Math.round((cpu.user + cpu.system) / count),
  };
}

/**
 * Commits `count` deliveries to the store of `config` as /dispatch commits them (the dispatcher's enqueue,
 * not started, so nothing is sent), then closes the store: a backlog on disk.
 */
async function queueBacklog(config: Config, target: string, from: number, count: number): Promise<void> {
  const store = await createStore(config);
  try {
    // It sends nothing: no delivery threads (they would outlive it).
    const dispatcher = createDispatcher({ ...config, deliveryThreads: 0 }, { store: store.deliveries, metrics: createMetrics(), log: pino({ level: 'silent' }) });
    for (let i = from; i < from + count; i += 500) {
      const batch = [];
      for (let n = i; n < Math.min(from + count, i + 500); n++) {
        batch.push({ url: target, contentType: 'application/x-www-form-urlencoded', body: Buffer.from(deliveryFields(n)) });
      }
      await dispatcher.enqueueAll(batch);
    }
  } finally {
    await store.close();
  }
}

export async function runDrainBench(opts: DrainBenchOptions = {}): Promise<DrainBenchResults> {
  const count = opts.deliveries ?? 10_000;
  const rounds = opts.rounds ?? 7;
  const concurrency = opts.concurrency ?? 64;
  const worker = new Worker(RECEIVER, { eval: true });
  const agent = new Agent({ connections: concurrency });
  try {
    const { port } = await next<{ port: number }>(worker, 'ready');
    const target = `http://127.0.0.1:${port}/hook`;
    // Warm both sides (JIT, connections) before the first round.
    const warm = Math.max(100, Math.floor(count / 10));
    await Promise.all([(await expect(worker, warm)).seconds, bareLoop(agent, target, 0, warm, concurrency)]);
    await drain(worker, target, warm, opts, concurrency);
    const results: DrainRound[] = [];
    for (let round = 0; round < rounds; round++) {
      const runBare = async (): Promise<DrainSide> => measure(count, (await expect(worker, count)).seconds, () => bareLoop(agent, target, 0, count, concurrency));
      const runHookhub = (): Promise<DrainSide> => drain(worker, target, count, opts, concurrency);
      // The order alternates too: a machine speeding up or slowing down favours neither side.
      const bareFirst = round % 2 === 0;
      const first = await (bareFirst ? runBare() : runHookhub());
      const second = await (bareFirst ? runHookhub() : runBare());
      const [bare, hookhub] = bareFirst ? [first, second] : [second, first];
      results.push({ hookhub, bare, ratio: Math.round((hookhub.perSecond / bare.perSecond) * 100) / 100 });
    }
    const ratios = results.map((r) => r.ratio).sort((a, b) => a - b);
    const ratio = ratios[Math.floor(ratios.length / 2)] as number;
    return { deliveries: count, concurrency, rounds: results, ratio, goal: { ratio: 0.8, met: ratio >= 0.8 } };
  } finally {
    await agent.close();
    await worker.terminate();
  }
}

/** One Hookhub round: a backlog of `count` queued on disk, then a server started on it sends it all. */
async function drain(worker: Worker, target: string, count: number, opts: DrainBenchOptions, concurrency: number): Promise<DrainSide> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookhub-drain-'));
  const config = resolveConfig({
    port: 0, store: 'sqlite', 'data-dir': dataDir, 'log-level': process.env.BENCH_LOG_LEVEL ?? 'silent', 'allow-private-targets': true,
    'delivery-concurrency': concurrency, 'delivery-per-host': concurrency,
    ...(opts.threads !== undefined ? { 'delivery-threads': opts.threads } : {}),
  });
  try {
    await queueBacklog(config, target, 0, count);
    const { seconds } = await expect(worker, count);
    // Started outside the measurement, which runs from the server's first delivery to its last.
    const hub = await (await benchServer()).startServer(config);
    const profiling = process.env.BENCH_PROFILE ? await startProfile() : undefined;
    try {
      return await measure(count, seconds, async () => {});
    } finally {
      await profiling?.stop(process.env.BENCH_PROFILE as string);
      await hub.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const deliveries = process.argv[2] ? Number(process.argv[2]) : undefined;
  const rounds = process.argv[3] ? Number(process.argv[3]) : undefined;
  const threads = process.env.BENCH_DELIVERY_THREADS ? Number(process.env.BENCH_DELIVERY_THREADS) : undefined;
  runDrainBench({ ...(deliveries ? { deliveries } : {}), ...(rounds ? { rounds } : {}), ...(threads !== undefined ? { threads } : {}) }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
