// WebSocket fan-out bench: N connections subscribed to one channel, M publishes through the topic core.
// Reports deliveries/s, publish→receive latency p50/p99 and RSS per idle connection.
// Bounded (timeouts, sizes); runnable alone: npx tsx bench/ws.ts [connections] [publishes]
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { testConfig } from '../test/helpers/config.js';
import { startServer } from '../src/server.js';

export interface WsBenchOptions {
  connections?: number;
  publishes?: number;
  payloadBytes?: number;
  /** Give up after this long. */
  timeoutMs?: number;
}

export interface WsBenchResult {
  connections: number;
  publishes: number;
  payloadBytes: number;
  deliveries: number;
  seconds: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Server and clients share this process: an upper bound for the server's cost. */
  rssPerIdleConnectionKb: number;
  dropped: number;
}

const MAX_CONNECTIONS = 5000;
const MAX_PUBLISHES = 100_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

export async function runWsBench(opts: WsBenchOptions = {}): Promise<WsBenchResult> {
  const connections = Math.min(opts.connections ?? 200, MAX_CONNECTIONS);
  const publishes = Math.min(opts.publishes ?? 500, MAX_PUBLISHES);
  const payloadBytes = opts.payloadBytes ?? 100;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const hub = await startServer(testConfig({ maxConnections: connections + 10, subscriberBuffer: 8 * 1024 * 1024 }));
  const wsUrl = `${hub.url.replace('http', 'ws')}/ws`;
  const sockets: WebSocket[] = [];
  const latencies: number[] = [];
  let deliveries = 0;
  let closedEarly = 0;
  const deadline = Date.now() + timeoutMs;
  try {
    gc();
    const rssBefore = process.memoryUsage().rss;
    let subscribed = 0;
    for (let i = 0; i < connections; i++) {
      const ws = new WebSocket(wsUrl);
      sockets.push(ws);
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as [number, string, { payload?: { t: number } }];
        if (frame[1] === 'PUBLISH') {
          deliveries++;
          latencies.push(performance.now() - (frame[2].payload?.t ?? 0));
        } else if (frame[1] === 'SUBSCRIBE') subscribed++;
      });
      ws.on('close', () => closedEarly++);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify([1, 'CONNECT', { payload: { name: `u${i}` } }]));
      ws.send(JSON.stringify([2, 'SUBSCRIBE', { channel_name: 'bench' }]));
    }
    while (subscribed < connections) {
      if (Date.now() > deadline) throw new Error(`only ${subscribed} of ${connections} subscribed`);
      await new Promise((r) => setTimeout(r, 10));
    }
    gc();
    await new Promise((r) => setTimeout(r, 200));
    const rssPerIdleConnectionKb = Math.max(0, process.memoryUsage().rss - rssBefore) / connections / 1024;

    const filler = 'x'.repeat(Math.max(0, payloadBytes - 20));
    const expected = connections * publishes;
    const started = performance.now();
    for (let i = 0; i < publishes; i++) {
      const body = Buffer.from(JSON.stringify({ t: performance.now(), filler }));
      await hub.topics.publish('bench', { contentType: 'application/json', body });
      // One publish per event-loop turn, as requests arrive over the network.
      await new Promise((r) => setImmediate(r));
      if (Date.now() > deadline) break;
    }
    while (deliveries < expected && Date.now() < deadline && closedEarly === 0) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      connections,
      publishes,
      payloadBytes,
      deliveries,
      seconds: Math.round(seconds * 1000) / 1000,
      deliveriesPerSecond: Math.round(deliveries / seconds),
      latencyMs: {
        p50: Math.round(percentile(latencies, 50) * 100) / 100,
        p99: Math.round(percentile(latencies, 99) * 100) / 100,
        max: Math.round((latencies[latencies.length - 1] ?? 0) * 100) / 100,
      },
      rssPerIdleConnectionKb: Math.round(rssPerIdleConnectionKb * 10) / 10,
      dropped: closedEarly,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await hub.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [connections, publishes] = process.argv.slice(2).map(Number);
  runWsBench({ ...(connections ? { connections } : {}), ...(publishes ? { publishes } : {}) })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
