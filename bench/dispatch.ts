// Dispatcher benchmark: durable deliveries per second through Hookhub (sqlite store) to a local receiver,
// enqueue→delivered latency, and the same requests sent by a bare undici loop for comparison.
// Run alone: npx tsx bench/dispatch.ts [deliveries]   (bounded: 5,000 deliveries by default)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Agent } from 'undici';
import { resolveConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { bareLoop } from './bare-loop.js';
import { ask, startProfile, threadCpuMs } from './lib.js';

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
    /** CPU time of the whole bench process (server, load generator and receiver) per delivery, in µs. */
    totalCpuUsPerDelivery: number;
  };
  /** Latency enqueue→delivered at a fixed rate below capacity (no backlog). */
  paced?: { rate: number; deliveries: number; deliveredP50Ms: number; deliveredP99Ms: number; deliveredMaxMs: number };
  /** totalCpuUsPerDelivery: sender (this thread) plus receiver, per request. */
  bareUndici: { requestsPerSecond: number; seconds: number; totalCpuUsPerDelivery: number };
  ratio: number;
  /** The throughput goal; the ratio goal is measured on the sending side (dispatch-drain.ts), where both sides do the same work. */
  goals: { deliveriesPerSecond: number; met: boolean };
}

// The receiver and the load generator share a worker thread (one clock for send and arrival times),
// so that the server under test has the main thread to itself.
const PEER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
(async () => {
  const { Agent, request } = await import(workerData.undici);
  let sent = new Map(), accepted = new Map(), arrived = new Map(), expected = 0, done = null;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const n = Number(text.startsWith('{') ? JSON.parse(text).n : new URLSearchParams(text).get('n'));
      if (!arrived.has(n)) arrived.set(n, performance.now());
      res.end('ok');
      if (done && arrived.size >= expected) { const d = done; done = null; d(); }
    });
  });
  server.keepAliveTimeout = 30000;
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'ready', port: server.address().port }));
  parentPort.on('message', async (m) => {
    if (m.type === 'reset') { sent = new Map(); accepted = new Map(); arrived = new Map(); parentPort.postMessage({ type: 'reset' }); return; }
    if (m.type === 'paced') return paced(m);
    if (m.type !== 'load') return;
    expected = m.from + m.count;
    const all = new Promise((r) => (done = r));
    const agent = new Agent({ connections: m.concurrency });
    let next = m.from;
    const batch = m.batch || 1;
    await Promise.all(Array.from({ length: m.concurrency }, async () => {
      while (next < m.from + m.count) {
        const ns = [];
        while (ns.length < batch && next < m.from + m.count) ns.push(next++);
        const at = performance.now();
        for (const n of ns) sent.set(n, at);
        // One delivery: a form body, as Hookah's clients send; a batch: a JSON array of the same fields.
        const res = await request(m.hubUrl + '/dispatch', { dispatcher: agent, method: 'POST',
          headers: { 'content-type': batch > 1 ? 'application/json' : 'application/x-www-form-urlencoded' },
          body: batch > 1
            ? JSON.stringify(ns.map((n) => ({ _url: m.target, n, event: 'order.created', amount: 42 })))
            : '_url=' + encodeURIComponent(m.target) + '&n=' + ns[0] + '&event=order.created&amount=42' });
        await res.body.text();
        if (res.statusCode !== 202) throw new Error('dispatch answered ' + res.statusCode);
        const done = performance.now();
        for (const n of ns) accepted.set(n, done);
      }
    }));
    if (arrived.size < expected) await all;
    await agent.close();
    const enqueue = [], delivered = [];
    let first = Infinity, last = 0;
    for (let n = m.from; n < m.from + m.count; n++) {
      enqueue.push(accepted.get(n) - sent.get(n));
      delivered.push(arrived.get(n) - sent.get(n));
      first = Math.min(first, sent.get(n)); last = Math.max(last, arrived.get(n));
    }
    parentPort.postMessage({ type: 'done', enqueue, delivered, seconds: (last - first) / 1000 });
  });
  // Open loop: m.rate dispatches per second whatever the answers, in 5 ms ticks; latency is send → arrival.
  async function paced(m) {
    expected = m.from + m.count;
    const all = new Promise((r) => (done = r));
    const agent = new Agent({ connections: 256 });
    const started = performance.now();
    let next = m.from;
    const pending = [];
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(m.from + m.count, m.from + Math.floor(((performance.now() - started) / 1000) * m.rate));
        for (; next < due; next++) {
          const n = next;
          sent.set(n, performance.now());
          pending.push(request(m.hubUrl + '/dispatch', { dispatcher: agent, method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: '_url=' + encodeURIComponent(m.target) + '&n=' + n + '&event=order.created&amount=42' }).then((res) => res.body.text()));
        }
        if (next >= m.from + m.count) { clearInterval(tick); resolve(); }
      }, 5);
    });
    await Promise.all(pending);
    if (arrived.size < expected) await all;
    await agent.close();
    const delivered = [];
    for (let n = m.from; n < m.from + m.count; n++) delivered.push(arrived.get(n) - sent.get(n));
    parentPort.postMessage({ type: 'paced', delivered });
  }
})();
`;

const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system;

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
};


export async function runDispatchBench(opts: DispatchBenchOptions = {}): Promise<DispatchBenchResults> {
  const total = opts.deliveries ?? 5000;
  const concurrency = opts.concurrency ?? 64;
  const store = opts.store ?? 'sqlite';
  const warm = Math.max(50, Math.floor(total / 10));
  const pacedRate = opts.pacedRate ?? 1000;
  const dataDir = mkdtempSync(join(tmpdir(), 'hookhub-bench-'));
  const worker = new Worker(PEER, { eval: true, workerData: { undici: import.meta.resolve('undici') } });
  try {
    const { port } = await ask<{ port: number }>(worker, undefined, 'ready');
    const target = `http://127.0.0.1:${port}/hook`;
    const config = resolveConfig({ port: 0, store, 'data-dir': dataDir, 'log-level': 'silent', 'allow-private-targets': true, 'retry-schedule': '0s,1s,5s',
      ...(opts.perHost !== undefined ? { 'delivery-per-host': opts.perHost } : {}),
      ...(opts.threads !== undefined ? { 'delivery-threads': opts.threads } : {}) });
    const hub = await startServer(config);
    type Done = { enqueue: number[]; delivered: number[]; seconds: number };
    let measured: Done;
    let utilization: number;
    let cpuMs: number | undefined;
    let totalCpuUs = 0;
    let paced: DispatchBenchResults['paced'];
    try {
      const batch = opts.batch ?? 1;
      await ask<Done>(worker, { type: 'load', hubUrl: hub.url, target, from: 0, count: warm, concurrency, batch }, 'done');
      const elu = performance.eventLoopUtilization();
      const cpuBefore = threadCpuMs();
      const processBefore = process.cpuUsage();
      const profiling = process.env.BENCH_PROFILE ? await startProfile() : undefined;
      measured = await ask<Done>(worker, { type: 'load', hubUrl: hub.url, target, from: warm, count: total, concurrency: batch > 1 ? Math.max(2, Math.ceil(concurrency / 8)) : concurrency, batch }, 'done');
      await profiling?.stop(process.env.BENCH_PROFILE as string);
      utilization = Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100;
      const cpuAfter = threadCpuMs();
      cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
      totalCpuUs = cpuUs(process.cpuUsage(processBefore)) / total;
      if (pacedRate > 0 && batch === 1) {
        const count = pacedRate * 4;
        const { delivered } = await ask<{ delivered: number[] }>(worker, { type: 'paced', hubUrl: hub.url, target, from: warm + total, count, rate: pacedRate }, 'paced');
        paced = { rate: pacedRate, deliveries: count, deliveredP50Ms: quantile(delivered, 0.5), deliveredP99Ms: quantile(delivered, 0.99), deliveredMaxMs: quantile(delivered, 1) };
      }
    } finally {
      await hub.close();
    }

    // The same requests, sent straight to the receiver by a bare undici loop.
    await ask(worker, { type: 'reset' }, 'reset');
    const agent = new Agent({ connections: concurrency });
    await bareLoop(agent, target, 0, warm, concurrency);
    const bareCpuBefore = process.cpuUsage();
    const bareSeconds = opts.skipBaseline ? Infinity : await bareLoop(agent, target, warm, total, concurrency);
    const bareCpuUs = cpuUs(process.cpuUsage(bareCpuBefore)) / total;
    await agent.close();

    const perSecond = Math.round(total / measured.seconds);
    const barePerSecond = Math.round(total / bareSeconds);
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
        totalCpuUsPerDelivery: Math.round(totalCpuUs),
      },
      ...(paced ? { paced } : {}),
      bareUndici: { requestsPerSecond: barePerSecond, seconds: Math.round(bareSeconds * 100) / 100, totalCpuUsPerDelivery: Math.round(bareCpuUs) },
      ratio,
      goals: { deliveriesPerSecond: 3000, met: perSecond >= 3000 },
    };
  } finally {
    await worker.terminate();
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
