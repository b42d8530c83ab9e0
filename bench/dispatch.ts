// Dispatcher benchmark, end to end: durable deliveries per second through Hookhub's /dispatch (accept, commit,
// send, record; sqlite store) to a receiver, enqueue→delivered latency, the server's CPU per delivery, and the
// same requests sent by a bare undici loop (the reference) for the ratio.
// Run alone: npx tsx bench/dispatch.ts [deliveries]   (bounded: 5,000 deliveries by default)
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolveConfig } from '../src/config.js';
import { benchServer, cpuSeconds, perfRecord, schedMs, startProfile, threadCpuMs } from './lib.js';

export interface DispatchBenchOptions {
  /** Deliveries measured per round (after a warm-up of a tenth of them). */
  deliveries?: number;
  /** Concurrent /dispatch requests from the load generator, and concurrent requests of the bare loop. */
  concurrency?: number;
  store?: 'sqlite' | 'memory';
  /** Skip the bare undici baseline (for profiling the server alone). */
  skipBaseline?: boolean;
  /** --delivery-per-host (default: `concurrency`, as many attempts in flight to the receiver as the bare loop has requests). */
  perHost?: number;
  /** --delivery-threads (default: the server's default). */
  threads?: number;
  /** Deliveries per /dispatch request (a JSON array batch when > 1; default 1). */
  batch?: number;
  /** Deliveries per second of the fixed-rate latency run (0: skip it). */
  pacedRate?: number;
  /** Rounds of (Hookhub, bare loop), in alternating order (default 3); the ratio is the median of the rounds'. */
  rounds?: number;
}

/** One measured run of Hookhub: `deliveries` through /dispatch, from the first request sent to the last arrival. */
export interface HookhubRun {
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
  /** CPU time of the load generator process per delivery, µs. */
  loaderCpuUsPerDelivery: number;
  /** CPU time of the receiver process per delivery, µs. */
  receiverCpuUsPerDelivery: number;
  /** CPU time of the three processes (server, load generator, receiver) per delivery, µs. */
  totalCpuUsPerDelivery: number;
  /** Busy share of each process while measured: its CPU time ÷ the wall time (1 = one core all the time). */
  busy: { server: number; loader: number; receiver: number };
  /** Share of the wall time the server's thread was runnable but waiting for a core (taken by other processes); null off Linux. */
  serverWaiting: number | null;
}

/** One measured run of the reference: a bare undici loop in a fresh process of its own. */
export interface BareRun {
  requestsPerSecond: number; seconds: number; concurrency: number;
  senderCpuUsPerRequest: number; receiverCpuUsPerRequest: number; totalCpuUsPerDelivery: number;
  /** Busy share of the sender (one thread: 1 is its ceiling) and of the receiver while measured. */
  busy: { sender: number; receiver: number };
  /**
   * Share of the wall time the sender's thread was runnable but waiting for a core; null off Linux. Its busy
   * share plus this one near 1: it never waited for the receiver, it ran at its own ceiling on the CPU it got.
   */
  senderWaiting: number | null;
  /** Share of the wall time the sender's thread was on a core or waiting for one (1: never idle, at its own ceiling); null off Linux. */
  senderRunnable: number | null;
  /** CPU time of the sender's thread per request, µs; null off Linux. */
  senderThreadCpuUsPerRequest: number | null;
}

export interface DispatchRound {
  hookhub: HookhubRun;
  bare?: BareRun;
  /** Hookhub's deliveries/s ÷ the bare loop's requests/s in this round. */
  ratio?: number;
  /**
   * The bare sender's thread CPU per request ÷ the server's event-loop CPU per delivery: the ratio on a machine
   * of its own, where each side is bound by that one thread. Whatever else runs on the machine.
   */
  threadRatio?: number;
  /** Which ran first in this round (the order alternates). */
  first: 'hookhub' | 'bare';
}

