// A long-lived chunked HTTP response fed by topics: headers at once, batched writes, heartbeats on
// idle, dropped when it cannot keep up, ended cleanly on shutdown. /stream and /sse differ only in encoding.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BatchWriter, streamSink } from '../core/batch-writer.js';
import type { Message } from '../core/message.js';
import type { Gap, TopicStream } from '../core/topic-stream.js';
import type { Topics } from '../core/topics.js';
import type { Metrics } from '../core/metrics.js';
import type { Connections } from '../http/connections.js';

export interface StreamEncoding {
  transport: string;
  headers: Record<string, string>;
  /** Written right after the headers (SSE: retry hint). */
  preamble?: Buffer;
  heartbeat: Buffer;
  message(m: Message, positions: ReadonlyMap<string, number>, multi: boolean): Buffer;
  gap(g: Gap, positions: ReadonlyMap<string, number>, multi: boolean): Buffer;
  /** Last words before a drop or shutdown, when the socket can still take them. */
  farewell(reason: string): Buffer;
}

export interface StreamingDeps {
  topics: Topics;
  connections: Connections;
  metrics: Metrics;
  heartbeatMs: number;
  bufferLimit: number;
}

const MAX_PENDING_DURING_REPLAY = 10_000;

export async function serveStream(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: StreamingDeps,
  encoding: StreamEncoding,
  topics: string[],
  since: ReadonlyMap<string, number>,
): Promise<void> {
  const res = reply.raw;
  const multi = topics.length > 1;
  const started = Date.now();
  let release = (): void => {};
  let finished = false;
  let stream: TopicStream | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const finish = (reason: string, farewell: boolean): void => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    writer.flush();
    writer.close();
    if (stream) deps.topics.close(topics, stream);
    release();
    if (farewell && !res.destroyed && res.writableLength === 0) res.end(encoding.farewell(reason));
    else if (!res.writableEnded) res.destroy();
    req.log.info({ transport: encoding.transport, topics, reason, ms: Date.now() - started }, 'consumer closed');
  };

  const writer = new BatchWriter(
    streamSink(res),
    deps.bufferLimit,
    (reason) => {
      deps.metrics.dropped.labels(encoding.transport, 'slow').inc();
      req.log.warn({ transport: encoding.transport, topics, reason }, 'consumer dropped');
      finish(reason, false);
    },
    (n) => deps.metrics.delivered.labels(encoding.transport).inc(n),
  );

  release = deps.connections.admit({ transport: encoding.transport, shutdown: () => finish('server shutting down', true) });
  reply.hijack();
  res.writeHead(200, { ...encoding.headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'access-control-allow-origin': '*' });
  res.flushHeaders();
  if (encoding.preamble) res.write(encoding.preamble);
  res.on('close', () => finish('client closed', false));

  heartbeat = setInterval(() => {
    if (Date.now() - writer.lastWrite >= deps.heartbeatMs * 0.9) writer.push(encoding.heartbeat, false);
  }, deps.heartbeatMs);

  try {
    stream = await deps.topics.open(
      { topics, since, maxPending: MAX_PENDING_DURING_REPLAY },
      {
        message: (m, positions) => writer.push(encoding.message(m, positions, multi)),
        gap: (g, positions) => writer.push(encoding.gap(g, positions, multi), false),
        overflow: (reason) => {
          deps.metrics.dropped.labels(encoding.transport, 'replay').inc();
          finish(reason, true);
        },
      },
    );
    if (finished) deps.topics.close(topics, stream);
  } catch (err) {
    req.log.error({ err }, 'stream replay failed');
    finish('replay failed', true);
  }
}
