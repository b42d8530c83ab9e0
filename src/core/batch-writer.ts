// Per-consumer output queue: chunks pushed while a flush is pending leave in one batch (one write
// for a byte stream, one corked burst of frames for a WebSocket). An idle server flushes at the end of
// the turn; one that flushed less than WINDOW_MS ago waits out the window, so under load more messages
// ride in each write (the floor is one system call per consumer per flush). A consumer whose socket
// stops draining is dropped once it holds more than `limit` bytes — the publisher never waits for it.

/** Where a batch goes: a byte stream (HTTP response) or a message socket (WebSocket). */
export interface BatchSink {
  /** Bytes written but not yet taken by the kernel. */
  readonly backlog: number;
  readonly gone: boolean;
  writeBatch(chunks: Buffer[], bytes: number): void;
}

/** A writable byte stream (an HTTP response) as a sink: a batch is one write. */
export function streamSink(stream: {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
}): BatchSink {
  return {
    get backlog() {
      return stream.writableLength;
    },
    get gone() {
      return stream.destroyed;
    },
    writeBatch: (chunks, bytes) => {
      // Corked by us, the write reaches the kernel now and `backlog` counts only what it refused
      // (left alone, an HTTP response corks its socket until the next tick).
      stream.cork();
      stream.write(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes));
      stream.uncork();
    },
  };
}

/** A queue this large is written at once instead of waiting for the next flush. */
const EAGER_FLUSH_BYTES = 64 * 1024;

/** A flush due this soon after the previous one waits this long (a timer) instead of the end of the
 *  turn: it only happens under load, where it saves one write per consumer per extra flush. */
const WINDOW_MS = 1;

const dirty = new Set<BatchWriter>();
let scheduled = false;
let lastFlushAll = -Infinity;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  if (performance.now() - lastFlushAll < WINDOW_MS) setTimeout(flushAll, WINDOW_MS);
  else setImmediate(flushAll);
}

function flushAll(): void {
  scheduled = false;
  lastFlushAll = performance.now();
  const writers = [...dirty];
  dirty.clear();
  for (const w of writers) w.flush();
}

export class BatchWriter {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private queuedItems = 0;
  private closed = false;
  /** Time of the last write, so heartbeats are sent only on idle connections. */
  lastWrite = Date.now();

  constructor(
    private readonly sink: BatchSink,
    private readonly limit: number,
    private readonly onOverflow: (reason: string) => void,
    private readonly onFlushed: (items: number) => void = () => {},
  ) {}

  /** Queues a chunk; `counts` says whether it is a message (for delivery metrics) or a control line. */
  push(chunk: Buffer, counts = true): void {
    if (this.closed) return;
    if (this.sink.gone) return this.close();
    if (this.sink.backlog + this.queuedBytes + chunk.length > this.limit) {
      // What the window held back goes to the socket first: a consumer is judged on what it has not
      // taken, never on our batching.
      this.flush();
      if (this.sink.gone) return this.close();
    }
    if (this.sink.backlog + chunk.length > this.limit) {
      this.close();
      this.onOverflow(`slow consumer: more than ${this.limit} bytes waiting`);
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (counts) this.queuedItems++;
    if (this.queuedBytes >= EAGER_FLUSH_BYTES) {
      this.flush();
      return;
    }
    dirty.add(this);
    schedule();
  }

  flush(): void {
    if (this.queue.length === 0 || this.closed) return;
    const chunks = this.queue;
    const bytes = this.queuedBytes;
    const items = this.queuedItems;
    dirty.delete(this);
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedItems = 0;
    this.lastWrite = Date.now();
    if (!this.sink.gone) this.sink.writeBatch(chunks, bytes);
    if (items > 0) this.onFlushed(items);
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    dirty.delete(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes queued here, not yet handed to the sink. */
  get queued(): number {
    return this.queuedBytes;
  }
}