export interface DispatchBenchResults {
  deliveries: number;
  store: string;
  perHost: number;
  /** The median round (by ratio; by deliveries/s without a baseline). */
  hookhub: HookhubRun;
  /** Latency enqueue→delivered at a fixed rate below capacity (no backlog). */
  paced?: { rate: number; deliveries: number; deliveredP50Ms: number; deliveredP99Ms: number; deliveredMaxMs: number };
  /** The reference of the median round; totalCpuUsPerDelivery: its sender plus the receiver, per request. */
  bareUndici: BareRun;
  rounds: DispatchRound[];
  /** Median of the rounds' ratios (each delivery is two HTTP exchanges and a commit: ~0.5× is the limit). */
  ratio: number;
  /** Median of the rounds' thread-cost ratios (DispatchRound.threadRatio); NaN without them. */
  threadRatio: number;
  /** 1-minute load average of the machine at the start and the end (other processes share its cores). */
  loadAverage: [number, number];
  goals: { deliveriesPerSecond: number; met: boolean; ratio: number; ratioMet: boolean };
}

const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system;
const round2 = (n: number): number => Math.round(n * 100) / 100;

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

/** The median of some numbers (NaN for none). */
const median3 = (xs: number[]): number => (xs.length === 0 ? NaN : ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number));

const loadAverage = (): number => round2(loadavg()[0] ?? 0);

/**
 * Three processes, as in production: the server under test (this process, nothing else on it), the load
 * generator posting to /dispatch (dispatch-load.ts) and the receiver (dispatch-receiver.ts). The reference
 * is a bare undici loop in a fresh process of its own (dispatch-bare.ts) sending the same requests to the
 * same receiver: no server, load generator or their heap beside it, so it runs at its own ceiling (its busy
 * share, reported, says whether it did). Rounds alternate which of the two runs first.
 */
