// The dispatcher sections of bench/RESULTS.md: the sending side (a durable backlog against a bare undici loop)
// and the whole path through /dispatch, with each round's ratio, the server's CPU per delivery, and every
// process's busy share (which says whether the reference ran at its own ceiling).
import type { DrainBenchResults } from './dispatch-drain.js';
import type { DispatchBenchResults } from './dispatch.js';
import { fmt } from './lib.js';

/** Deliveries/s two cores could do at a CPU cost per delivery (µs): the ceiling of a CPU-bound run. */
const ceiling = (us: number): number => Math.round(2e6 / us);
const pct = (share: number): string => `${fmt(share * 100)}%`;

export function drainSection(drain: DrainBenchResults): string {
  return `### Sending: a durable backlog against a bare undici loop

${drain.deliveries} deliveries are committed to SQLite as \`/dispatch\` commits them (the dispatcher's enqueue, before the server starts:
the backlog a receiver's outage or a restart leaves), then a server started on that directory (compiled dist/, log level silent) sends them
all, signs, and records every attempt. The bare loop sends the same requests (same body, same headers) to the same receiver, \`undici.request\`, ${drain.concurrency} at a
time; Hookhub runs with \`--delivery-concurrency ${drain.concurrency} --delivery-per-host ${drain.concurrency}\` to have as many in flight. Rounds run the bare
loop and Hookhub one after the other, in alternating order; the rate is the receiver's, from the first arrival to the last. This machine's speed drifts by ±25% within
seconds (the bare loop alone ranges 10,000–17,000/s run to run), so single rounds scatter; the ratio is the median of the rounds'.

| round | Hookhub deliveries/s | bare loop requests/s | ratio | Hookhub event-loop CPU per delivery | bare loop thread CPU per request |
|---|---|---|---|---|---|
${drain.rounds.map((r, i) => `| ${i + 1} | ${fmt(r.hookhub.perSecond)} | ${fmt(r.bare.perSecond)} | ${fmt(r.ratio, 2)}× | ${r.hookhub.threadCpuUs ?? 'n/a'} µs | ${r.bare.threadCpuUs ?? 'n/a'} µs |`).join('\n')}
| **median** | | | **${fmt(drain.ratio, 2)}×** | | |

Goal ≥ ${drain.goal.ratio}× the bare loop: ${drain.goal.met ? 'met' : 'not met'}.
`;
}

/** The rounds of the default run: ratio, server CPU per delivery, busy shares. */
function roundsTable(d: DispatchBenchResults): string {
  return `| round (first) | Hookhub deliveries/s | bare loop requests/s | ratio | server CPU per delivery: process (event loop) | busy: server (+ waiting for a core) / load generator / receiver | bare loop busy: sender (+ waiting for a core) / receiver | thread costs: bare sender ÷ server event loop |
|---|---|---|---|---|---|---|---|
${d.rounds.map((r, i) => {
    const h = r.hookhub;
    const b = r.bare;
    return `| ${i + 1} (${r.first}) | ${fmt(h.deliveriesPerSecond)} | ${b ? fmt(b.requestsPerSecond) : '—'} | ${r.ratio !== undefined ? `${fmt(r.ratio, 2)}×` : '—'} | ${h.serverProcessCpuUsPerDelivery} µs (${h.serverCpuUsPerDelivery ?? 'n/a'} µs) | ${pct(h.busy.server)} (+${h.serverWaiting === null ? 'n/a' : pct(h.serverWaiting)}) / ${pct(h.busy.loader)} / ${pct(h.busy.receiver)} | ${b ? `${pct(b.busy.sender)} (+${b.senderWaiting === null ? 'n/a' : pct(b.senderWaiting)}) / ${pct(b.busy.receiver)}` : '—'} | ${r.threadRatio !== undefined ? `${b?.senderThreadCpuUsPerRequest} ÷ ${h.serverCpuUsPerDelivery} µs = ${fmt(r.threadRatio, 2)}×` : '—'} |`;
  }).join('\n')}
| **median** | | | **${fmt(d.ratio, 2)}×** | | | | **${fmt(d.threadRatio, 2)}×** |`;
}

