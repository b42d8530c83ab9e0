// Topics over a live HTTP response: replay from history, then live. /stream and /sse differ only in encoding.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Message } from '../core/message.js';
import type { Gap, Reset, StreamCursor, TopicStream } from '../core/topic-stream.js';
import type { StreamPosition, Topics } from '../core/topics.js';
import { openLiveResponse, type LiveResponseDeps } from './live-response.js';

export interface StreamEncoding {
  transport: string;
  headers: Record<string, string>;
  /** Written right after the headers (SSE: retry hint). */
  preamble?: Buffer;
  heartbeat: Buffer;
  message(m: Message, cursor: StreamCursor, multi: boolean): Buffer;
  gap(g: Gap, cursor: StreamCursor, multi: boolean): Buffer;
  reset(r: Reset, cursor: StreamCursor, multi: boolean): Buffer;
  /** Last words before a shutdown or a failed replay, when the socket can still take them. */
  farewell(reason: string): Buffer;
}

export interface StreamingDeps extends LiveResponseDeps {
  topics: Topics;
  /** --max-subscriptions: topics one request may name. */
  maxTopicsPerRequest: number;
}

const MAX_PENDING_DURING_REPLAY = 10_000;

export async function serveStream(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: StreamingDeps,
  encoding: StreamEncoding,
  topics: string[],
  since: ReadonlyMap<string, StreamPosition>,
): Promise<void> {
  const multi = topics.length > 1;
  const started = Date.now();
  let stream: TopicStream | undefined;

  const live = openLiveResponse(req, reply, deps, {
    transport: encoding.transport,
    headers: encoding.headers,
    ...(encoding.preamble ? { preamble: encoding.preamble } : {}),
    heartbeat: encoding.heartbeat,
    farewell: encoding.farewell,
    onFinish: (reason) => {
      if (stream) deps.topics.close(topics, stream);
      req.log.info({ transport: encoding.transport, topics, reason, ms: Date.now() - started }, 'consumer closed');
    },
  });

  try {
    stream = await deps.topics.open(
      { topics, since, maxPending: MAX_PENDING_DURING_REPLAY },
      {
        message: (m, cursor) => live.push(encoding.message(m, cursor, multi)),
        gap: (g, cursor) => live.push(encoding.gap(g, cursor, multi), false),
        reset: (r, cursor) => live.push(encoding.reset(r, cursor, multi), false),
        writable: () => live.writable(),
        overflow: (reason) => {
          deps.metrics.dropped.labels(encoding.transport, 'replay').inc();
          live.finish(reason, encoding.farewell(reason));
        },
      },
    );
    if (live.finished) deps.topics.close(topics, stream);
  } catch (err) {
    req.log.error({ err }, 'stream replay failed');
    live.finish('replay failed', encoding.farewell('replay failed'));
  }
}
