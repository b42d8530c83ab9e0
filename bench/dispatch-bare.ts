// The reference of the dispatcher benchmarks in a process of its own: a bare undici loop sending the same
// requests Hookhub sends to the same receiver, with nothing else on its thread (no server, no load
// generator, no heap left by them), so that it runs at its own ceiling.
// Messages (IPC): {type: 'bare', target, warm, from, count, concurrency} → {type: 'warmed'} once warmed up;
// then {type: 'go'} → {type: 'bare', seconds, cpuUs, waitMs, threadMs} (the measured part; threadMs: its
// thread on a core, waitMs: runnable but waiting for one).
import { Agent } from 'undici';
import { bareLoop } from './bare-loop.js';
import { schedMs } from './lib.js';

process.once('message', async (m: { type: 'bare'; target: string; warm: number; from: number; count: number; concurrency: number }) => {
  const agent = new Agent({ connections: m.concurrency });
  await bareLoop(agent, m.target, m.from - m.warm, m.warm, m.concurrency);
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send?.({ type: 'warmed' });
  });
  const before = process.cpuUsage();
  const schedBefore = schedMs();
  const seconds = await bareLoop(agent, m.target, m.from, m.count, m.concurrency);
  const cpu = process.cpuUsage(before);
  const schedAfter = schedMs();
  await agent.close();
  // Its thread's time on a core and waiting for one (other processes' load), beside the process's CPU time.
  const waitMs = schedBefore && schedAfter ? schedAfter.wait - schedBefore.wait : null;
  const threadMs = schedBefore && schedAfter ? schedAfter.cpu - schedBefore.cpu : null;
  process.send?.({ type: 'bare', seconds, cpuUs: cpu.user + cpu.system, waitMs, threadMs }, () => process.exit(0));
});
