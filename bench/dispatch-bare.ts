// The reference of the dispatcher benchmarks in a process of its own: a bare undici loop sending the same
// requests Hookhub sends to the same receiver, with nothing else on its thread (no server, no load
// generator, no heap left by them), so that it runs at its own ceiling.
// Message (IPC): {type: 'bare', target, warm, from, count, concurrency} → {type: 'bare', seconds, cpuUs} (the measured part).
import { Agent } from 'undici';
import { bareLoop } from './bare-loop.js';

process.once('message', async (m: { type: 'bare'; target: string; warm: number; from: number; count: number; concurrency: number }) => {
  const agent = new Agent({ connections: m.concurrency });
  await bareLoop(agent, m.target, m.from - m.warm, m.warm, m.concurrency);
  const before = process.cpuUsage();
  const seconds = await bareLoop(agent, m.target, m.from, m.count, m.concurrency);
  const cpu = process.cpuUsage(before);
  await agent.close();
  process.send?.({ type: 'bare', seconds, cpuUs: cpu.user + cpu.system }, () => process.exit(0));
});