/** Whether the reference ran at its own ceiling, from its busy and waiting shares in this run. */
function referenceVerdict(d: DispatchBenchResults): string {
  const bares = d.rounds.flatMap((r) => (r.bare ? [r.bare] : []));
  if (bares.length === 0) return 'No reference run.';
  const sender = bares.map((b) => b.busy.sender);
  const runnable = bares.map((b) => b.senderRunnable ?? 0);
  const lo = Math.min(...runnable);
  const verdict = bares.some((b) => b.senderRunnable === null)
    ? 'this machine does not report waiting times'
    : lo >= 0.85
      ? 'its thread was running or waiting for a core all along, never idle waiting for the receiver: the reference ran at its own ceiling, on the CPU the machine left it'
      : `its thread was idle ${pct(1 - lo)} of the time in some round: something else (the receiver) set its pace there`;
  const loaders = d.rounds.map((r) => r.hookhub.busy.loader);
  const servers = d.rounds.map((r) => r.hookhub.busy.server);
  return `The bare loop's sender process was busy ${pct(Math.min(...sender))}–${pct(Math.max(...sender))} of a core; its thread was on a core or waiting for one `
    + `${pct(lo)}–${pct(Math.max(...runnable))}: ${verdict}. The load generator was busy ${pct(Math.min(...loaders))}–${pct(Math.max(...loaders))} of a core, `
    + `the server ${pct(Math.min(...servers))}–${pct(Math.max(...servers))} (all its threads): the server, not the load generator, set Hookhub's pace.`;
}

