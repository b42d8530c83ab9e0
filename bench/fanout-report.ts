// The fan-out section of bench/RESULTS.md: the side-by-side table of one run, idle memory, and the
// goals of issue #17 checked against the same run's nchan rows.
import type { CeilingStep, FanoutReport, RoundResult } from './fanout.js';
import { fmt, percentile } from './lib.js';

const range = (values: number[], digits: number): string => {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return fmt(lo, digits) === fmt(hi, digits) ? fmt(lo, digits) : `${fmt(lo, digits)}–${fmt(hi, digits)}`;
};

/** nchan's round of the same family as `r`, in the same round of the run. */
function nchanOf(report: FanoutReport, r: RoundResult): RoundResult | undefined {
  return report.rounds.find((n) => n.nchan && n.family === r.family && n.round === r.round);
}

/** ` (a–b×)`: `f` of each of `rs` over `f` of nchan's same-family, same-round row ('' when there is none). */
function ratioToNchan(report: FanoutReport, rs: RoundResult[], f: (r: RoundResult) => number): string {
  const pairs = rs.flatMap((r) => {
    const n = nchanOf(report, r);
    return n && n !== r ? [f(r) / f(n)] : [];
  });
  return pairs.length ? ` (${range(pairs, 2)}×)` : '';
}

/**
 * A target's paced p99 over the whole run: every receipt of every round's paced phase together. A round's p99
 * comes from its few slowest messages, so it swings with where the kernel happened to run the generators
 * (see the closing paragraph); over all rounds it is the latency a subscriber saw during the run.
 */
function runP99(report: FanoutReport, name: string): number {
  const rs = report.rounds.filter((r) => r.target === name);
  const all = new Float64Array(rs.reduce((a, r) => a + r.pacedLatenciesMs.length, 0));
  let at = 0;
  for (const r of rs) {
    all.set(r.pacedLatenciesMs, at);
    at += r.pacedLatenciesMs.length;
  }
  return percentile(all.sort(), 99);
}

/** The run's p99 of `name` over that of nchan's target of the same family (undefined for nchan, or without one). */
function runP99Ratio(report: FanoutReport, name: string): number | undefined {
  const family = report.rounds.find((r) => r.target === name)?.family;
  const nchan = report.rounds.find((r) => r.nchan && r.family === family)?.target;
  return nchan === undefined || nchan === name ? undefined : runP99(report, name) / runP99(report, nchan);
}

