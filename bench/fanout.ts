// Fan-out: Hookhub's /sse, /stream and /ws (Hookbox PUBLISH frames) side by side with nginx + nchan's
// eventsource and websocket, in one run. Consumers live in separate generator processes
// (bench/fanout-gen.ts) on raw sockets and count events by their own bytes; each reports its CPU busy
// share, so a generator that could set the pace shows. Per target and round: a burst (deliveries/s and
// server CPU per 1,000 deliveries), then a paced phase (latency p50/p99), every consumer checked for
// exactly the messages sent; rounds alternate the order. Then idle memory: 19,000 connections held by
// one server process (a process here may hold 20,000 descriptors), RSS per connection.
// Runnable alone: npx tsx bench/fanout.ts (BENCH_* variables below size it).
import { fork, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { GenCommand, GenReport, GenTarget } from './fanout-gen.js';
import { NativeGenerator } from './fanout-gen-native.js';
import { WebSocket } from 'ws';
import { cpuSeconds, fmt, freePort, isMain, percentile, rssBytes, schedMs, startHookhub, type ChildServer } from './lib.js';
import { nchanAvailable, startNchan } from './nchan.js';

export interface FanoutOptions {
  subscribers: number;
  /** Messages published back to back (the burst). */
  burst: number;
  /** Messages published at `pacedRate` per second after the burst (latency). */
  paced: number;
  pacedRate: number;
  rounds: number;
  /** Generator processes the consumers are spread over. Two on this 2-core machine: each stays well under
   *  a core, and more processes only add context switches that the servers pay for (nchan, writing one
   *  message per system call, most: in short runs it did about half the deliveries/s with 4 as with 1). */
  generators: number;
  /** Idle connections held by one server process (0: skip). */
  idle: number;
  publishConcurrency: number;
  /** nchan's ceiling probe: bursts of these multiples of `burst` on the same subscribers ([]: skip). */
  ceilingFactors: number[];
}

export const defaultFanoutOptions = (): FanoutOptions => ({
  subscribers: Number(process.env.BENCH_SUBSCRIBERS ?? 1000),
  burst: Number(process.env.BENCH_BURST ?? 200),
  // A p99 over receipts is decided by the slowest 1% of messages: 300 per round puts 3 of them there (with 150,
  // one or two slow messages were the whole figure, and a run's ratios swung by 10-20%).
  paced: Number(process.env.BENCH_PACED ?? 300),
  pacedRate: 25,
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  generators: Number(process.env.BENCH_GENERATORS ?? 2),
  idle: Number(process.env.BENCH_IDLE ?? 19000),
  publishConcurrency: Number(process.env.BENCH_PUBLISHERS ?? 8),
  ceilingFactors: (process.env.BENCH_CEILING ?? '0.5,1,2,4').split(',').filter(Boolean).map(Number),
});

type Family = 'sse' | 'ws';

interface Target {
  name: string;
  family: Family;
  nchan: boolean;
  pid: number;
  port: number;
  subscribePath: (round: number) => string;
  publishPath: (round: number) => string;
  kind: GenTarget['kind'];
  hello: (round: number) => string[];
  base: string;
}

export interface RoundResult {
  target: string;
  family: Family;
  nchan: boolean;
  round: number;
  deliveries: number;
  expected: number;
  burstSeconds: number;
  deliveriesPerSec: number;
  serverCpuMsPer1000: number;
  /** Server CPU time over the burst's wall time: near 1, a single-threaded server is at its ceiling. */
  serverCpuShare: number;
  /** Busiest generator process's CPU share of the burst's wall time, and all of them together (cores). */
  genCpuMax: number;
  genCpuTotal: number;
  pacedP50: number;
  pacedP99: number;
  /** Every receipt's latency in the paced phase (ms), sorted: the run's p99 over all rounds is taken from these. */
  pacedLatenciesMs: Float64Array;
  /** Busiest generator process's CPU share of the paced phase's wall time. */
  pacedGenCpuMax: number;
  /** The server's main thread on a core per paced message (ms, /proc schedstat): its own work for one message to
   *  every subscriber, which the machine's load does not lengthen as it does the latency. */
  pacedServerCpuMs: number;
  /** Of which user space (the rest is the kernel's: system calls, loopback delivery), from /proc ticks. */
  pacedServerUserMs: number;
  /** Time the server's main thread waited for a core (runnable, not running) per paced message (schedstat). */
  pacedServerWaitMs: number;
  /** Paced messages, median over them: publish start → the first subscriber's receipt (the publish path), and
   *  first → last receipt (the write loop over every subscriber, with the time the server was off its core). */
  pacedFirstMs: number;
  pacedSpanMs: number;
  /** Messages a consumer did not get, or got twice (burst + paced, over all consumers). */
  missing: number;
  duplicated: number;
  lostConnections: number;
}

export interface IdleResult {
  target: string;
  family: Family;
  connections: number;
  rssBeforeMiB: number;
  /** After the first half of the connections. */
  rssMidMiB: number;
  rssAfterMiB: number;
  /** (after − before) / connections. */
  perConnKiB: number;
  /** (after − mid) / the second half's connections. */
  marginalKiB: number;
  /** RSS a process would need for 100,000 such connections at this cost. */
  projected100kMiB: number;
}

export interface FanoutReport {
  options: FanoutOptions;
  rounds: RoundResult[];
  ceiling: CeilingStep[];
  idle: IdleResult[];
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const marker = (): string => `#T${Math.round(now() * 1000)};`;
const WARM = '#T0;';
const WARMUP_BURST = 50;
/** Untimed paced messages before the measured ones: a burst leaves the path of a message that finds the server idle
 *  (core/batch-writer writeThrough) uncompiled, and the first target measured on a fresh Hookhub process had the
 *  worst /sse round in each of three runs (a fourth was disturbed by other work). A second at the paced rate, for
 *  every server alike. */
const WARMUP_PACED = 25;

/**
 * BENCH_PIN=1: the servers on core 0, the clients (the generators and this process, which publishes) on the
 * others, as subscribers on other machines would be: their reading then never takes the server's core.
 * Every thread of each process (taskset -a).
 */
function pin(pids: number[], side: 'servers' | 'clients'): void {
  if (!process.env.BENCH_PIN) return;
  const cores = side === 'servers' ? '0' : '1-1023';
  for (const pid of pids) spawnSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

/** What the bench needs of a generator process: a forked fanout-gen.ts, or the C one (NativeGenerator). */
interface GenProcess {
  readonly pid?: number | undefined;
  send(cmd: GenCommand): boolean;
  on(event: 'message', fn: (m: { type: string }) => void): unknown;
  off(event: 'message', fn: (m: { type: string }) => void): unknown;
  disconnect(): void;
}

/** The generator processes, driven over IPC (BENCH_GEN=c: the C generator, bench/fanout-gen.c). */
class Generators {
  private constructor(private readonly procs: GenProcess[]) {}

  static async start(n: number): Promise<Generators> {
    const script = fileURLToPath(new URL('./fanout-gen.ts', import.meta.url));
    // BENCH_GEN_NODE_ARGS passes node flags to the generators, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = process.env.BENCH_GEN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const procs: GenProcess[] = Array.from({ length: n }, () =>
      process.env.BENCH_GEN === 'c' ? NativeGenerator.start() : fork(script, [], { execArgv: [...nodeArgs, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    pin(procs.map((p) => p.pid as number), 'clients');
    // BENCH_GEN_BATCH: generators under SCHED_BATCH, whose wake-ups do not preempt the server (an experiment: it cut
    // nchan's context switches, not its CPU per delivery).
    if (process.env.BENCH_GEN_BATCH) for (const p of procs) spawnSync('chrt', ['-a', '-b', '-p', '0', String(p.pid)], { stdio: 'inherit' });
    return new Generators(procs);
  }

  private ask<T>(proc: GenProcess, cmd: GenCommand, type: string, timeoutMs = 300_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator did not answer ${cmd.type}`)), timeoutMs);
      const onMessage = (m: { type: string }): void => {
        if (m.type !== type) return;
        clearTimeout(timer);
        proc.off('message', onMessage);
        resolve(m as T);
      };
      proc.on('message', onMessage);
      proc.send(cmd);
    });
  }

  async open(target: GenTarget, count: number): Promise<number> {
    const share = (i: number): number => Math.floor(count / this.procs.length) + (i < count % this.procs.length ? 1 : 0);
    const answers = await Promise.all(this.procs.map((p, i) => this.ask<{ failed: number }>(p, { type: 'open', target, count: share(i) }, 'opened')));
    return answers.reduce((n, a) => n + a.failed, 0);
  }

  async reset(latencies: boolean): Promise<void> {
    await Promise.all(this.procs.map((p) => this.ask(p, { type: 'reset', latencies }, 'reset')));
  }

  report(): Promise<GenReport[]> {
    return Promise.all(this.procs.map((p) => this.ask<GenReport>(p, { type: 'report' }, 'report')));
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.ask(p, { type: 'close' }, 'closed')));
  }

  pids(): number[] {
    return this.procs.map((p) => p.pid as number);
  }

  stop(): void {
    for (const p of this.procs) p.disconnect();
  }
}

const sum = (reports: GenReport[], f: (r: GenReport) => number): number => reports.reduce((n, r) => n + f(r), 0);

/** Polls the generators until `expected` deliveries arrived, or nothing arrived for 5 s. */
async function awaitDeliveries(gens: Generators, expected: number): Promise<GenReport[]> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const reports = await gens.report();
    const got = sum(reports, (r) => r.deliveries);
    if (got >= expected) return reports;
    if (got !== last) {
      last = got;
      since = Date.now();
    } else if (Date.now() - since > 5000) return reports;
    await sleep(20);
  }
}

/** A target's consumers, all subscribed (each has seen a warm-up message), and a publisher to it. */
interface Subscribed {
  publish(body: string): Promise<void>;
  /** Publishes `count` messages back to back, `publishConcurrency` in flight. */
  burst(count: number): Promise<void>;
  close(): Promise<void>;
}

async function subscribe(gens: Generators, target: Target, round: number, opts: FanoutOptions): Promise<Subscribed> {
  const n = opts.subscribers;
  const pool = new Pool(target.base, { connections: opts.publishConcurrency, pipelining: 1 });
  const path = target.publishPath(round);
  const publish = async (body: string): Promise<void> => {
    const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`${target.name} publish answered ${res.statusCode}`);
  };
  const close = async (): Promise<void> => {
    await gens.close();
    await pool.close();
  };
  try {
    const failed = await gens.open({ port: target.port, path: target.subscribePath(round), kind: target.kind, hello: target.hello(round) }, n);
    if (failed > 0) throw new Error(`${target.name}: ${failed} of ${n} consumers could not connect`);
    const warmDeadline = Date.now() + 60_000;
    for (;;) {
      await publish(WARM);
      await sleep(100);
      const warmed = sum(await gens.report(), (r) => r.warmed);
      if (warmed >= n) break;
      if (Date.now() > warmDeadline) throw new Error(`${target.name}: only ${warmed}/${n} consumers warmed up`);
    }
  } catch (err) {
    await close();
    throw err;
  }
  const burst = async (count: number): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: opts.publishConcurrency }, async () => {
      while (next < count) {
        next++;
        await publish(marker());
      }
    }));
  };
  // An untimed burst first, so that the server's code is compiled as in a long-running process.
  await gens.reset(false);
  await burst(WARMUP_BURST);
  await awaitDeliveries(gens, n * WARMUP_BURST);
  await gens.reset(false);
  for (let i = 0; i < WARMUP_PACED; i++) {
    await sleep(1000 / opts.pacedRate);
    await publish(marker());
  }
  await awaitDeliveries(gens, n * WARMUP_PACED);
  await sleep(200);
  return { publish, burst, close };
}

interface BurstResult {
  reports: GenReport[];
  deliveries: number;
  seconds: number;
  /** Server CPU seconds during the burst. */
  cpu: number;
  /** Each generator process's CPU busy share of the burst's wall time. */
  genShares: number[];
}

/** One timed burst of `count` messages: from the first publish to the last receipt. */
async function timedBurst(gens: Generators, target: Target, sub: Subscribed, count: number, subscribers: number): Promise<BurstResult> {
  await gens.reset(false);
  const cpuBefore = cpuSeconds(target.pid);
  // BENCH_PERF: the server's writes, the wake-ups it causes and its context switches during the burst, per 1,000
  // deliveries (perf stat on its pid): how many deliveries each system call carries.
  const perf = process.env.BENCH_PERF
    ? spawn('perf', ['stat', '-x', ',', '-e', 'task-clock,context-switches,syscalls:sys_enter_writev,syscalls:sys_enter_write,sched:sched_wakeup,syscalls:sys_enter_epoll_wait', '-p', String(target.pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
    : undefined;
  let perfOut = '';
  perf?.stderr?.on('data', (d: Buffer) => (perfOut += d.toString()));
  if (perf) await sleep(300);
  const started = now();
  await sub.burst(count);
  const reports = await awaitDeliveries(gens, subscribers * count);
  if (perf) {
    const done = new Promise((r) => perf.on('exit', r));
    perf.kill('SIGINT');
    await done;
    const per1000 = (v: string): string => fmt((Number(v) * 1000) / (subscribers * count), 1);
    console.log(`perf ${target.name}: per 1000 deliveries: ${perfOut.trim().split('\n').map((l) => l.split(',')).filter((f) => f.length > 2).map((f) => `${f[2]} ${per1000(f[0] as string)}`).join(', ')}`);
  }
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  const lastAt = Math.max(...reports.map((r) => r.lastAt));
  return {
    reports,
    deliveries: sum(reports, (r) => r.deliveries),
    seconds: (lastAt - started) / 1000,
    cpu,
    genShares: reports.map((r) => r.cpuMs / Math.max(1, r.wallMs)),
  };
}

/** One paced phase's figures (see RoundResult's paced fields). */
interface PacedResult {
  reports: GenReport[];
  p50: number;
  p99: number;
  genCpuMax: number;
  serverCpuMs: number;
  serverUserMs: number;
  serverWaitMs: number;
  firstMs: number;
  spanMs: number;
  /** Each message's last receipt (publish start → the last subscriber's), slowest first. */
  lastMs: number[];
  /** Every receipt's latency, sorted. */
  latencies: Float64Array;
  deliveries: number;
}

/** `count` messages at `pacedRate`/s, latency from each publish's start to each receipt. */
async function pacedPhase(gens: Generators, target: Target, sub: Subscribed, opts: FanoutOptions, traceName?: string): Promise<PacedResult> {
  const n = opts.subscribers;
  await gens.reset(true);
  const trace = traceName ? await startTrace(traceName, [target.pid, ...gens.pids(), process.pid]) : undefined;
  const cpuBefore = schedMs(target.pid);
  const userBefore = userSeconds(target.pid);
  const start = now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < opts.paced; i++) {
    const wait = start + (i * 1000) / opts.pacedRate - now();
    if (wait > 0) await sleep(wait);
    sends.push(sub.publish(marker()));
  }
  await Promise.all(sends);
  const reports = await awaitDeliveries(gens, n * opts.paced);
  const cpuAfter = schedMs(target.pid);
  const user = userSeconds(target.pid) - userBefore;
  await trace?.stop({ target: target.name, serverPid: target.pid, genPids: gens.pids(), parentPid: process.pid, paced: reports.map((r) => ({ markersUs: r.markersUs, latenciesMs: r.latenciesMs })) });
  const latencies = Float64Array.from(reports.flatMap((r) => r.latenciesMs)).sort();
  const split = pacedSplit(reports);
  return {
    reports,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    latencies,
    genCpuMax: Math.max(...reports.map((r) => r.cpuMs / Math.max(1, r.wallMs))),
    serverCpuMs: cpuBefore && cpuAfter ? (cpuAfter.cpu - cpuBefore.cpu) / opts.paced : NaN,
    serverUserMs: (user * 1000) / opts.paced,
    serverWaitMs: cpuBefore && cpuAfter ? (cpuAfter.wait - cpuBefore.wait) / opts.paced : NaN,
    firstMs: split.pacedFirstMs,
    spanMs: split.pacedSpanMs,
    lastMs: split.lastMs,
    deliveries: sum(reports, (r) => r.deliveries),
  };
}

async function measure(gens: Generators, target: Target, round: number, opts: FanoutOptions): Promise<RoundResult> {
  const n = opts.subscribers;
  const sub = await subscribe(gens, target, round, opts);
  try {
    const b = await timedBurst(gens, target, sub, opts.burst, n);
    const burst = b.reports;
    const { deliveries, cpu } = b;
    const burstSeconds = b.seconds;
    const shares = b.genShares;

    // Paced: one message every 1/pacedRate s.
    const traceName = process.env.BENCH_TRACE ? `${process.env.BENCH_TRACE}-${target.name.replace(/\W+/g, '_')}-r${round}` : undefined;
    const p = await pacedPhase(gens, target, sub, opts, traceName);
    // The slowest messages (their last receipt): a p99 over a few dozen messages is theirs.
    if (process.env.BENCH_SLOWEST) console.log(`slowest ${target.name} r${round}: ${p.lastMs.slice(0, 6).map((v) => fmt(v, 1)).join(' ')} ms; median message ${fmt(percentile([...p.lastMs].reverse(), 50), 1)} ms`);
    const paced = p.reports;
    const all = [...burst, ...paced];
    return {
      target: target.name,
      family: target.family,
      nchan: target.nchan,
      round,
      deliveries,
      expected: n * opts.burst,
      burstSeconds,
      deliveriesPerSec: deliveries / burstSeconds,
      serverCpuMsPer1000: (cpu * 1000) / (deliveries / 1000),
      serverCpuShare: cpu / burstSeconds,
      genCpuMax: Math.max(...shares),
      genCpuTotal: shares.reduce((a, b) => a + b, 0),
      pacedP50: p.p50,
      pacedP99: p.p99,
      pacedLatenciesMs: p.latencies,
      pacedGenCpuMax: p.genCpuMax,
      pacedServerCpuMs: p.serverCpuMs,
      pacedServerUserMs: p.serverUserMs,
      pacedServerWaitMs: p.serverWaitMs,
      pacedFirstMs: p.firstMs,
      pacedSpanMs: p.spanMs,
      missing: Math.max(0, n * opts.burst - deliveries) + Math.max(0, n * opts.paced - p.deliveries),
      duplicated: sum(burst, (r) => Math.max(0, r.maxPerSocket - opts.burst)) + sum(paced, (r) => Math.max(0, r.maxPerSocket - opts.paced)),
      lostConnections: Math.max(...all.map((r) => r.lost)),
    };
  } finally {
    await sub.close();
  }
}

/**
 * BENCH_TRACE=<path prefix>: the paced phase's system calls and context switches of the server, the generators and this process (perf record,
 * CLOCK_MONOTONIC timestamps), beside a JSON of the pids, the wall−monotonic clock offset and every receipt: what
 * bench/fanout-trace.ts splits into publish → server read → first and last subscriber write → generators' reads → receipt.
 */
async function startTrace(prefix: string, pids: number[]): Promise<{ stop(info: object): Promise<void> }> {
  const events = ['write', 'writev', 'read', 'recvfrom', 'epoll_wait'].flatMap((c) => [`syscalls:sys_enter_${c}`, `syscalls:sys_exit_${c}`]);
  // Only these processes (all their threads): perf's own writes to its file would otherwise be traced too.
  // BENCH_TRACE_PROFILE=only: the call stacks alone (the system-call tracing slows every write a little).
  const syscalls = process.env.BENCH_TRACE_PROFILE === 'only' ? [] : [...events.flatMap((e) => ['-e', e]), '-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup'];
  const perf = spawn('perf', ['record', '-p', pids.join(','), '-k', 'mono', '-m', '1024', ...(syscalls.length ? syscalls : ['-e', 'dummy']), '-o', `${prefix}.perf`], { stdio: 'ignore' });
  // BENCH_TRACE_PROFILE: the server's on-CPU call stacks too (with BENCH_SERVER_NODE_ARGS=--perf-basic-prof for JS names).
  const profile = process.env.BENCH_TRACE_PROFILE
    ? spawn('perf', ['record', '-e', 'cpu-clock', '-F', '4999', '-g', '-p', String(pids[0]), '-o', `${prefix}.profile.perf`], { stdio: 'ignore' })
    : undefined;
  await sleep(500);
  const offsetMs = now() - Number(process.hrtime.bigint()) / 1e6;
  return {
    stop: async (info) => {
      const done = Promise.all([perf, ...(profile ? [profile] : [])].map((p) => new Promise((r) => p.on('exit', r))));
      perf.kill('SIGINT');
      profile?.kill('SIGINT');
      await done;
      writeFileSync(`${prefix}.json`, JSON.stringify({ ...info, wallMinusMonoMs: offsetMs }));
    },
  };
}

/** nchan's deliveries/s as the burst grows: where they stop growing, nchan is at its own ceiling. */
export interface CeilingStep {
  target: string;
  burst: number;
  deliveriesPerSec: number;
  serverCpuShare: number;
  genCpuMax: number;
}

async function probeCeiling(gens: Generators, target: Target, opts: FanoutOptions): Promise<CeilingStep[]> {
  const sub = await subscribe(gens, target, 0, opts);
  const steps: CeilingStep[] = [];
  try {
    for (const factor of opts.ceilingFactors) {
      const count = Math.max(1, Math.round(opts.burst * factor));
      const b = await timedBurst(gens, target, sub, count, opts.subscribers);
      if (b.deliveries < count * opts.subscribers) throw new Error(`${target.name}: ${count * opts.subscribers - b.deliveries} deliveries missing in the ceiling probe`);
      steps.push({ target: target.name, burst: count, deliveriesPerSec: b.deliveries / b.seconds, serverCpuShare: b.cpu / b.seconds, genCpuMax: Math.max(...b.genShares) });
      await sleep(200);
    }
  } finally {
    await sub.close();
  }
  return steps;
}

const hello = (channel: string): string[] => [JSON.stringify([1, 'CONNECT', { cookie: '' }]), JSON.stringify([2, 'SUBSCRIBE', { channel_name: channel }])];

function hookhubTargets(hub: ChildServer, label = 'hookhub'): Target[] {
  const pid = hub.proc.pid as number;
  const port = Number(new URL(hub.url).port);
  const common = { pid, port, base: hub.url, nchan: false };
  return [
    { ...common, name: `${label} /sse`, family: 'sse', kind: 'http', subscribePath: (r) => `/sse?topic=sse${r}`, publishPath: (r) => `/api/topics/sse${r}/publish`, hello: () => [] },
    { ...common, name: `${label} /stream`, family: 'sse', kind: 'http', subscribePath: (r) => `/stream?topic=stream${r}`, publishPath: (r) => `/api/topics/stream${r}/publish`, hello: () => [] },
    { ...common, name: `${label} /ws (Hookbox)`, family: 'ws', kind: 'ws', subscribePath: () => '/ws', publishPath: (r) => `/api/topics/ws${r}/publish`, hello: (r) => hello(`ws${r}`) },
  ];
}

function nchanTargets(nchan: ChildServer & { workerPid(): number }): Target[] {
  const common = { pid: nchan.workerPid(), port: Number(new URL(nchan.url).port), base: nchan.url, nchan: true, hello: () => [] };
  return [
    { ...common, name: 'nginx+nchan eventsource', family: 'sse', kind: 'http', subscribePath: (r) => `/sub/es${r}`, publishPath: (r) => `/pub/es${r}` },
    { ...common, name: 'nginx+nchan websocket', family: 'ws', kind: 'ws', subscribePath: (r) => `/ws/ws${r}`, publishPath: (r) => `/pub/ws${r}` },
  ];
}

const hookhubEnv = (maxConnections: number): Record<string, string> => ({
  HOOKHUB_STORE: 'memory',
  HOOKHUB_MAX_CONNECTIONS: String(maxConnections),
  // No keep-alive traffic during the measurement (the generators do not answer pings).
  HOOKHUB_HEARTBEAT: '600s',
});

/** bench/node-floor.ts in its own process. */
async function startNodeFloor(port: number): Promise<ChildServer> {
  const script = fileURLToPath(new URL('./node-floor.ts', import.meta.url));
  const proc = fork(script, [String(port)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (code) => reject(new Error(`node-floor exited (${code})`)));
  });
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.on('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}

function floorTargets(floor: ChildServer): Target[] {
  const common = { pid: floor.proc.pid as number, port: Number(new URL(floor.url).port), base: floor.url, nchan: false, hello: () => [] };
  return [
    { ...common, name: 'node floor eventsource', family: 'sse', kind: 'http', subscribePath: (r) => `/sub/f${r}`, publishPath: (r) => `/pub/f${r}` },
    { ...common, name: 'node floor websocket', family: 'ws', kind: 'ws', subscribePath: (r) => `/ws/w${r}`, publishPath: (r) => `/pub/w${r}` },
  ];
}

const nchanPort = (): number => 18000 + Math.floor(Math.random() * 1000);

/**
 * One server process holding `count` idle connections (subscribed, checked live with one message),
 * opened in two halves: RSS before, after the first half and after all. The average includes what the
 * process grows by once whatever the number (e.g. V8's young generation filling up); the second half's
 * cost per connection (the marginal cost) does not, and is what the projection to 100,000 uses.
 */
/**
 * A full garbage collection in a server started with --inspect on `inspectPort` (through its inspector:
 * HeapProfiler.collectGarbage). What a connection costs is what it holds, not the garbage its opening left:
 * without it the /ws figure swung by more than a KiB per connection from run to run, with when the server
 * last collected.
 */
async function collectGarbage(inspectPort: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error('no inspector target');
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { id?: number }).id === 1) resolve();
    });
  });
  ws.close();
}

/** The server's RSS, after a full collection when it has an inspector (a garbage-collected server). */
async function idleRss(pid: number, inspectPort: number | undefined): Promise<number> {
  if (inspectPort !== undefined) await collectGarbage(inspectPort);
  await sleep(1000);
  return rssBytes(pid);
}

async function idleMemory(gens: Generators, target: Target, count: number, inspectPort?: number): Promise<IdleResult> {
  const pool = new Pool(target.base, { connections: 1 });
  const openLive = async (n: number, total: number): Promise<void> => {
    const failed = await gens.open({ port: target.port, path: target.subscribePath(0), kind: target.kind, hello: target.hello(0) }, n);
    if (failed > 0) throw new Error(`${target.name}: ${failed} of ${n} idle connections failed`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await pool.request({ path: target.publishPath(0), method: 'POST', headers: { 'content-type': 'text/plain' }, body: WARM });
      await res.body.dump();
      await sleep(500);
      const warmed = sum(await gens.report(), (r) => r.warmed);
      if (warmed >= total) break;
      if (Date.now() > deadline) throw new Error(`${target.name}: only ${warmed}/${total} idle connections live`);
    }
  };
  try {
    const before = await idleRss(target.pid, inspectPort);
    const half = Math.floor(count / 2);
    await openLive(half, half);
    const mid = await idleRss(target.pid, inspectPort);
    await openLive(count - half, count);
    const after = await idleRss(target.pid, inspectPort);
    const marginal = (after - mid) / (count - half);
    return {
      target: target.name,
      family: target.family,
      connections: count,
      rssBeforeMiB: before / 2 ** 20,
      rssMidMiB: mid / 2 ** 20,
      rssAfterMiB: after / 2 ** 20,
      perConnKiB: (after - before) / count / 1024,
      marginalKiB: marginal / 1024,
      projected100kMiB: (after + marginal * (100_000 - count)) / 2 ** 20,
    };
  } finally {
    await gens.close();
    await pool.close();
  }
}

/** BENCH_ONLY (parts of targets' names, comma-separated, e.g. "/ws,websocket") narrows the run while developing. */
function wanted(name: string): boolean {
  const only = process.env.BENCH_ONLY;
  return !only || only.split(',').some((part) => name.includes(part));
}

/** User-space CPU seconds of a process's main thread (/proc ticks). */
/** Per paced message, its first and last receipt over every generator; the medians of the first, and of last − first. */
function pacedSplit(paced: GenReport[]): { pacedFirstMs: number; pacedSpanMs: number; lastMs: number[] } {
  const byMessage = new Map<number, { first: number; last: number }>();
  for (const r of paced) {
    for (let i = 0; i < r.markersUs.length; i++) {
      const marker = r.markersUs[i] as number;
      const ms = r.latenciesMs[i] as number;
      const m = byMessage.get(marker);
      if (!m) byMessage.set(marker, { first: ms, last: ms });
      else {
        if (ms < m.first) m.first = ms;
        if (ms > m.last) m.last = ms;
      }
    }
  }
  const messages = [...byMessage.values()];
  const median = (values: number[]): number => percentile(values.sort((a, b) => a - b), 50);
  return {
    pacedFirstMs: median(messages.map((m) => m.first)),
    pacedSpanMs: median(messages.map((m) => m.last - m.first)),
    lastMs: messages.map((m) => m.last).sort((a, b) => b - a),
  };
}

function userSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) / 100;
  } catch {
    return NaN;
  }
}

export async function runFanoutBench(opts: FanoutOptions = defaultFanoutOptions(), log: (line: string) => void = console.log): Promise<FanoutReport> {
  const gens = await Generators.start(opts.generators);
  const rounds: RoundResult[] = [];
  const ceiling: CeilingStep[] = [];
  const idle: IdleResult[] = [];
  try {
    const hub = await startHookhub(hookhubEnv(opts.subscribers * 2 + 100));
    const nchan = nchanAvailable() ? await startNchan(nchanPort()) : undefined;
    // BENCH_BASELINE_DIST=<compiled tree under the repository>: a second Hookhub (e.g. main's) measured in the same
    // rounds, each of its targets right after the same target of this one: an A/B on the same machine load.
    const baselineDist = process.env.BENCH_BASELINE_DIST;
    const base = baselineDist ? await startHookhub(hookhubEnv(opts.subscribers * 2 + 100), baselineDist) : undefined;
    // The floor of a Node fan-out (bench/node-floor.ts), unless BENCH_FLOOR=0.
    const floor = process.env.BENCH_FLOOR === '0' ? undefined : await startNodeFloor(nchanPort() + 1000);
    try {
      const [sse, stream, ws] = hookhubTargets(hub);
      const [baseSse, baseStream, baseWs] = base ? hookhubTargets(base, 'baseline') : [];
      const [es, nws] = nchan ? nchanTargets(nchan) : [];
      const [floorEs, floorWs] = floor ? floorTargets(floor) : [];
      pin([process.pid], 'clients');
      pin([hub, base, floor].flatMap((server) => (server ? [server.proc.pid as number] : [])).concat(nchan ? [nchan.proc.pid as number, nchan.workerPid()] : []), 'servers');
      // Interleaved (sse, nchan eventsource, stream, ws, nchan websocket), the order reversed every other round.
      const order = [sse, baseSse, es, floorEs, stream, baseStream, ws, baseWs, nws, floorWs].filter((t): t is Target => t !== undefined && wanted(t.name));
      for (let round = 1; round <= opts.rounds; round++) {
        for (const target of round % 2 === 1 ? order : [...order].reverse()) {
          const r = await measure(gens, target, round, opts);
          log(`round ${round} ${r.target}: ${fmt(r.deliveriesPerSec)}/s, ${fmt(r.serverCpuMsPer1000, 2)} ms CPU/1000 (server busy ${fmt(r.serverCpuShare * 100)}%), paced p50 ${fmt(r.pacedP50, 1)} p99 ${fmt(r.pacedP99, 1)} ms, generators ${fmt(r.genCpuMax * 100)}% max (paced ${fmt(r.pacedGenCpuMax * 100)}%), server CPU per paced message ${fmt(r.pacedServerCpuMs, 2)} ms (user ${fmt(r.pacedServerUserMs, 2)} ms, waited for a core ${fmt(r.pacedServerWaitMs, 2)} ms), first receipt ${fmt(r.pacedFirstMs, 2)} ms, write loop ${fmt(r.pacedSpanMs, 1)} ms`);
          rounds.push(r);
        }
      }
      // nchan at its own ceiling: its deliveries/s as the burst grows, same subscribers, same generators.
      if (nchan && opts.ceilingFactors.length > 0) {
        for (const target of nchanTargets(nchan).filter((t) => wanted(t.name))) {
          const steps = await probeCeiling(gens, target, opts);
          for (const c of steps) log(`ceiling ${c.target}: burst ${c.burst}: ${fmt(c.deliveriesPerSec)}/s (server busy ${fmt(c.serverCpuShare * 100)}%, generators ${fmt(c.genCpuMax * 100)}% max)`);
          ceiling.push(...steps);
        }
      }
    } finally {
      await hub.stop();
      await base?.stop();
      await nchan?.stop();
      await floor?.stop();
    }
    if (opts.idle > 0) {
      for (const family of ['ws', 'sse'] as const) {
        const name = family === 'ws' ? 'hookhub /ws (Hookbox)' : 'hookhub /sse';
        if (wanted(name)) {
          const inspectPort = await freePort();
          const server = await startHookhub(hookhubEnv(opts.idle + 100), undefined, [`--inspect=127.0.0.1:${inspectPort}`]);
          try {
            const target = hookhubTargets(server).find((t) => t.name === name) as Target;
            idle.push(await idleMemory(gens, target, opts.idle, inspectPort));
            log(`idle ${target.name}: ${fmt(idle.at(-1)?.perConnKiB ?? NaN, 1)} KiB per connection`);
          } finally {
            await server.stop();
          }
        }
        if (!nchanAvailable() || !wanted(family === 'ws' ? 'nginx+nchan websocket' : 'nginx+nchan eventsource')) continue;
        const ng = await startNchan(nchanPort());
        try {
          const target = nchanTargets(ng).find((t) => t.family === family) as Target;
          idle.push(await idleMemory(gens, target, opts.idle));
          log(`idle ${target.name}: ${fmt(idle.at(-1)?.perConnKiB ?? NaN, 1)} KiB per connection`);
        } finally {
          await ng.stop();
        }
      }
    }
  } finally {
    gens.stop();
  }
  return { options: opts, rounds, ceiling, idle };
}

if (isMain(import.meta.url)) {
  const { fanoutSection } = await import('./fanout-report.js');
  const started = Date.now();
  const report = await runFanoutBench();
  console.log(fanoutSection(report, (Date.now() - started) / 1000));
}
