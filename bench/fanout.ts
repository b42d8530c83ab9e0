// Fan-out: N consumers on one topic, M published messages. Deliveries/s, p50/p99 publish→receive latency,
// server CPU. Hookhub (/sse and /stream) side by side with nginx+nchan (eventsource) when installed.
import { Agent, request as httpRequest } from 'node:http';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { cpuSeconds, fmt, isMain, percentile, rssBytes, startHookhub, type ChildServer } from './lib.js';
import { nchanAvailable, startNchan } from './nchan.js';

export interface FanoutOptions {
  subscribers: number;
  messages: number;
  publishConcurrency: number;
}

export interface FanoutResult {
  target: string;
  subscribers: number;
  messages: number;
  deliveries: number;
  seconds: number;
  deliveriesPerSec: number;
  p50ms: number;
  p99ms: number;
  serverCpuSec: number;
  rssMiB: number;
  /** Server memory added per connected consumer (RSS after connecting − RSS before). */
  rssPerConnKiB: number;
}

interface Target {
  name: string;
  pid: number;
  subscribePath: string;
  publishPath: string;
  separator: string;
  base: string;
  /** WebSocket targets: the frames to send once open (Hookbox CONNECT + SUBSCRIBE), if any. */
  websocket?: { hello: string[] };
}

const now = (): number => performance.timeOrigin + performance.now();

