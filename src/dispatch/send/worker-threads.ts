// Attempts sent from delivery threads: the outgoing half of a delivery (undici, TLS, socket writes,
// response parsing) leaves the event loop that accepts /dispatch requests and commits them. Requests
// cross in one message per thread per turn; one host's attempts always go to the same thread, so its
// keep-alive connections are reused. If a thread dies, its attempts in flight fail (and are retried as
// network errors) and sending continues in this thread.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AttemptRequest, AttemptResponse } from './http-request.js';
import { inProcessSender, type AttemptSender, type SenderOptions } from './in-loop.js';
import { deliveryHost } from '../../store/contracts/delivery-target.js';
import { perTurn, type FromThread, type ToThread, type WireRequest } from './worker-messages.js';

interface Waiting {
  resolve: (r: AttemptResponse) => void;
  started: number;
  aborts?: Set<(reason: Error) => void>;
  abort: (reason: Error) => void;
}

/**
 * The worker entry: compiled JavaScript next to this file; or, running from the TypeScript source (dev,
 * tests), a bootstrap that registers tsx in the thread first (an inherited `--import tsx` does not apply
 * to a worker's entry module on Node 20).
 */
function tsxApi(): string {
  // The ESM build of tsx's API (its CommonJS build does not load in an evaluated worker).
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

function spawn(workerData: SenderOptions): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './worker-thread-entry.ts' : './worker-thread-entry.js', import.meta.url);
  const worker = fromSource
    ? new Worker(`import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`, {
      eval: true,
      workerData,
    })
    : new Worker(entry, { workerData });
  worker.unref();
  return worker;
}

class DeliveryThread {
  readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly queueSend = perTurn<[number, WireRequest]>((send) => this.post({ send }));
  private next = 0;
  private closing = false;
  dead = false;

  constructor(options: SenderOptions, private readonly onDeath: (message: string) => void) {
    this.worker = spawn(options);
    this.worker.on('message', (m: FromThread) => {
      for (const [n, r] of m.done ?? []) this.settle(n, r);
    });
    this.worker.on('error', (err) => this.die(`delivery thread failed: ${err.message}`));
    this.worker.on('exit', (code) => this.die(`delivery thread exited (code ${code})`));
  }

  send(req: AttemptRequest): Promise<AttemptResponse> {
    return new Promise((resolve) => {
      const n = this.next++;
      const { aborts, body, ...rest } = req;
      const waiting: Waiting = { resolve, started: performance.now(), abort: (reason) => this.post({ abort: { ids: [n], reason: reason.message } }) };
      if (aborts) {
        waiting.aborts = aborts;
        aborts.add(waiting.abort);
      }
      this.waiting.set(n, waiting);
      this.queueSend([n, body && body.length > 0 ? { ...rest, body } : rest]);
    });
  }

  private post(m: ToThread): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  private settle(n: number, r: AttemptResponse): void {
    const w = this.waiting.get(n);
    if (!w) return;
    this.waiting.delete(n);
    w.aborts?.delete(w.abort);
    // Buffers arrive as plain Uint8Arrays.
    if (r.kind === 'response') r.body = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    w.resolve(r);
  }

  private die(message: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const [n, w] of [...this.waiting]) {
      this.settle(n, { kind: 'error', error: message, timeout: false, refused: false, durationMs: Math.round(performance.now() - w.started) });
    }
    if (!this.closing) this.onDeath(message);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      this.worker.on('message', (m: FromThread) => m.closed && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.post({ close: true });
    await closed;
    await this.worker.terminate();
  }
}

export interface ThreadSender extends AttemptSender {
  /** The delivery threads (operations and tests: a thread that dies is replaced by this thread's sending). */
  readonly workers: readonly Worker[];
}

/** Sends attempts from `threads` delivery threads (one host → one thread). */
export function threadSender(options: SenderOptions & { threads: number; onError: (message: string) => void }): ThreadSender {
  const { threads: count, onError, ...senderOptions } = options;
  let fallback: AttemptSender | undefined;
  const threads = Array.from({ length: count }, () => new DeliveryThread(senderOptions, (message) => {
    onError(`${message}; sending from the main thread from now on`);
    fallback ??= inProcessSender(senderOptions);
  }));
  const pick = (url: string): DeliveryThread => {
    const host = deliveryHost(url);
    let h = 0;
    for (let i = 0; i < host.length; i++) h = (h * 31 + host.charCodeAt(i)) | 0;
    return threads[Math.abs(h) % threads.length] as DeliveryThread;
  };
  return {
    workers: threads.map((t) => t.worker),
    send: (req) => {
      const thread = pick(req.url);
      return !thread.dead ? thread.send(req) : (fallback ??= inProcessSender(senderOptions)).send(req);
    },
    close: async () => {
      await Promise.all(threads.map((t) => t.close()));
      await fallback?.close();
    },
  };
}
