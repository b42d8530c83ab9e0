// npm run bench — every benchmark in one run, side by side, written to bench/RESULTS.md;
// npm run bench -- dispatch (or fanout, drain): those parts only, their sections of RESULTS.md replaced.
// Bounded: fixed message/delivery counts and timeouts; all traffic on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dispatchRoundsText, runDispatchBench } from './dispatch.js';
import { dispatchSection, drainSection } from './dispatch-report.js';
import { runDrainBench } from './dispatch-drain.js';
import { defaultFanoutOptions, runFanoutBench } from './fanout.js';
import { fmt, root } from './lib.js';
import { ceilingTable, fanoutSection, fanoutTable, idleTable, issueTable } from './fanout-report.js';

/** `npm run bench -- dispatch drain`: only these parts, their sections of bench/RESULTS.md replaced; none: all. */
const PARTS = ['fanout', 'drain', 'dispatch'] as const;
type Part = (typeof PARTS)[number];
const asked = process.argv.slice(2);
for (const a of asked) if (!(PARTS as readonly string[]).includes(a)) throw new Error(`unknown part ${a}: one of ${PARTS.join(', ')}`);
const runs = (part: Part): boolean => asked.length === 0 || asked.includes(part);
const deliveries = Number(process.env.BENCH_DELIVERIES ?? 20000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const started = new Date().toISOString();
const sections: Record<Part, string | undefined> = { fanout: undefined, drain: undefined, dispatch: undefined };

if (runs('fanout')) {
  const fanoutOptions = defaultFanoutOptions();
  console.log(`fan-out: ${fanoutOptions.subscribers} consumers, ${fanoutOptions.rounds} rounds`);
  const fanoutStarted = Date.now();
  const fanout = await runFanoutBench(fanoutOptions);
  console.log(issueTable(fanout));
  console.log(fanoutTable(fanout));
  console.log(ceilingTable(fanout));
  console.log(idleTable(fanout));
  sections.fanout = fanoutSection(fanout, (Date.now() - fanoutStarted) / 1000);
}

if (runs('drain')) {
  const drainDeliveries = Number(process.env.BENCH_DRAIN_DELIVERIES ?? 10000);
  const drainRounds = Number(process.env.BENCH_DRAIN_ROUNDS ?? 7);
  console.log(`webhooks: a durable backlog of ${drainDeliveries} vs a bare undici loop, ${drainRounds} rounds`);
  const drain = await runDrainBench({ deliveries: drainDeliveries, rounds: drainRounds });
  console.log(JSON.stringify(drain, null, 2));
  sections.drain = drainSection(drain);
}

if (runs('dispatch')) {
  console.log(`webhooks: ${deliveries} durable deliveries through /dispatch, ${rounds} rounds against a bare undici loop`);
  const dispatch = await runDispatchBench({ deliveries, rounds });
  console.log(dispatchRoundsText(dispatch));
  console.log(`webhooks: ${deliveries} durable deliveries, --delivery-threads 1`);
  const threaded = await runDispatchBench({ deliveries, threads: 1, rounds: 1 });
  console.log(dispatchRoundsText(threaded));
  console.log(`webhooks: ${deliveries} durable deliveries, 50 per /dispatch (a JSON array batch)`);
  const batched = await runDispatchBench({ deliveries, batch: 50, rounds: 1 });
  console.log(dispatchRoundsText(batched));
  const command = `npm run bench${asked.length ? ` -- ${asked.join(' ')}` : ''}`;
  sections.dispatch = dispatchSection(dispatch, threaded, batched, command);
  console.log(`/dispatch end to end: ${dispatch.ratio}× the bare undici loop (median of ${rounds} rounds), `
    + `server CPU ${dispatch.hookhub.serverProcessCpuUsPerDelivery} µs per delivery (event loop ${dispatch.hookhub.serverCpuUsPerDelivery ?? 'n/a'} µs), `
    + `load average ${dispatch.loadAverage.join(' → ')}`);
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
const FANOUT_HEADING = '## Fan-out';
const DRAIN_HEADING = '### Sending: a durable backlog';
const DISPATCH_HEADING = '### Accepting and sending';
const file = `${root}/bench/RESULTS.md`;
const SMOKE_HEADING = '\n## Smoke runs';
const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
/** A closing "## Smoke runs" section (short runs recorded by hand, with their commands) is kept as it was. */
const smoke = old.includes(SMOKE_HEADING) ? old.slice(old.indexOf(SMOKE_HEADING)) : '';

/** The text of `part` in the last report (from its heading to the next part's), to keep when it did not run. */
function previous(part: Part): string {
  const [from, to] = part === 'fanout' ? [FANOUT_HEADING, '## Webhook dispatcher'] : part === 'drain' ? [DRAIN_HEADING, DISPATCH_HEADING] : [DISPATCH_HEADING, undefined];
  const at = old.indexOf(from);
  if (at === -1) return `${from}\n\n(not run yet)\n`;
  const end = old.indexOf(to ?? SMOKE_HEADING, at);
  return old.slice(at, end === -1 ? undefined : end).trimEnd() + '\n';
}

const report = `# Benchmark results

Produced by \`npm run bench\` (bench/run.ts; \`npm run bench -- ${PARTS.join('|')}\` runs some parts and replaces their sections only).
This run${asked.length ? ` (${asked.join(', ')})` : ''}: ${started}. Machine: ${machine}.
Every figure comes from one run on a 2-core machine: compare rows of the same run (the ratios), not absolute numbers across runs.

${sections.fanout ?? previous('fanout')}
## Webhook dispatcher

Goals (issue #4): ≥ 3000 durable deliveries/s, and ≥ 0.8× a bare undici loop sending the same requests; issue #13: ≥ 0.4× end to end.

${sections.drain ?? previous('drain')}
${sections.dispatch ?? previous('dispatch')}${smoke}`;
writeFileSync(file, report);
console.log('wrote bench/RESULTS.md');
