// A delivery thread: sends the attempts worker-threads.ts hands it over its own undici agent (SSRF guard
// included) and answers with their outcomes. Both directions travel in batches, one message per turn.
import { parentPort, workerData } from 'node:worker_threads';
import type { AttemptResponse } from './http-request.js';
import { inProcessSender, type SenderOptions } from './in-loop.js';
import { perTurn, type ToThread, type WireRequest } from './worker-messages.js';

if (!parentPort) throw new Error('worker-thread-entry.ts runs as a worker thread');
const port = parentPort;
const sender = inProcessSender(workerData as SenderOptions);
/** Abort functions of this thread's attempts in flight, by request number. */
const inFlight = new Map<number, Set<(reason: Error) => void>>();
const queueReply = perTurn<[number, AttemptResponse]>((done) => port.postMessage({ done }));

function reply(n: number, r: AttemptResponse): void {
  inFlight.delete(n);
  queueReply([n, r]);
}

function start([n, req]: [number, WireRequest]): void {
  const aborts = new Set<(reason: Error) => void>();
  inFlight.set(n, aborts);
  const { body, ...rest } = req;
  const bytes = body ? { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) } : {};
  void sender.send({ ...rest, ...bytes, aborts }).then((r) => reply(n, r));
}

port.on('message', (m: ToThread) => {
  if (m.send) for (const item of m.send) start(item);
  if (m.abort) {
    for (const n of m.abort.ids) for (const abort of inFlight.get(n) ?? []) abort(new Error(m.abort.reason));
  }
  if (m.close) void sender.close().then(() => port.postMessage({ closed: true }));
});
