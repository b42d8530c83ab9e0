// npm run bench — every benchmark in one run, side by side, written to bench/RESULTS.md.
// Bounded: fixed message/delivery counts and timeouts; all traffic on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { runDispatchBench } from './dispatch.js';
import { fanoutTable, runFanoutBench } from './fanout.js';
import { fmt, root } from './lib.js';
import { nchanAvailable } from './nchan.js';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const messages = Number(process.env.BENCH_MESSAGES ?? 500);
const deliveries = Number(process.env.BENCH_DELIVERIES ?? 5000);

execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const started = new Date().toISOString();
console.log(`fan-out: ${subscribers} consumers × ${messages} messages`);
const fanout = await runFanoutBench({ subscribers, messages, publishConcurrency: 4 });
console.log(fanoutTable(fanout));

console.log(`webhooks: ${deliveries} durable deliveries`);
const dispatch = await runDispatchBench({ deliveries });
console.log(JSON.stringify(dispatch, null, 2));


const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
const report = `# Benchmark results

Produced by \`npm run bench\` (bench/run.ts) on ${started}. Machine: ${machine}.
Hookhub runs compiled (\`dist/\`) in its own process; the load generator and consumers run in the bench process.
${nchanAvailable() ? 'nginx + nchan from Debian (`apt-get install nginx-light libnginx-mod-nchan`) runs in the same run with the same load generator, one worker process.' : 'nginx + nchan was not installed (`apt-get install nginx-light libnginx-mod-nchan`), so there is no side-by-side row.'}
Every figure comes from one run on a 2-core machine: client and server share the cores, so compare rows of the same run (the ratios), not absolute numbers across runs.

## Fan-out: ${subscribers} consumers on one topic, ${messages} messages

Messages are published over HTTP (4 concurrent publishers); latency is publish start → receipt by the consumer;
CPU is the server process's user + system time during the timed part; ratios are against nchan over the same transport family (SSE vs eventsource, WebSocket vs websocket).
RSS per connection is the server's resident memory after the consumers connected minus before, divided by their number.
The WebSocket rows are Hookbox channel subscribers (CONNECT + SUBSCRIBE, PUBLISH frames). \`npx tsx bench/ws.ts\` runs a smaller in-process WebSocket bench on its own.

${fanoutTable(fanout)}

## Webhook dispatcher: ${dispatch.deliveries} durable deliveries (store ${dispatch.store})

| | Hookhub (/dispatch \`_url\` → queue → POST) | bare undici loop (same requests, no queue) |
|---|---|---|
| requests/s | ${fmt(dispatch.hookhub.deliveriesPerSecond)} | ${fmt(dispatch.bareUndici.requestsPerSecond)} |
| ratio | ${fmt(dispatch.ratio, 2)}× | 1× |
| enqueue p50 / p99 ms | ${fmt(dispatch.hookhub.enqueueP50Ms, 1)} / ${fmt(dispatch.hookhub.enqueueP99Ms, 1)} | — |
| enqueue → delivered p50 / p99 ms | ${fmt(dispatch.hookhub.deliveredP50Ms, 1)} / ${fmt(dispatch.hookhub.deliveredP99Ms, 1)} | — |
| server event-loop utilization | ${fmt(dispatch.hookhub.serverLoopUtilization, 2)} | — |
| server CPU per delivery | ${dispatch.hookhub.serverCpuUsPerDelivery ?? 'n/a'} µs | — |

The server, the load generator and the receiver share the two cores; per delivery Hookhub receives and answers one HTTP request, commits it, sends one and records the attempt, where the bare loop only sends.
Goals: ≥ ${dispatch.goals.deliveriesPerSecond}/s and ≥ ${dispatch.goals.ratio}× the bare loop — ${dispatch.goals.met ? 'met' : 'not met'}.
`;
writeFileSync(`${root}/bench/RESULTS.md`, report);
console.log('wrote bench/RESULTS.md');