export function dispatchSection(d: DispatchBenchResults, t: DispatchBenchResults, b: DispatchBenchResults, command: string): string {
  return `### Accepting and sending: ${d.deliveries} deliveries through \`/dispatch\` (store ${d.store})

\`${command}\`; machine load average (1 min) ${d.loadAverage[0]} at the start and ${d.loadAverage[1]} at the end: other processes shared the
two cores, so compare the rows of this run (the ratios, the CPU per delivery), not absolute rates across runs.

64 concurrent \`/dispatch\` requests (form body, \`_url\` to a local receiver); every delivery is committed to SQLite before its 202,
sent, and its attempt recorded. The server (compiled dist/, as \`hookhub serve\` runs it — \`npm run bench\` builds it first —, at
\`--log-level silent\`), the load generator and the receiver are three processes. The bare loop sends the same
requests straight to the same receiver, 64 at a time, from a fresh process of its own (warmed up first): nothing else shares its
thread. Hookhub runs with \`--delivery-per-host ${d.perHost}\`: as many attempts in flight to the receiver as the bare loop has requests.
Each round runs both, in alternating order; the ratio is the median of the rounds'. Each delivery is two HTTP exchanges and a
commit where the bare loop makes one exchange: about 0.5× is the limit of the ratio. Busy share: a process's CPU time over the
measured wall time (100% = one core all the time); waiting for a core: the time its main thread was runnable but the machine's
cores were taken (\`/proc/<pid>/schedstat\`).

${roundsTable(d)}

${referenceVerdict(d)}

Goal ≥ ${d.goals.ratio}× the bare loop end to end: ${d.goals.ratioMet ? 'met' : '**not met**'} (${fmt(d.ratio, 2)}×, the median of ${d.rounds.length} rounds); server CPU per delivery in the median round
${d.hookhub.serverProcessCpuUsPerDelivery} µs (process, all threads), ${d.hookhub.serverCpuUsPerDelivery ?? 'n/a'} µs on its event loop.

On a machine of its own each side is bound by one thread: the bare loop by its sender, Hookhub by the server's event loop (the load
generator and the receiver take less than a core between them). The ratio is then about the sender's thread CPU per request over the
server's event-loop CPU per delivery: the last column, ${fmt(d.threadRatio, 2)}× (median), a figure the machine's load moves far less than the rates. On
a busy machine every runnable thread gets a share of the cores, and the rates follow the shares as much as the costs.

The median round beside two variants: \`--delivery-threads 1\` (attempts sent from a worker thread), and 50 deliveries per
\`/dispatch\` request (a JSON array batch, 8 requests in flight); each has its own bare-loop run (the last column lists the three).

| | Hookhub (default) | Hookhub \`--delivery-threads 1\` | Hookhub, batches of 50 | bare undici loop |
|---|---|---|---|---|
| deliveries/s | ${fmt(d.hookhub.deliveriesPerSecond)} | ${fmt(t.hookhub.deliveriesPerSecond)} | ${fmt(b.hookhub.deliveriesPerSecond)} | ${fmt(d.bareUndici.requestsPerSecond)} / ${fmt(t.bareUndici.requestsPerSecond)} / ${fmt(b.bareUndici.requestsPerSecond)} |
| ratio to the bare loop of its run | ${fmt(d.ratio, 2)}× | ${fmt(t.ratio, 2)}× | ${fmt(b.ratio, 2)}× | 1× |
| enqueue (202) p50 / p99 ms | ${fmt(d.hookhub.enqueueP50Ms, 1)} / ${fmt(d.hookhub.enqueueP99Ms, 1)} | ${fmt(t.hookhub.enqueueP50Ms, 1)} / ${fmt(t.hookhub.enqueueP99Ms, 1)} | ${fmt(b.hookhub.enqueueP50Ms, 1)} / ${fmt(b.hookhub.enqueueP99Ms, 1)} (per batch) | — |
| enqueue → delivered p50 / p99 ms, flat out (a backlog builds) | ${fmt(d.hookhub.deliveredP50Ms, 1)} / ${fmt(d.hookhub.deliveredP99Ms, 1)} | ${fmt(t.hookhub.deliveredP50Ms, 1)} / ${fmt(t.hookhub.deliveredP99Ms, 1)} | ${fmt(b.hookhub.deliveredP50Ms, 1)} / ${fmt(b.hookhub.deliveredP99Ms, 1)} | — |
| enqueue → delivered p50 / p99 / max ms at ${fmt(d.paced?.rate ?? 0)}/s (no backlog, one per request) | ${fmt(d.paced?.deliveredP50Ms ?? NaN, 1)} / ${fmt(d.paced?.deliveredP99Ms ?? NaN, 1)} / ${fmt(d.paced?.deliveredMaxMs ?? NaN, 1)} | ${fmt(t.paced?.deliveredP50Ms ?? NaN, 1)} / ${fmt(t.paced?.deliveredP99Ms ?? NaN, 1)} / ${fmt(t.paced?.deliveredMaxMs ?? NaN, 1)} | — | — |
| server event-loop utilization | ${fmt(d.hookhub.serverLoopUtilization, 2)} | ${fmt(t.hookhub.serverLoopUtilization, 2)} | ${fmt(b.hookhub.serverLoopUtilization, 2)} | — |
| server event-loop thread CPU per delivery | ${d.hookhub.serverCpuUsPerDelivery ?? 'n/a'} µs | ${t.hookhub.serverCpuUsPerDelivery ?? 'n/a'} µs | ${b.hookhub.serverCpuUsPerDelivery ?? 'n/a'} µs | — |
| server process CPU per delivery (all its threads) | ${d.hookhub.serverProcessCpuUsPerDelivery} µs | ${t.hookhub.serverProcessCpuUsPerDelivery} µs | ${b.hookhub.serverProcessCpuUsPerDelivery} µs | — |
| load generator / receiver CPU per delivery | ${d.hookhub.loaderCpuUsPerDelivery} / ${d.hookhub.receiverCpuUsPerDelivery} µs | ${t.hookhub.loaderCpuUsPerDelivery} / ${t.hookhub.receiverCpuUsPerDelivery} µs | ${b.hookhub.loaderCpuUsPerDelivery} / ${b.hookhub.receiverCpuUsPerDelivery} µs | ${d.bareUndici.senderCpuUsPerRequest} / ${d.bareUndici.receiverCpuUsPerRequest} µs (sender / receiver) |
| CPU per delivery of every process (all threads) | ${fmt(d.hookhub.totalCpuUsPerDelivery)} µs | ${fmt(t.hookhub.totalCpuUsPerDelivery)} µs | ${fmt(b.hookhub.totalCpuUsPerDelivery)} µs | ${fmt(d.bareUndici.totalCpuUsPerDelivery)} µs |
| CPU-bound ceiling on 2 cores (2 s of CPU per s ÷ the line above) | ${fmt(ceiling(d.hookhub.totalCpuUsPerDelivery))}/s | ${fmt(ceiling(t.hookhub.totalCpuUsPerDelivery))}/s | ${fmt(ceiling(b.hookhub.totalCpuUsPerDelivery))}/s | ${fmt(ceiling(d.bareUndici.totalCpuUsPerDelivery))}/s |

The CPU of every process counts everything on the machine's two cores for one delivery: for Hookhub the load generator's request, the
server (receive, parse, commit, send, record) and the receiver; for the bare loop only its send and the receiver.
Goal ≥ ${d.goals.deliveriesPerSecond}/s: ${d.hookhub.deliveriesPerSecond >= d.goals.deliveriesPerSecond ? 'met' : 'not met'}.
`;
}
