// Where a paced message's latency goes, from a BENCH_TRACE run of bench/fanout.ts (perf record of the server,
// the generators and the publisher process during the paced phase, CLOCK_MONOTONIC timestamps):
//   publish start (the marker) → publisher's write system call → server reads the request → first subscriber
//   write → last subscriber write → the generators' reads (first, last) → their receipts (the bench's latency).
// Per message, then the median (and p90) over the messages. Usage: npx tsx bench/fanout-trace.ts <prefix>.json ...
// The tracing itself slows every system call a little (the same for both servers): compare the parts, not the totals
// with an untraced run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fmt, percentile } from './lib.js';

interface TraceInfo {
  target: string;
  serverPid: number;
  genPids: number[];
  parentPid: number;
  wallMinusMonoMs: number;
  paced: Array<{ markersUs: number[]; latenciesMs: number[] }>;
}

interface Ev {
  tid: number;
  pid: number;
  t: number; // monotonic ms
  name: string;
  fd: number;
  ret: number;
  prevState: string;
  cpu: number;
  /** sched_wakeup: the task woken and the core it was put on. */
  woken: number;
  targetCpu: number;
}

function events(perfFile: string): Ev[] {
  const out = execFileSync('perf', ['script', '-i', perfFile, '-F', 'pid,tid,cpu,time,event,trace', '--ns'], { maxBuffer: 2 ** 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const evs: Ev[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, tid, cpu, time, event, trace] = m as unknown as [string, string, string, string, string, string, string];
    const name = event.replace(/^(syscalls|sched):/, '');
    const fd = /fd: 0x([0-9a-f]+)/.exec(trace);
    const ret = name.startsWith('sys_exit') ? Number(BigInt.asIntN(64, BigInt(trace.trim().split(/\s+/)[0] as string))) : 0;
    const prev = /prev_state=(\S+)/.exec(trace);
    const wake = name === 'sched_wakeup' ? / pid=(\d+) .*target_cpu=(\d+)/.exec(trace) : null;
    evs.push({
      pid: Number(pid), tid: Number(tid), cpu: Number(cpu), t: Number(time) * 1000, name, fd: fd ? parseInt(fd[1] as string, 16) : -1, ret,
      prevState: prev ? (prev[1] as string) : '', woken: wake ? Number(wake[1]) : -1, targetCpu: wake ? Number(wake[2]) : -1,
    });
  }
  return evs.sort((a, b) => a.t - b.t);
}

const isWrite = (e: Ev): boolean => e.name === 'sys_enter_write' || e.name === 'sys_enter_writev';
const isReadExit = (e: Ev): boolean => e.name === 'sys_exit_read' || e.name === 'sys_exit_recvfrom';
const isReadEnter = (e: Ev): boolean => e.name === 'sys_enter_read' || e.name === 'sys_enter_recvfrom';

/** ms a process's main thread was on a core within [from, to]: from its first event after a switch-out to its next switch-out. */
function onCpu(evs: Ev[], tid: number, from: number, to: number): number {
  let on: number | undefined;
  let total = 0;
  for (const e of evs) {
    if (e.tid !== tid) continue;
    if (e.t > to) break;
    if (e.name === 'sched_switch') {
      if (on !== undefined) total += Math.max(0, Math.min(e.t, to) - Math.max(on, from));
      on = undefined;
    } else on ??= e.t;
  }
  if (on !== undefined) total += Math.max(0, to - Math.max(on, from));
  return total;
}

function analyse(jsonFile: string): void {
  const info = JSON.parse(readFileSync(jsonFile, 'utf8')) as TraceInfo;
  const evs = events(jsonFile.replace(/\.json$/, '.perf'));
  const server = evs.filter((e) => e.tid === info.serverPid);
  // The publisher connections: every fd the server read from during the paced phase (subscribers send nothing then).
  const publisherFds = new Set<number>();
  let lastEnterFd = -1;
  for (const e of server) {
    if (isReadEnter(e)) lastEnterFd = e.fd;
    else if (isReadExit(e) && e.ret > 0) publisherFds.add(lastEnterFd);
  }
  // Receipts per message, per generator, as monotonic ms.
  const receipts = new Map<number, number[][]>();
  info.paced.forEach((g, gi) => {
    g.markersUs.forEach((us, i) => {
      let r = receipts.get(us);
      if (!r) receipts.set(us, (r = info.paced.map(() => [])));
      (r[gi] as number[]).push(us / 1000 + (g.latenciesMs[i] as number) - info.wallMinusMonoMs);
    });
  });
  const markers = [...receipts.keys()].sort((a, b) => a - b);
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (rows[k] ??= []).push(v);
  for (let mi = 0; mi < markers.length; mi++) {
    const us = markers[mi] as number;
    const t0 = us / 1000 - info.wallMinusMonoMs;
    const tEnd = mi + 1 < markers.length ? (markers[mi + 1] as number) / 1000 - info.wallMinusMonoMs : t0 + 40;
    // From 1 ms early: the clocks of two processes, mapped through one offset, agree to a few tenths of a ms.
    const inMsg = evs.filter((e) => e.t >= t0 - 1 && e.t < tEnd - 1);
    const pubWrite = inMsg.find((e) => e.pid === info.parentPid && isWrite(e));
    const srvRead = inMsg.find((e) => e.tid === info.serverPid && isReadExit(e) && e.ret > 0 && (!pubWrite || e.t >= pubWrite.t));
    const subWrites = inMsg.filter((e) => e.tid === info.serverPid && isWrite(e) && !publisherFds.has(e.fd));
    if (!pubWrite || !srvRead || subWrites.length === 0) continue;
    const first = (subWrites[0] as Ev).t;
    const last = (subWrites.at(-1) as Ev).t;
    // The server switched out while it wrote: preempted (R) or asleep, until its next event.
    let off = 0;
    let preempted = 0;
    for (let i = 0; i < server.length; i++) {
      const e = server[i] as Ev;
      if (e.name !== 'sched_switch' || e.t < first || e.t > last) continue;
      if (e.prevState.startsWith('R')) preempted++;
      const next = server[i + 1];
      if (next) off += Math.min(next.t, last) - e.t;
    }
    // The generators its writes woke (sched_wakeup in the server's context), and how many of them the
    // kernel put on the server's own core, where they run in its place.
    const gens = new Set(info.genPids);
    const wakes = subWrites.length > 0 ? inMsg.filter((e) => e.tid === info.serverPid && e.name === 'sched_wakeup' && gens.has(e.woken) && e.t >= first && e.t <= last) : [];
    const got = receipts.get(us) as number[][];
    const all = got.flat().sort((a, b) => a - b);
    add('publish start → publisher write()', pubWrite.t - t0);
    add('→ server read of the request', srvRead.t - pubWrite.t);
    add('→ first subscriber write', first - srvRead.t);
    add('first → last subscriber write', last - first);
    add('subscriber writes (system calls)', subWrites.length);
    add('µs per subscriber write', ((last - first) * 1000) / Math.max(1, subWrites.length - 1));
    add('server off-CPU during its writes', off);
    add('server on-CPU share of its writes', 1 - off / Math.max(1e-9, last - first));
    add('server preempted during its writes (times)', preempted);
    add('generators woken by its writes (times)', wakes.length);
    add('of which put on the server\'s core (share)', wakes.filter((e) => e.targetCpu === e.cpu).length / Math.max(1, wakes.length));
    info.genPids.forEach((gp, gi) => {
      add(`gen ${gi + 1}: on-CPU share of the server's writes`, onCpu(evs, gp, first, last) / Math.max(1e-9, last - first));
      const reads = inMsg.filter((e) => e.pid === gp && isReadExit(e) && e.ret > 0);
      const wakes = inMsg.filter((e) => e.pid === gp && e.name === 'sys_exit_epoll_wait' && e.ret > 0);
      const mine = (got[gi] ?? []).sort((a, b) => a - b);
      if (reads.length === 0 || mine.length === 0) return;
      add(`gen ${gi + 1}: first read − first subscriber write`, (reads[0] as Ev).t - first);
      add(`gen ${gi + 1}: last read − last subscriber write`, (reads.at(-1) as Ev).t - last);
      add(`gen ${gi + 1}: first → last read`, (reads.at(-1) as Ev).t - (reads[0] as Ev).t);
      add(`gen ${gi + 1}: reads / wake-ups`, reads.length / Math.max(1, wakes.length));
      add(`gen ${gi + 1}: last receipt − last read`, (mine.at(-1) as number) - (reads.at(-1) as Ev).t);
    });
    add('receipt p50 (publish start →)', percentile(all, 50) - t0);
    add('receipt last (publish start →)', (all.at(-1) as number) - t0);
    add('last receipt − last subscriber write', (all.at(-1) as number) - last);
  }
  console.log(`\n${info.target} (${markers.length} messages; median [p90] over them, ms unless said)`);
  for (const [k, v] of Object.entries(rows)) {
    const s = v.sort((a, b) => a - b);
    console.log(`  ${k.padEnd(48)} ${fmt(percentile(s, 50), 2).padStart(8)} [${fmt(percentile(s, 90), 2)}]`);
  }
}

for (const f of process.argv.slice(2)) analyse(f);
