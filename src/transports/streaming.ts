// Topics over a live HTTP response: replay from history, then live. /stream and /sse differ only in encoding.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Message } from '../core/message.js';
import type { Gap, Reset, StreamCursor, StreamOutput, TopicStream } from '../core/topic-stream.js';
import type { StreamPosition, Topics } from '../core/topics.js';
import { openLiveResponse, type LiveResponse, type LiveResponseDeps } from './live-response.js';

export interface StreamEncoding {
  transport: string;
  headers: Record<string, string>;
  /** Written right after the headers (SSE: retry hint). */
  preamble?: Buffer;
  heartbeat: Buffer;
  /** The message as it goes on the wire: one HTTP chunk when `chunked` (shared by every consumer when it can be). */
  message(m: Message, cursor: StreamCursor, multi: boolean, chunked: boolean): Buffer;
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

/** Where one consumer's topic stream goes: its live response, in its encoding (a class: no closures per connection). */
class StreamToResponse implements StreamOutput {
  constructor(
    private readonly live: LiveResponse,
    private readonly encoding: StreamEncoding,
    private readonly multi: boolean,
    private readonly deps: StreamingDeps,
  ) {}

  message(m: Message, cursor: StreamCursor): void {
    this.live.pushWire(this.encoding.message(m, cursor, this.multi, this.live.chunked));
  }

  gap(g: Gap, cursor: StreamCursor): void {
    this.live.push(this.encoding.gap(g, cursor, this.multi), false);
  }

  reset(r: Reset, cursor: StreamCursor): void {
    this.live.push(this.encoding.reset(r, cursor, this.multi), false);
  }

  writable(): Promise<void> | undefined {
    return this.live.writable();
  }

  overflow(reason: string): void {
    this.deps.metrics.dropped.labels(this.encoding.transport, 'replay').inc();
    this.live.finish(reason, this.encoding.farewell(reason));
  }
}

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
  // What the closure below keeps for the connection's life: the logger, not the whole request.
  const log = req.log;

  const live = openLiveResponse(req, reply, deps, {
    transport: encoding.transport,
    headers: encoding.headers,
    ...(encoding.preamble ? { preamble: encoding.preamble } : {}),
    heartbeat: encoding.heartbeat,
    farewell: encoding.farewell,
    onFinish: (reason) => {
      if (stream) deps.topics.close(topics, stream);
      log.info({ transport: encoding.transport, topics, reason, ms: Date.now() - started }, 'consumer closed');
    },
  });

  try {
    stream = await deps.topics.open({ topics, since, maxPending: MAX_PENDING_DURING_REPLAY }, new StreamToResponse(live, encoding, multi, deps));
    if (live.finished) deps.topics.close(topics, stream);
  } catch (err) {
    req.log.error({ err }, 'stream replay failed');
    live.finish('replay failed', encoding.farewell('replay failed'));
  }
}