export async function runDispatchBench(opts: DispatchBenchOptions = {}): Promise<DispatchBenchResults> {
  const total = opts.deliveries ?? 5000;
  const concurrency = opts.concurrency ?? 64;
  const perHost = opts.perHost ?? concurrency;
  const store = opts.store ?? 'sqlite';
  const rounds = Math.max(1, opts.rounds ?? 3);
  const batch = opts.batch ?? 1;
  // As long as the reference's: both JITs warm before they are measured.
  const warm = Math.max(BARE_WARM, Math.floor(total / 10));
  const pacedRate = opts.pacedRate ?? 1000;
  const dataDir = mkdtempSync(join(tmpdir(), 'hookhub-bench-'));
  const receiver = child('./dispatch-receiver.ts');
  const loader = child('./dispatch-load.ts');
  const loadAtStart = loadAverage();
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
      'delivery-per-host': perHost,
      ...(opts.threads !== undefined ? { 'delivery-threads': opts.threads } : {}) });
    const hub = await (await benchServer()).startServer(config);
    let next = 0;
    /** Deliveries next..next+count-1 (numbers never reused, so that late arrivals cannot count twice). */
    const take = (count: number): number => {
      const from = next;
      next += count;
      return from;
    };

    /** One measured Hookhub run of `total` deliveries. */
    const runHookhub = async (): Promise<HookhubRun> => {
      const from = take(total);
      const elu = performance.eventLoopUtilization();
      const cpuBefore = threadCpuMs();
      const processBefore = process.cpuUsage();
      const othersBefore = [childCpuUs(loader), childCpuUs(receiver)] as const;
      const wallBefore = performance.now();
      const schedBefore = schedMs();
      const profiling = process.env.BENCH_PROFILE ? await startProfile() : undefined;
      const perf = process.env.BENCH_PERF ? perfRecord(process.env.BENCH_PERF) : undefined;
      const [loaded, arrived] = await run({ type: 'load', hubUrl: hub.url, target, from, count: total, concurrency: batch > 1 ? Math.max(2, Math.ceil(concurrency / 8)) : concurrency, batch });
      await profiling?.stop(process.env.BENCH_PROFILE as string);
      await perf?.stop();
      const wallUs = (performance.now() - wallBefore) * 1000;
      const schedAfter = schedMs();
      const utilization = round2(performance.eventLoopUtilization(elu).utilization);
      const cpuAfter = threadCpuMs();
      const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
      const serverUs = cpuUs(process.cpuUsage(processBefore));
      const loaderUs = childCpuUs(loader) - othersBefore[0];
      const receiverUs = childCpuUs(receiver) - othersBefore[1];
      const first = Math.min(...loaded.sent);
      const last = Math.max(...arrived.times);
      const enqueue = loaded.accepted.map((t, i) => t - (loaded.sent[i] as number));
      const delivered = arrived.times.map((t, i) => t - (loaded.sent[i] as number));
      const seconds = (last - first) / 1000;
      return {
        deliveriesPerSecond: Math.round(total / seconds),
        enqueueP50Ms: quantile(enqueue, 0.5),
        enqueueP99Ms: quantile(enqueue, 0.99),
        deliveredP50Ms: quantile(delivered, 0.5),
        deliveredP99Ms: quantile(delivered, 0.99),
        seconds: round2(seconds),
        serverLoopUtilization: utilization,
        serverCpuUsPerDelivery: cpuMs === undefined ? null : Math.round((cpuMs * 1000) / total),
        serverProcessCpuUsPerDelivery: Math.round(serverUs / total),
        loaderCpuUsPerDelivery: Math.round(loaderUs / total),
        receiverCpuUsPerDelivery: Math.round(receiverUs / total),
        totalCpuUsPerDelivery: Math.round((serverUs + loaderUs + receiverUs) / total),
        busy: { server: round2(serverUs / wallUs), loader: round2(loaderUs / wallUs), receiver: round2(receiverUs / wallUs) },
        serverWaiting: schedBefore && schedAfter ? round2(((schedAfter.wait - schedBefore.wait) * 1000) / wallUs) : null,
      };
    };

    /** The reference: the same requests, to the same receiver, from a bare undici loop in a fresh process of its own. */
    const runBare = async (): Promise<BareRun> => {
      const bareWarm = Math.max(warm, BARE_WARM);
      take(bareWarm);
      const from = take(total);
      await askChild(receiver, { type: 'expect', from, count: total }, 'expecting');
      const arrived = askChild<Arrived>(receiver, undefined, 'arrived');
      const sender = child('./dispatch-bare.ts');
      // A fresh process, warmed up on at least BARE_WARM requests before it is measured (its JIT starts cold);
      // it says when the measured part starts, so that the receiver's CPU is counted from there.
      await askChild(sender, { type: 'bare', target, warm: bareWarm, from, count: total, concurrency }, 'warmed');
      const receiverBefore = childCpuUs(receiver);
      const [bare] = await Promise.all([askChild<{ seconds: number; cpuUs: number; waitMs: number | null; threadMs: number | null }>(sender, { type: 'go' }, 'bare'), arrived]);
      const receiverUs = childCpuUs(receiver) - receiverBefore;
      const wallUs = bare.seconds * 1e6;
      return {
        requestsPerSecond: Math.round(total / bare.seconds),
        seconds: round2(bare.seconds),
        concurrency,
        senderCpuUsPerRequest: Math.round(bare.cpuUs / total),
        receiverCpuUsPerRequest: Math.round(receiverUs / total),
        totalCpuUsPerDelivery: Math.round((bare.cpuUs + receiverUs) / total),
        busy: { sender: round2(bare.cpuUs / wallUs), receiver: round2(receiverUs / wallUs) },
        senderWaiting: bare.waitMs === null ? null : round2((bare.waitMs * 1000) / wallUs),
        senderRunnable: bare.waitMs === null || bare.threadMs === null ? null : round2(((bare.waitMs + bare.threadMs) * 1000) / wallUs),
        senderThreadCpuUsPerRequest: bare.threadMs === null ? null : Math.round((bare.threadMs * 1000) / total),
      };
    };

    const results: DispatchRound[] = [];
    let paced: DispatchBenchResults['paced'];
    try {
      await run({ type: 'load', hubUrl: hub.url, target, from: take(warm), count: warm, concurrency, batch });
      for (let r = 0; r < rounds; r++) {
        // The order alternates: a machine speeding up or slowing down favours neither side.
        const bareFirst = !opts.skipBaseline && r % 2 === 1;
        const bare1 = bareFirst ? await runBare() : undefined;
        const hookhub = await runHookhub();
        const bare = bare1 ?? (opts.skipBaseline ? undefined : await runBare());
        const threadRatio = bare?.senderThreadCpuUsPerRequest && hookhub.serverCpuUsPerDelivery ? round2(bare.senderThreadCpuUsPerRequest / hookhub.serverCpuUsPerDelivery) : undefined;
        results.push({
          hookhub, first: bareFirst ? 'bare' : 'hookhub',
          ...(bare ? { bare, ratio: round2(hookhub.deliveriesPerSecond / bare.requestsPerSecond) } : {}),
          ...(threadRatio !== undefined ? { threadRatio } : {}),
        });
      }
      if (pacedRate > 0 && batch === 1) {
        const count = pacedRate * 4;
        const [sent, got] = await run({ type: 'paced', hubUrl: hub.url, target, from: take(count), count, rate: pacedRate }, 'paced');
        const delivered = got.times.map((t, i) => t - (sent.sent[i] as number));
        paced = { rate: pacedRate, deliveries: count, deliveredP50Ms: quantile(delivered, 0.5), deliveredP99Ms: quantile(delivered, 0.99), deliveredMaxMs: quantile(delivered, 1) };
      }
    } finally {
      await hub.close();
    }

    const byMedian = [...results].sort((a, b) => (a.ratio ?? a.hookhub.deliveriesPerSecond) - (b.ratio ?? b.hookhub.deliveriesPerSecond));
    const median = byMedian[Math.floor(byMedian.length / 2)] as DispatchRound;
    const noBaseline: BareRun = {
      requestsPerSecond: NaN, seconds: NaN, concurrency, senderCpuUsPerRequest: NaN, receiverCpuUsPerRequest: NaN, totalCpuUsPerDelivery: NaN,
      busy: { sender: NaN, receiver: NaN }, senderWaiting: null, senderRunnable: null, senderThreadCpuUsPerRequest: null,
    };
    const ratio = median.ratio ?? NaN;
    const perSecond = median.hookhub.deliveriesPerSecond;
    return {
      deliveries: total,
      store,
      perHost,
      hookhub: median.hookhub,
      ...(paced ? { paced } : {}),
      bareUndici: median.bare ?? noBaseline,
      rounds: results,
      ratio,
      threadRatio: median3(results.flatMap((r) => (r.threadRatio !== undefined ? [r.threadRatio] : []))),
      loadAverage: [loadAtStart, loadAverage()],
      goals: { deliveriesPerSecond: 3000, met: perSecond >= 3000, ratio: 0.4, ratioMet: ratio >= 0.4 },
    };
  } finally {
    loader.kill();
    receiver.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One line per round: the ratio, the server's CPU per delivery, and each process's busy share. */
export function dispatchRoundsText(r: DispatchBenchResults): string {
  return r.rounds.map((x, i) => {
    const h = x.hookhub;
    const b = x.bare;
    return `round ${i + 1} (${x.first} first): Hookhub ${h.deliveriesPerSecond}/s, server ${h.serverProcessCpuUsPerDelivery} µs CPU per delivery `
      + `(event loop ${h.serverCpuUsPerDelivery ?? 'n/a'} µs), busy: server ${h.busy.server} (+${h.serverWaiting ?? 'n/a'} waiting for a core), load generator ${h.busy.loader}, receiver ${h.busy.receiver}`
      + (b ? ` | bare loop ${b.requestsPerSecond}/s, busy: sender ${b.busy.sender} (+${b.senderWaiting ?? 'n/a'} waiting for a core), receiver ${b.busy.receiver} | ratio ${x.ratio}×` : '')
      + (x.threadRatio !== undefined ? `, thread costs ${b?.senderThreadCpuUsPerRequest} ÷ ${h.serverCpuUsPerDelivery} µs = ${x.threadRatio}×` : '');
  }).join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = process.argv[2] ? Number(process.argv[2]) : undefined;
  const env = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
  const [threads, batch, perHost, pacedRate, rounds] = ['BENCH_DELIVERY_THREADS', 'BENCH_BATCH', 'BENCH_PER_HOST', 'BENCH_PACED', 'BENCH_ROUNDS'].map(env);
  runDispatchBench({
    skipBaseline: process.env.BENCH_SKIP_BASELINE === '1',
    ...(n ? { deliveries: n } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(batch !== undefined ? { batch } : {}),
    ...(perHost !== undefined ? { perHost } : {}),
    ...(pacedRate !== undefined ? { pacedRate } : {}),
    ...(rounds !== undefined ? { rounds } : {}),
  }).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      console.log(dispatchRoundsText(r));
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
