// A long-lived chunked HTTP response (/stream, /sse, the /ws/sse fallback): counted against
// --max-connections, headers at once, batched writes, heartbeats on idle, dropped when it cannot keep
// up, ended politely on shutdown. Callers decide what flows through it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BatchWriter, streamSink } from '../core/batch-writer.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';

export interface LiveResponseDeps {
  connections: Connections;
  metrics: Metrics;
  heartbeatMs: number;
  bufferLimit: number;
}

export interface LiveResponseOptions {
  transport: string;
  headers: Record<string, string>;
  /** Written right after the headers. */
  preamble?: Buffer | string;
  heartbeat: Buffer;
  /** Last words on shutdown. */
  farewell(reason: string): Buffer | string;
  /** Runs once when the response ends, whatever ended it. */
  onFinish(reason: string): void;
}

export interface LiveResponse {
  /** Queues a chunk; `counts` says whether it is a message (delivery metrics) or a control line. */
  push(chunk: Buffer, counts?: boolean): void;
  /** Ends the response: with `farewell` written when the socket can still take it, else by destroying it. */
  finish(reason: string, farewell?: Buffer | string): void;
  readonly finished: boolean;
  /**
   * A promise while more than half of --subscriber-buffer waits for the client (resolves when the
   * socket drains or closes); undefined when there is room. Replays pace themselves on it.
   */
  writable(): Promise<void> | undefined;
}

/** Admits the connection (throws 503 when full, before anything is sent), hijacks the reply and opens the stream. */
export function openLiveResponse(req: FastifyRequest, reply: FastifyReply, deps: LiveResponseDeps, options: LiveResponseOptions): LiveResponse {
  const res = reply.raw;
  const { transport } = options;
  let finished = false;
  let heartbeat: NodeJS.Timeout | undefined;

  const finish = (reason: string, farewell?: Buffer | string): void => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    writer.flush();
    writer.close();
    release();
    if (farewell !== undefined && !res.destroyed && res.writableLength === 0) res.end(farewell);
    else if (!res.writableEnded) res.destroy();
    options.onFinish(reason);
  };

  const writer = new BatchWriter(
    streamSink(res),
    deps.bufferLimit,
    (reason) => {
      deps.metrics.dropped.labels(transport, 'slow').inc();
      req.log.warn({ transport, reason }, 'consumer dropped');
      finish(reason);
    },
    (n) => deps.metrics.delivered.labels(transport).inc(n),
  );

  const release = deps.connections.admit({ transport, shutdown: () => finish('server shutting down', options.farewell('server shutting down')) });
  reply.hijack();
  res.writeHead(200, { ...options.headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'access-control-allow-origin': '*' });
  res.flushHeaders();
  if (options.preamble !== undefined) res.write(options.preamble);
  res.on('close', () => finish('client closed'));
  heartbeat = setInterval(() => {
    if (Date.now() - writer.lastWrite >= deps.heartbeatMs * 0.9) writer.push(options.heartbeat, false);
  }, deps.heartbeatMs);

  return {
    push: (chunk, counts) => writer.push(chunk, counts),
    finish,
    get finished() {
      return finished;
    },
    writable: () => {
      if (finished || res.destroyed || res.writableLength + writer.queued <= deps.bufferLimit / 2) return undefined;
      writer.flush();
      // Only a write that was refused is followed by 'drain'; below the stream's own mark there is room anyway.
      if (!res.writableNeedDrain) return undefined;
      return new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    },
  };
}