async function measure(target: Target, opts: FanoutOptions): Promise<FanoutResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const latencies: number[] = [];
  const counts = new Array<number>(opts.subscribers).fill(0);
  let warm = 0;
  let timed = false;
  const sockets: Array<() => void> = [];

  const rssBefore = rssBytes(target.pid);
  const onEvent = (i: number, part: string, sawWarm: { v: boolean }): void => {
    const at = part.indexOf('ts:');
    if (at < 0) {
      if (!sawWarm.v && part.includes('warm')) { sawWarm.v = true; warm++; }
      return;
    }
    if (!timed) return;
    counts[i]!++;
    latencies.push(now() - Number.parseFloat(part.slice(at + 3)));
  };
  const openHttp = (i: number): Promise<void> => new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${target.base}${target.subscribePath}`, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      let rest = '';
      const sawWarm = { v: false };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        rest += chunk;
        const parts = rest.split(target.separator);
        rest = parts.pop() ?? '';
        for (const part of parts) onEvent(i, part, sawWarm);
      });
      res.on('error', () => {});
      resolve();
    });
    req.on('error', reject);
    sockets.push(() => req.destroy());
    req.end();
  });
  const openWs = (i: number, hello: string[]): Promise<void> => new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`${target.base.replace(/^http/, 'ws')}${target.subscribePath}`, { perMessageDeflate: false });
    const sawWarm = { v: false };
    ws.on('open', () => {
      for (const frame of hello) ws.send(frame);
      resolve();
    });
    ws.on('message', (data) => onEvent(i, data.toString(), sawWarm));
    ws.on('error', reject);
    sockets.push(() => ws.terminate());
  });
  // Open in batches so the listen backlog is not the thing measured.
  for (let i = 0; i < opts.subscribers; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, opts.subscribers - i) }, (_, k) =>
      target.websocket ? openWs(i + k, target.websocket.hello) : openHttp(i + k)));
  }

  const pool = new Pool(target.base, { connections: opts.publishConcurrency, pipelining: 1 });
  const publish = async (body: string): Promise<void> => {
    const res = await pool.request({ path: target.publishPath, method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`${target.name} publish answered ${res.statusCode}`);
  };

  // Everyone is subscribed once everyone has seen a warm-up message.
  const warmDeadline = Date.now() + 30_000;
  while (warm < opts.subscribers) {
    await publish('warm');
    await new Promise((r) => setTimeout(r, 100));
    if (Date.now() > warmDeadline) throw new Error(`${target.name}: only ${warm}/${opts.subscribers} subscribers warmed up`);
  }

  const rssConnected = rssBytes(target.pid);
  timed = true;
  const cpuBefore = cpuSeconds(target.pid);
  const started = now();
  let next = 0;
  await Promise.all(Array.from({ length: opts.publishConcurrency }, async () => {
    while (next < opts.messages) {
      next++;
      await publish(`ts:${now()}`);
    }
  }));
  const expected = opts.subscribers * opts.messages;
  const deadline = Date.now() + 60_000;
  while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (now() - started) / 1000;
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  const rss = rssBytes(target.pid);

  for (const close of sockets) close();
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    target: target.name,
    subscribers: opts.subscribers,
    messages: opts.messages,
    deliveries: latencies.length,
    seconds,
    deliveriesPerSec: latencies.length / seconds,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    serverCpuSec: cpu,
    rssMiB: rss / 1024 / 1024,
    rssPerConnKiB: (rssConnected - rssBefore) / opts.subscribers / 1024,
  };
}

export async function runFanoutBench(opts: FanoutOptions): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  const hub: ChildServer = await startHookhub({ HOOKHUB_STORE: 'memory', HOOKHUB_MAX_CONNECTIONS: '100000' });
  try {
    const pid = hub.proc.pid as number;
    results.push(await measure({ name: 'hookhub /sse', pid, base: hub.url, subscribePath: '/sse?topic=bench', publishPath: '/api/topics/bench/publish', separator: '\n\n' }, opts));
    results.push(await measure({ name: 'hookhub /stream', pid, base: hub.url, subscribePath: '/stream?topic=bench2', publishPath: '/api/topics/bench2/publish', separator: '\n' }, opts));
    const hello = [JSON.stringify([1, 'CONNECT', { cookie: '' }]), JSON.stringify([2, 'SUBSCRIBE', { channel_name: 'bench3' }])];
    results.push(await measure({ name: 'hookhub /ws (Hookbox)', pid, base: hub.url, subscribePath: '/ws', publishPath: '/api/topics/bench3/publish', separator: '', websocket: { hello } }, opts));
  } finally {
    await hub.stop();
  }
  if (nchanAvailable()) {
    const nchan = await startNchan(18000 + Math.floor(Math.random() * 1000));
    try {
      results.push(await measure({ name: 'nginx+nchan eventsource', pid: nchan.workerPid(), base: nchan.url, subscribePath: '/sub/bench', publishPath: '/pub/bench', separator: '\n\n' }, opts));
      results.push(await measure({ name: 'nginx+nchan websocket', pid: nchan.workerPid(), base: nchan.url, subscribePath: '/ws/bench2', publishPath: '/pub/bench2', separator: '', websocket: { hello: [] } }, opts));
    } finally {
      await nchan.stop();
    }
  }
  return results;
}

export function fanoutTable(results: FanoutResult[]): string {
  const rows = results.map((r) => {
    const ws = r.target.includes('ws') || r.target.includes('websocket');
    const nchan = results.find((n) => n.target.startsWith('nginx') && (n.target.includes('websocket') === ws));
    const ratio = nchan && r !== nchan ? ` (${fmt(r.deliveriesPerSec / nchan.deliveriesPerSec, 2)}× nchan)` : '';
    const cpuRatio = nchan && r !== nchan ? ` (${fmt(r.serverCpuSec / nchan.serverCpuSec, 2)}×)` : '';
    return `| ${r.target} | ${r.subscribers} | ${r.messages} | ${r.deliveries} | ${fmt(r.deliveriesPerSec)}${ratio} | ${fmt(r.p50ms, 1)} | ${fmt(r.p99ms, 1)} | ${fmt(r.serverCpuSec, 2)}${cpuRatio} | ${fmt(r.rssMiB, 0)} | ${fmt(r.rssPerConnKiB, 1)} |`;
  });
  return [
    '| target | subscribers | messages | deliveries | deliveries/s | p50 ms | p99 ms | server CPU s | server RSS MiB | RSS per connection KiB |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
  const messages = Number(process.env.BENCH_MESSAGES ?? 500);
  const results = await runFanoutBench({ subscribers, messages, publishConcurrency: 4 });
  console.log(fanoutTable(results));
}
