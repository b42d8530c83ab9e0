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
How it is measured. Consumers live in ${o.generators} generator processes (bench/fanout-gen.ts) on raw sockets: an HTTP GET, or a
WebSocket handshake and, for Hookbox, CONNECT + SUBSCRIBE; each counts events by the payload marker in the bytes it receives, so
no client-side parser sets the pace, and reports its own CPU time (process.cpuUsage) over the wall time. nginx + nchan (Debian's
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
comes from that coalescing: with one publish in flight (\`BENCH_PUBLISHERS=1\`, one round, load 0.9) it wrote 306 (/sse) and 441 (/ws)
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
message) is built once per frame number and shared by the connections that have had as many frames. Each consumer's batch goes
to the socket's native handle when nothing is queued ahead of it (src/core/direct-write.ts: no Writable state machine, write
request object or completion callback per write; the stream path otherwise), and on an idle server the writes follow the
fan-out's hand-out a block at a time (the first after 8 consumers, then every 64). In CPU profiles of the paced phase the native write (its system call) is
nearly all of the server's busy time, and the fan-out's JavaScript a few percent: the server CPU per paced message is
about nchan's and the Node floor's (the table above). A publish reaches the fan-out through a fast lane (src/api/publish-lane.ts:
from Node's request event, past Fastify's routing and hooks, answered as the body's last byte comes in); in traced rounds the
server's read of a publish → its first subscriber write took 0.42–0.46 ms (0.53 before this round's changes, 0.63 before the
lane), nchan's 0.08 ms, the Node floor's 0.19–0.31 ms. Most of it is code that runs once per message on cold caches: after
the 40 ms between paced messages, straight-line JavaScript here runs 10–20 times slower than when warm (a message's JSON and
SSE framing: about 6 µs warm, 70–100 µs after a 20 ms sleep, in a process alone on the machine), so what counts is how
little runs before the first write. Where it goes (probes in the server, medians over one round's paced /ws messages): Node's
request event → the lane's checks 42 µs, the request's logger 20, its body listeners 16, → the body's data event 62 (the
rest of the parse and Node's tick), → the publish's checks and the log's append 30, → the fan-out 32, → the channel 18,
its history record 27, the first 8 hand-outs with the frame's encoding 53, → the write 4: 0.32 ms, no one part of it to
remove. A consumer's connection is its own batch writer (src/core/batch-writer.ts: one object per consumer, where a sink,
a writer and the writer's queue array were three); in a paced /ws profile that left the JavaScript's samples where they
were (1,196 before, 1,248 after, one round each), and a connection one object lighter.

What decides a round's p99 is where the kernel runs the generators. A socket's data wakes its reader with a "sync" wake-up,
which puts the reader on the writer's core when that core runs nothing else; there it preempts the server, reads a message or
two, sleeps, and the server's next write to it wakes it again. A generator that ran on the server's core is put there again
(its last core is the server's), so a round falls into one of two regimes and stays in it. Traced rounds (\`BENCH_TRACE\`,
then bench/fanout-trace.ts; per paced message, medians): either 0–3 preemptions of the server during its writes with none of
the generators' wake-ups on its core and 0.2–0.6 ms of the write loop off the core, or 34–80 preemptions with 93–97% of them
there and 3–5 ms off the core. Every server meets both: nchan in some rounds (its websocket in a traced round: 9
preemptions, 60% on its core), the Node floor in some (one round of each in a run where it paused 0.5 ms before writing),
Hookhub in more of the traced ones; in one traced run the median message of each was in the good regime, but the slowest
tenth had 94–121 preemptions for Hookhub's /sse and 50–106 for the Node floor against nchan's 11–19. The "waiting for a
core" column shows the regime per round; it, not the server's CPU, separates the p99s, which is why they swing from round to
round on the same build, and why the p99 over the run (every round's receipts) is given beside each round's. Taking the
generators off the server's core does not settle it either: with the C generator (\`BENCH_GEN=c\`: its busiest process 13–17%
of a core in Hookhub's bursts and 30–39% in nchan's, against the Node generators' 24–27% and 40–49%) and the servers alone on core 0 (\`BENCH_PIN=1\`), one run's waits fell to 0.3–0.7 ms
per message for every server, yet its p99s still swung from round to round (nchan's eventsource 18.6–57.7 ms; Hookhub's
/ws 18.6–21.8 ms against nchan's websocket 17.0–18.1, /sse 18.3–23.1 ms), so the default run keeps the issue's generators.

Why 300 paced messages a round. A p99 over receipts is set by the slowest 1% of the messages (each message's receipts come a
thousand at a time): with 150 a round that was one or two messages, so a round's p99 was one or two scheduling accidents, and
/ws's ratio to nchan's websocket was 0.89–1.16× in one run (the previous session's last), and 1.06–1.19×, 0.84–1.07×
(with --single-threaded-gc) and 0.96–1.26× in three runs of this session, its CPU per paced message the same. More messages do not
settle it from one run to the next either: with 500 a round (two runs, one build) Hookhub's /sse was 1.07× nchan's
eventsource over the run, /stream 1.04×, /ws 1.32× nchan's websocket, and the Node floor 1.01× and 1.29×; in the run above
(300) 0.85×, 0.77× and 0.81×, and the floor 0.71× and 0.81×. The Node floor moves with Hookhub: what decides the ratio is
the machine's scheduling in that run, not the code. The slow messages are not the server's garbage
collection: an observer of the Hookhub server's collections (a PerformanceObserver loaded with \`--import\`) saw 2 in a
500-message /ws phase, neither near any of its 29 messages over 25 ms; nor its other threads (5 switches to them in a traced
phase). In the 500-message runs what separated the tails was the wait for a core (the column above): Hookhub waited
1.6–3.4 ms per paced message against nchan's 0.8–2.2 ms, while it used about as much CPU or less (0.86–1.17× per message). Among what preempts every
server are the machine's own services (RabbitMQ's Erlang schedulers, NATS, Mosquitto, Redis, ksoftirqd: 250–300 switches
to them in a traced 150-message phase, for each server alike). Writing each consumer as it is handed the message (blocks
of 1 instead of 8 then 64) made /ws's p99 1.26× against 0.99× in a pair of runs, and was left out.
`;
}