/** Per target: the range over the rounds; ratios against nchan of the same family in the same round. */
export function fanoutTable(report: FanoutReport): string {
  const names = [...new Set(report.rounds.map((r) => r.target))];
  const rows = names.map((name) => {
    const rs = report.rounds.filter((r) => r.target === name);
    const ratio = (f: (r: RoundResult) => number): string => ratioToNchan(report, rs, f);
    const lost = rs.reduce((a, r) => a + r.missing, 0);
    const dup = rs.reduce((a, r) => a + r.duplicated, 0);
    const dropped = rs.reduce((a, r) => a + r.lostConnections, 0);
    return `| ${name} | ${range(rs.map((r) => r.deliveriesPerSec / 1000), 0)}k${ratio((r) => r.deliveriesPerSec)} | ${range(rs.map((r) => r.serverCpuMsPer1000), 2)} ms${ratio((r) => r.serverCpuMsPer1000)} | ${range(rs.map((r) => r.pacedP50), 1)} / ${range(rs.map((r) => r.pacedP99), 1)} ms${ratio((r) => r.pacedP99)} | ${range(rs.map((r) => r.serverCpuShare * 100), 0)}% | ${lost} / ${dup} / ${dropped} | ${range(rs.map((r) => r.genCpuMax * 100), 0)}% (${range(rs.map((r) => r.genCpuTotal), 2)} cores) |`;
  });
  return [
    '| server | burst deliveries/s | server CPU per 1,000 deliveries | paced p50 / p99 | server CPU busy in the burst | lost / duplicated / dropped connections | generator CPU: busiest process (all) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * Where a paced message's latency goes, per target (medians over the paced messages; ranges over the rounds,
 * ratios against nchan's same-round row): the server's CPU per message, the first subscriber's receipt (the
 * publish path) and the write loop from the first receipt to the last (CPU and the time off the core), and
 * the time the server's main thread was ready to run but waited for a core (schedstat): what other processes,
 * the generators first, took of its core while it had work.
 */
export function pacedTable(report: FanoutReport): string {
  const names = [...new Set(report.rounds.map((r) => r.target))];
  const rows = names.map((name) => {
    const rs = report.rounds.filter((r) => r.target === name);
    const ratio = (f: (r: RoundResult) => number): string => ratioToNchan(report, rs, f);
    return `| ${name} | ${range(rs.map((r) => r.pacedServerCpuMs), 1)} ms${ratio((r) => r.pacedServerCpuMs)} | ` +
      `${range(rs.map((r) => r.pacedServerUserMs), 1)} ms${ratio((r) => r.pacedServerUserMs)} | ` +
      `${range(rs.map((r) => r.pacedServerWaitMs), 1)} ms | ` +
      `${range(rs.map((r) => r.pacedFirstMs), 2)} ms${ratio((r) => r.pacedFirstMs)} | ` +
      `${range(rs.map((r) => r.pacedSpanMs), 1)} ms${ratio((r) => r.pacedSpanMs)} | ` +
      `${range(rs.map((r) => r.pacedP99), 1)} ms${ratio((r) => r.pacedP99)} | ` +
      `${fmt(runP99(report, name), 1)} ms${runP99Ratio(report, name) !== undefined ? ` (${fmt(runP99Ratio(report, name) as number, 2)}×)` : ''} |`;
  });
  return [
    '| server | server CPU per paced message | of which user space | waiting for a core per paced message | first receipt (median) | write loop: first → last receipt (median) | p99 per round | p99 over the run |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * The table of issue #17, from this run: one row per server, families together (nchan first), ratios
 * against nchan's same-round row, the idle memory measured beside it, and the generators' CPU share.
 */
export function issueTable(report: FanoutReport): string {
  const names = [...new Set(report.rounds.map((r) => r.target))];
  const family = (name: string): string => report.rounds.find((r) => r.target === name)?.family ?? '';
  const nchanFirst = (a: string, b: string): number =>
    family(a).localeCompare(family(b)) || Number(!a.startsWith('nginx')) - Number(!b.startsWith('nginx'));
  const rows = names.sort(nchanFirst).map((name) => {
    const rs = report.rounds.filter((r) => r.target === name);
    const ratio = (f: (r: RoundResult) => number): string => ratioToNchan(report, rs, f);
    const idle = report.idle.find((i) => i.target === name);
    const memory = idle ? `${fmt(idle.perConnKiB, 1)} KiB (${fmt(idle.marginalKiB, 1)} for the second half)` : '—';
    return `| ${name} | ${range(rs.map((r) => r.deliveriesPerSec / 1000), 0)}k${ratio((r) => r.deliveriesPerSec)} | ` +
      `${range(rs.map((r) => r.serverCpuMsPer1000), 2)} ms${ratio((r) => r.serverCpuMsPer1000)} | ` +
      `${range(rs.map((r) => r.pacedP50), 1)} / ${range(rs.map((r) => r.pacedP99), 1)} ms${ratio((r) => r.pacedP99)} | ${memory} | ` +
      `${range(rs.map((r) => r.genCpuMax * 100), 0)}% |`;
  });
  return [
    '| server | burst deliveries/s | server CPU per 1,000 deliveries | paced p50 / p99 | RSS per idle connection | generator CPU (busiest process) |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** nchan's deliveries/s as the burst grows (same subscribers): flat means nchan, not the load, sets the pace. */
export function ceilingTable(report: FanoutReport): string {
  if (report.ceiling.length === 0) return '';
  const targets = [...new Set(report.ceiling.map((c) => c.target))];
  const bursts = [...new Set(report.ceiling.map((c) => c.burst))].sort((a, b) => a - b);
  const cell = (t: string, b: number): string => {
    const c = report.ceiling.find((x) => x.target === t && x.burst === b);
    return c ? `${fmt(c.deliveriesPerSec / 1000)}k/s (server ${fmt(c.serverCpuShare * 100)}%, generators ${fmt(c.genCpuMax * 100)}%)` : '—';
  };
  return [
    `| server | ${bursts.map((b) => `burst of ${b}`).join(' | ')} |`,
    `|---|${bursts.map(() => '---|').join('')}`,
    ...targets.map((t) => `| ${t} | ${bursts.map((b) => cell(t, b)).join(' | ')} |`),
  ].join('\n');
}

/**
 * Whether nchan's rate stopped growing with the burst (the largest burst under 1.1× the best of the smaller
 * ones), and whether its worker was then busy all the time (at least 90%): both, and it ran at its ceiling.
 */
function ceilingVerdict(report: FanoutReport): string {
  const targets = [...new Set(report.ceiling.map((c) => c.target))];
  return targets.map((t) => {
    const steps = report.ceiling.filter((c) => c.target === t).sort((a, b) => a.burst - b.burst);
    const last = steps.at(-1) as CeilingStep;
    const before = Math.max(...steps.slice(0, -1).map((c) => c.deliveriesPerSec));
    const growing = steps.length > 1 && last.deliveriesPerSec > 1.1 * before;
    const busy = Math.max(...steps.map((c) => c.serverCpuShare));
    const rates = steps.map((c) => `${fmt(c.deliveriesPerSec / 1000)}k`).join(' → ');
    const verdict = growing
      ? '**still growing** with the load: it may not have reached its ceiling'
      : busy >= 0.9
        ? `no longer growing, its worker busy ${fmt(busy * 100)}% of the time: its own ceiling`
        : `no longer growing, but its worker was at most ${fmt(busy * 100)}% busy: it waited for a core (a shared machine), not for the load`;
    return `${t}: ${rates} deliveries/s — ${verdict}`;
  }).join('; ') + '.';
}

export function idleTable(report: FanoutReport): string {
  if (report.idle.length === 0) return '';
  return [
    '| server | idle connections in one process | RSS before → half → all | RSS per connection: average / second half | projected RSS for 100,000 |',
    '|---|---|---|---|---|',
    ...report.idle.map((r) => `| ${r.target} | ${r.connections} | ${fmt(r.rssBeforeMiB)} → ${fmt(r.rssMidMiB)} → ${fmt(r.rssAfterMiB)} MiB | ${fmt(r.perConnKiB, 1)} / ${fmt(r.marginalKiB, 1)} KiB | ${fmt(r.projected100kMiB)} MiB |`),
  ].join('\n');
}

/** Per Hookhub target: each goal, met or not, from this run's figures (worst round). */
function goals(report: FanoutReport): string[] {
  const lines: string[] = [];
  const names = [...new Set(report.rounds.filter((r) => r.target.startsWith('hookhub')).map((r) => r.target))];
  for (const name of names) {
    const rs = report.rounds.filter((r) => r.target === name);
    const pairs = rs.flatMap((r) => {
      const n = nchanOf(report, r);
      return n ? [[r, n] as const] : [];
    });
    if (pairs.length === 0) continue;
    const rate = Math.min(...pairs.map(([r, n]) => r.deliveriesPerSec / n.deliveriesPerSec));
    const cpu = Math.max(...pairs.map(([r, n]) => r.serverCpuMsPer1000 / n.serverCpuMsPer1000));
    const p99 = Math.max(...pairs.map(([r, n]) => r.pacedP99 / n.pacedP99));
    const p99Run = runP99Ratio(report, name) ?? NaN;
    const lost = rs.reduce((a, r) => a + r.missing + r.duplicated + r.lostConnections, 0);
    const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
    lines.push(`- ${name}: deliveries/s ≥ 1.5× nchan — ${fmt(rate, 2)}× in the worst round, ${mark(rate >= 1.5)}; ` +
      `CPU per delivery ≤ 0.8× — ${fmt(cpu, 2)}×, ${mark(cpu <= 0.8)}; paced p99 ≤ nchan's — over the run's ${rs.length} rounds ${fmt(p99Run, 2)}×, ${mark(p99Run <= 1)}, in the worst round ${fmt(p99, 2)}×, ${mark(p99 <= 1)}; ` +
      `nothing lost or duplicated — ${mark(lost === 0)}.`);
  }
  for (const r of report.idle.filter((i) => i.target.startsWith('hookhub'))) {
    const limit = r.family === 'ws' ? 8 : 10;
    const verdict = r.perConnKiB <= limit ? 'met' : r.marginalKiB <= limit ? '**not met** by the average, met by the second half' : '**not met**';
    lines.push(`- ${r.target}: idle RSS per connection ≤ ${limit} KB — ${fmt(r.perConnKiB, 1)} KiB on average, ${fmt(r.marginalKiB, 1)} KiB for the second half: ${verdict}.`);
  }
  return lines;
}

/** Who set the pace: the generators' busy share against nchan's (a single process: 100% is its ceiling). */
function pace(gen: number[], nchanBusy: number[]): string {
  const busiest = Math.max(...gen);
  const lines = [
    `Generators: the busiest generator process was busy ${fmt(busiest * 100)}% of a burst's wall time at most` +
      (busiest < 0.6
        ? ' (a process that sets the pace is busy all the time: under 60%, each waited for the servers\' bytes), so none of them set the pace.'
        : ': a generator may have set the pace in some rounds.'),
  ];
  if (nchanBusy.length > 0) {
    const lo = Math.min(...nchanBusy);
    lines.push(`nchan's worker was ${fmt(lo * 100)}–${fmt(Math.max(...nchanBusy) * 100)}% busy during its bursts` +
      (lo >= 0.9 ? ' (at its ceiling).' : ': below its ceiling in some rounds — on a shared machine the CPU it waited for, not the generators, is the likeliest limit (see the generators\' share).'));
  }
  return lines.join('\n');
}

export function fanoutSection(report: FanoutReport, seconds: number): string {
  const o = report.options;
  const gen = report.rounds.map((r) => r.genCpuMax);
  const nchanBusy = report.rounds.filter((r) => r.nchan).map((r) => r.serverCpuShare);
  const ceiling = report.ceiling.length > 0
    ? `nchan at its own ceiling: on one set of ${o.subscribers} subscribers, bursts growing from ${Math.min(...report.ceiling.map((c) => c.burst))} to ${Math.max(...report.ceiling.map((c) => c.burst))} messages.
${ceilingVerdict(report)}

${ceilingTable(report)}
`
    : '';
  return `## Fan-out: ${o.subscribers} subscribers on one topic, side by side with nginx + nchan (issue #17)

\`npx tsx bench/fanout.ts\` runs this part alone (${fmt(seconds)} s in this run). The table of the issue, from this run (ratios against
nchan's row of the same family in the same round: eventsource for /sse and /stream, websocket for /ws; ranges over ${o.rounds} round${o.rounds === 1 ? '' : 's'}):

${issueTable(report)}

${pace(gen, nchanBusy)}

${ceiling}
How it is measured. Consumers live in ${o.generators} generator processes (${process.env.BENCH_GEN === 'c' ? 'bench/fanout-gen.c, the C generator' : 'bench/fanout-gen.ts'}) on raw sockets: an HTTP GET, or a
WebSocket handshake and, for Hookbox, CONNECT + SUBSCRIBE; each counts events by the payload marker in the bytes it receives, so
no client-side parser sets the pace, and reports its own CPU time (process.cpuUsage, or getrusage in C) over the wall time. nginx + nchan (Debian's
libnginx-mod-nchan, one worker), Hookhub (compiled, memory store) and the Node floor (bench/node-floor.ts: the body framed once,
one socket.write per subscriber, nothing else: what any Node server pays) run at the same time; per round each target gets ${o.subscribers} fresh
subscribers, an untimed burst and 25 untimed paced messages (warm-up), then a burst of ${o.burst} messages published back to back (${o.publishConcurrency} HTTP publishers in flight) and ${o.paced}
messages paced at ${o.pacedRate}/s; rounds alternate the order. Deliveries/s: the burst's deliveries over the time from its first publish
to the last receipt. Server CPU: user + system time of the server process during the burst (/proc, 10 ms ticks), per 1,000
deliveries. Paced latency: publish start → receipt. Every subscriber is checked for exactly the messages sent (lost /
duplicated), and for its connection staying up.

nchan at its best. nginx runs as nchan is deployed: a master and one worker (\`master_process on\`; the worker's CPU and
RSS are measured), error log at \`warn\` (nothing is logged during a run), publishers on 8 keep-alive connections. What was
tried and did not change nchan's CPU per delivery beyond this machine's noise (±30% run to run): \`master_process off\`,
\`tcp_nodelay on\` with \`sendfile on\` (nginx sets TCP_NODELAY on keep-alive transitions only, and nchan's writes leave at once anyway:
nothing is unacknowledged on loopback when the next message reaches a subscriber), one generator process instead of two,
generators under SCHED_BATCH (\`BENCH_GEN_BATCH=1\`: their wake-ups no longer preempt the server; nchan's context switches per
1,000 deliveries fell from 50–210 to 2–60, its CPU did not). Why nchan costs more CPU per delivery here: \`BENCH_PERF=1\` (perf
stat on the server during each burst) counts 1,001 writev per 1,000 deliveries for nchan, eventsource and websocket alike, one
system call per message per subscriber, and 121–131 for Hookhub's /sse, /stream and /ws: with ${o.publishConcurrency} publishes in flight, a consumer's
messages of one event-loop turn leave in one write. nchan's cost per write is 7–11 µs with these generators and 4.5–5.5 µs
(eventsource) / 3.8–4 µs (websocket) with a tight Python epoll reader in their place; a bare Python loop sending one small
message per socket costs 2.4 µs per write on this machine (the floor of a server that writes each message on its own).
The issue's 2.0–2.35 ms per 1,000 for nchan was not reproduced on this machine with any generator. Hookhub's lead
came from that coalescing (measured before the io_uring sender, below): with one publish in flight (\`BENCH_PUBLISHERS=1\`, one round, load 0.9) it wrote 306 (/sse) and 441 (/ws)
writev per 1,000 deliveries and cost 5.4 and 8.0 ms per 1,000, against nchan's 10.1 (eventsource) and 5.55 (websocket): per
system call, Hookhub's write costs more than nchan's, and /ws was then 1.44× nchan's CPU per delivery.

${fanoutTable(report)}

Idle connections: one fresh server process holds ${o.idle} of them (a process may hold 20,000 descriptors on this machine), opened by
the ${o.generators} generator processes (each well under 20,000 descriptors) and checked live with one message; RSS per connection
is the server's RSS after minus before, over their number, and the same for the second half alone (opened after the first half:
what one more connection costs, without what the process grows by once); the projection adds the second half's cost per
connection up to 100,000. WebSocket connections are Hookbox users (CONNECT + SUBSCRIBE to one channel). Hookhub's RSS is read
after a full garbage collection (its idle server alone runs with \`--inspect\`, and the bench asks the inspector for
HeapProfiler.collectGarbage before each reading): what the connections hold, not the garbage their opening left. Read
without it, the figure followed the last collection's timing (a baseline still holding the startup's garbage made
connections look cheaper; one read just after opening, dearer): /ws swung between 6.3 and 9.1 KiB from run to run.

${idleTable(report)}

Goals (the worst round of this run; paced p99 also over the whole run, every round's receipts together):

${goals(report).join('\n')}

Paced latency, split (medians over the ${o.paced} paced messages of each round; ranges over the rounds, ratios against nchan's row
of the same round):

${pacedTable(report)}

What a paced message costs. Single-topic /sse and /stream write one chunk per message, framed once (size line, event, CRLF) and
shared by every consumer; a /ws Hookbox frame carries a per-connection frame number, so its whole frame (header, \`[n\`, the
message) is built once per frame number and shared by the connections that have had as many frames. On an idle server the
writes follow the fan-out's hand-out a block at a time (the first after 8 consumers, then every 64), and each block's sends
enter the kernel together: one \`io_uring_enter\` of non-blocking sends per block (src/core/send-batch.ts, native/uring-send.c,
compiled at install; \`--io-uring\`), where nchan and the Node floor make one system call per consumer. This machine is a VM
with page-table isolation (every kernel entry switches page tables), and entering and leaving the kernel was about a third
of a small write's cost: a C loop writing 100 bytes to each of 1,000 loopback sockets took 6.1–7.1 ms of CPU, and the same
sends through io_uring in blocks of 64 took 3.3–4.4 ms. In an A/B of one build with and without the sender (the same two
rounds, \`BENCH_BASELINE_DIST\`), Hookhub's CPU per paced message went from 9.5–11.9 ms to 5.5–6.2 (/sse) and from 9.3–10.2 to
5.5–7.0 (/ws), against nchan's 10.4–13.7 and 8.9–9.2; its p99 over the run went from 1.00× to 0.72× nchan's (/sse) and
from 0.99× to 0.90× (/ws). A send the socket does not take whole leaves its rest to the socket's stream, behind it, so each
consumer gets the bytes, in the order, that the write(2) path sends (test/unit/core/send-batch.test.ts). A publish reaches the
fan-out through a fast lane (src/api/publish-lane.ts: from Node's request event, past Fastify's routing and hooks, answered as
the body's last byte comes in); in traced rounds the server's read of a publish → its first subscriber write took
0.42–0.46 ms, nchan's 0.08 ms, the Node floor's 0.19–0.31 ms. Most of it is code that runs once per message on cold caches:
after the 40 ms between paced messages, straight-line JavaScript here runs 10–20 times slower than when warm, and no one
part of the 0.32 ms measured with probes (the lane's checks, the request's logger, the body's parse, the publish's checks
and the log's append, the channel, its history record, the first 8 hand-outs) is worth removing on its own.

What sets the p99 now. The server is no longer the larger part of a paced message's work. Every receipt is a read by a
generator on the same two cores, and the Node generators spend about twice the server's CPU on a paced message's 1,000
reads: their busiest process is 13–18% busy in the paced phase, 5–7 ms of each 40 ms. A message's last receipt comes when
both have done their part, so the server's saving moves the p99 by only part of itself, and the scheduler decides the rest.
A socket's data wakes its reader with a "sync" wake-up, which puts the reader on the writer's core when that core runs
nothing else; there it preempts the server at its next return from the kernel. The "waiting for a core" column shows this
(Hookhub 2.4–4.5 ms per paced message, nchan 0.7–3.3 ms across the runs below). A round falls into one regime or the other and
stays in it: in earlier traced runs a server was preempted 0–3 times per paced message in good rounds and 34–80 times in
bad ones, and every server met both. So the p99 swings from round to round on the same build, which is why the p99 over
the run (every round's receipts) is given beside each round's. The slow messages are not the server's garbage collection
(a PerformanceObserver in the server saw 2 collections in a 500-message phase, neither near a slow message) nor its other
threads. Among what preempts every server alike are the machine's own services (RabbitMQ, NATS, Mosquitto, Redis, ksoftirqd).

The p99 over the run in every full run of this code (3 rounds of 300 paced messages; ratios against nchan's row of the same
family), and before the io_uring sender on a machine of the same kind:

| run | generators | hookhub /sse | hookhub /stream | hookhub /ws | node floor eventsource | node floor websocket |
|---|---|---|---|---|---|---|
| 2026-12-07 13:56 | Node (the default) | 0.97× | 0.84× | 1.06× | 1.08× | 1.09× |
| 2026-12-07 14:12 | C (\`BENCH_GEN=c\`) | 0.96× | 0.81× | 0.63× | 1.02× | 1.02× |
| 2026-12-07 14:22, the run above | Node | 0.84× | 0.90× | 0.88× | 0.97× | 1.01× |
| 2026-12-07 14:39, right after (\`BENCH_IDLE=0 BENCH_CEILING= npx tsx bench/fanout.ts\`) | Node | 0.90× | 0.78× | 0.88× | 1.01× | 1.15× |
| 2026-12-07 11:57, before the sender | Node | 1.08× | 1.09× | 1.25× | 1.24× | 1.15× |
| right after it, before the sender | Node | 1.05× | 0.98× | 1.20× | 1.02× | 0.99× |

Over the run Hookhub was at or below nchan's p99 in 11 of these 12 measurements, but not in every round: the worst
single round was above nchan's in three of the four runs (1.01–1.26×: /sse in all three, /stream and /ws in the first); the run above had
none. Two-round runs of this code gave 0.72× (/sse) and 0.90× (/ws) with the Node generators (the A/B above), and 0.64× and
0.78× with the C generator. In the C-generator run every round of /ws and /stream was at or below nchan's; /sse was
0.69–1.15× by round. The C generator (bench/fanout-gen.c) is the lighter load: its busiest process was 15–19% busy in
Hookhub's bursts, against the Node generators' 27–34%, and both nchan endpoints reached their own ceiling in that run. It
also makes nchan's sends dearer, though: nchan eventsource's CPU per 1,000 burst deliveries rose to 13.45–15.15 ms, from
8.50–9.70 with the Node generators, because a faster reader is more often asleep when a write arrives and has to be woken.
So the default run keeps the Node generators, and the burst ratios are read from it.

Tried and not kept:
- One \`io_uring_enter\` for the whole hand-out (the first 8 consumers, then the other 992 at once, instead of blocks of 64).
  The kernel here is PREEMPT_NONE, so the server is not preempted inside the call. Against the blocks, in the same two
  rounds: /sse 0.99× against 0.89×, /ws 0.92× against 0.87×. The wait for a core did not fall (3.5–3.9 ms against
  2.7–4.1), and the first receipts came no earlier.
- Before the sender, on the same kind of machine:
  - writing every consumer after the whole hand-out: no difference;
  - prom-client's event-loop monitor at 1 s instead of 10 ms: no measurable gain, and it would change what
    \`nodejs_eventloop_lag_*\` reads;
  - a helper worker thread writing half of the subscribers: the woken helper was put on the main thread's core, the first
    receipt went from 0.75–0.80 ms to 1.1–4.0 ms, and the p99 was no better than nchan's;
  - a native pthread writing half of them (a prototype on another machine): the write loop was about a quarter shorter.
    It was not built in, because it was a second thread writing to descriptors that Node's handles own. The io_uring
    sender gets more than that from the main thread alone.
- Writing each consumer as it is handed the message (blocks of 1 instead of 8 then 64): /ws's p99 was 1.26× against 0.99×
  in a pair of runs.
`;
}
