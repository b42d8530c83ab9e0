// Per-consumer output queue: chunks pushed while a flush is pending leave in one batch (one corked
// burst of the shared buffers: one writev). On an idle server a message handed out by the fan-out
// (writeThrough) is written to its consumers as the hand-out goes, a block of them at a time. Otherwise a
// flush happens at the end of the turn; one due less than a window after the previous one waits it out, so
// under load more messages ride in each write (one send per consumer per flush; a flush's sends enter the
// kernel together where io_uring allows, send-batch.ts). A consumer whose socket stops draining is dropped
// once it holds more than `limit` bytes — the publisher never waits for it.
// A consumer's connection object IS its writer (a subclass that says where the bytes go): per consumer one
// object to reach per message, where a sink and a writer with its queue array were three.

import { gatherSends, sendGathered } from './send-batch.js';

/** A batch of two chunks this small (two short messages queued for one consumer) is copied into one buffer:
 *  a copy of a few hundred bytes costs less than a corked write's buffering and writev. (A /ws frame's start
 *  and shared tail, the pair this was measured on, is sent whole below this size: ws-frame.ts numberedFrame.) */
const JOIN_PAIR_BYTES = 1024;

/** Writes the chunks in one system call (corked: the kernel gets them together, and `writableLength`
 *  counts only what it refused). */
export function writeAll(stream: { write(chunk: Buffer): boolean; cork(): void; uncork(): void }, chunks: Buffer[]): void {
  if (chunks.length === 1) {
    stream.write(chunks[0] as Buffer);
    return;
  }
  if (chunks.length === 2) {
    const a = chunks[0] as Buffer;
    const b = chunks[1] as Buffer;
    if (a.length + b.length <= JOIN_PAIR_BYTES) {
      const joined = Buffer.allocUnsafe(a.length + b.length);
      joined.set(a, 0);
      joined.set(b, a.length);
      stream.write(joined);
      return;
    }
  }
  stream.cork();
  for (let i = 0; i < chunks.length; i++) stream.write(chunks[i] as Buffer);
  stream.uncork();
}

/** A queue this large is written at once instead of waiting for the next flush. */
const EAGER_FLUSH_BYTES = 64 * 1024;

/** A flush due this soon after the previous one ended waits out the rest (a timer) instead of the end
 *  of the turn: it only happens under load, where it saves one write per consumer per extra flush.
 *  After a long flush (many consumers) the wait is as long as that flush took, at most MAX_WINDOW_MS:
 *  a burst then leaves in about half as many writes, while a lone message still goes at once. */
const WINDOW_MS = 1;
const MAX_WINDOW_MS = 5;

/** Writers with something queued, flushed together; each is listed once (its `listed` flag). */
let dirty: BatchWriter[] = [];
/** The other list: the two take turns, so flushing allocates none. */
let spare: BatchWriter[] = [];
let scheduled = false;
let lastFlushEnd = -Infinity;
let window = WINDOW_MS;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  const since = performance.now() - lastFlushEnd;
  if (since < window) setTimeout(flushAll, window - since);
  else setImmediate(flushAll);
}

/** Date.now() of the flush under way (0: none), read once for all its writers' lastWrite. */
let turnClock = 0;

/** Flushes the writers listed so far: their sends enter the kernel together where they can (send-batch). */
function writeListed(): void {
  const writers = dirty;
  dirty = spare;
  gatherSends();
  try {
    for (let i = 0; i < writers.length; i++) {
      const w = writers[i] as BatchWriter;
      w.listed = false;
      w.flush();
    }
  } finally {
    sendGathered();
  }
  writers.length = 0;
  spare = writers;
}

/** `started`: when the flush (or the writeThrough it ends) began, for the window. */
function flushAll(started = performance.now()): void {
  scheduled = false;
  if (turnClock === 0) turnClock = Date.now();
  writeListed();
  turnClock = 0;
  lastFlushEnd = performance.now();
  window = Math.min(MAX_WINDOW_MS, Math.max(WINDOW_MS, lastFlushEnd - started));
}

/** Set while writeThrough hands a message out: the pushes list their writers without scheduling a flush. */
let through = false;

/** Inside writeThrough, the consumers listed are written in blocks of this many while the hand-out goes on;
 *  the first block is smaller, so the first consumers' bytes leave before most of the hand-out's work
 *  (whose first consumers, after an idle spell, run on cold caches). */
const THROUGH_BLOCK = 64;
const FIRST_THROUGH_BLOCK = 8;
let throughBlock = THROUGH_BLOCK;

/**
 * Runs `handOut` (one message to all its consumers), then, when the server was idle (nothing waiting for a
 * flush, none for MAX_WINDOW_MS), flushes every consumer at once: a lone message leaves
 * with no turn of the event loop in between (no setImmediate, nor the publisher's reply and whatever else
 * the turn holds before it). The writes follow the hand-out a block of THROUGH_BLOCK consumers at a time:
 * writing each consumer as it is handed the message (tried) interleaves the fan-out's JavaScript with system
 * calls and made the whole loop slower, while one pass of writes after the whole hand-out delays the first
 * by all of it and reaches every consumer's objects a second time after a thousand others (in an A/B the
 * blocks took less CPU per paced /ws message and lowered the latency). Under load (a flush pending, or one less than MAX_WINDOW_MS ago) the pushes
 * queue as usual, and the window makes the messages that follow ride together: one corked write per consumer per flush.
 */
export function writeThrough(handOut: () => void): void {
  // Idle for the longest window at least: in a burst flushes follow each other closer than that.
  if (through || scheduled || performance.now() - lastFlushEnd < MAX_WINDOW_MS) {
    handOut();
    return;
  }
  through = true;
  throughBlock = FIRST_THROUGH_BLOCK;
  const started = performance.now();
  turnClock = Date.now();
  try {
    handOut();
  } finally {
    through = false;
    flushAll(started);
  }
}

/** The socket of a connection being paced (a long replay): what whenRoomOn needs of it. */
export interface PacedSocket {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  write(chunk: Buffer, done: () => void): unknown;
  once(event: 'close', fn: () => void): unknown;
  off(event: 'close', fn: () => void): unknown;
}

/** Written to wait for what is ahead of it (see whenRoomOn). */
const NOTHING = Buffer.alloc(0);

/**
 * For a sender replaying history: once `held` (bytes the kernel has not taken plus queued) passes half of
 * `limit`, flush, and when the kernel did not take it all give a promise that settles once it has (or the
 * socket closes); undefined: go on. The wait is an empty write behind what is pending: its callback runs
 * when everything before it, direct writes included, is in the kernel. Not 'drain': it follows only a
 * write the stream refused, at its high-water mark (16 KiB on Node 20, 64 KiB on 22 and 24), so a limit
 * under about twice the mark filled up, and the consumer was dropped, before the stream ever refused.
 */
export function whenRoomOn(socket: PacedSocket, writer: BatchWriter, held: number, limit: number): Promise<void> | undefined {
  if (socket.destroyed || held <= limit / 2) return undefined;
  writer.flush();
  // An ended socket takes no more writes (one would fail with an 'error' event): nothing to wait for.
  if (socket.destroyed || socket.writableEnded || writer.backlog === 0) return undefined;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      socket.off('close', done);
      resolve();
    };
    socket.once('close', done);
    socket.write(NOTHING, done);
  });
}

/** The one-chunk batch handed to writeBatch (most flushes hold one message): no array per writer to reach. */
const ONE: Buffer[] = [];

export abstract class BatchWriter {
  /** The first chunk queued; `more` holds the queue instead once it has two (made then, kept for reuse). */
  private single: Buffer | undefined = undefined;
  private more: Buffer[] | undefined = undefined;
  private queuedBytes = 0;
  private queuedItems = 0;
  private stopped = false;
  /** On the list of writers to flush (instead of a Set: no hash lookup per message). */
  listed = false;
  /** Time of the last write, so heartbeats are sent only on idle connections. */
  lastWrite = Date.now();

  constructor(private readonly limit: number) {}

  /** Bytes written but not yet taken by the kernel. */
  abstract get backlog(): number;
  /** The connection is gone: nothing more is written. */
  abstract get gone(): boolean;
  /** Takes the batch now (one system call where it can): the array is reused once this returns. */
  protected abstract writeBatch(chunks: Buffer[], bytes: number): void;
  /** The consumer is dropped: it holds more than `limit` bytes it has not taken. */
  protected abstract overflowed(reason: string): void;
  /** `items` messages went out. */
  protected abstract flushed(items: number): void;

  /** Queues a chunk; `counts` says whether it is a message (for delivery metrics) or a control line. */
  queue(chunk: Buffer, counts = true): void {
    if (!this.room(chunk.length)) return;
    this.add(chunk);
    this.enqueued(chunk.length, counts);
  }

  /**
   * Queues one item made of two buffers (e.g. a connection's own frame header and a body shared by every
   * connection), taken or refused together: never the first without the second.
   */
  queuePair(head: Buffer, body: Buffer, counts = true): void {
    const bytes = head.length + body.length;
    if (!this.room(bytes)) return;
    this.add(head);
    this.add(body);
    this.enqueued(bytes, counts);
  }

  private add(chunk: Buffer): void {
    const more = this.more;
    if (more !== undefined && more.length > 0) more.push(chunk);
    else if (this.single === undefined) this.single = chunk;
    else {
      const list = more ?? (this.more = []);
      list.push(this.single, chunk);
      this.single = undefined;
    }
  }

  /** False when `bytes` more cannot be queued: the writer is stopped, or the consumer is dropped now.
   *  (A connection gone is found at the flush: one object less to reach per message.) */
  private room(bytes: number): boolean {
    if (this.stopped) return false;
    let backlog = this.backlog;
    if (backlog + this.queuedBytes + bytes > this.limit) {
      // What the window held back goes to the socket first: a consumer is judged on what it has not
      // taken, never on our batching.
      this.flush();
      if (this.stopped) return false;
      backlog = this.backlog;
    }
    if (backlog + bytes > this.limit) {
      this.stop();
      this.overflowed(`slow consumer: more than ${this.limit} bytes waiting`);
      return false;
    }
    return true;
  }

  /** Accounts for what was just queued, and flushes now or later. */
  private enqueued(bytes: number, counts: boolean): void {
    this.queuedBytes += bytes;
    if (counts) this.queuedItems++;
    if (this.queuedBytes >= EAGER_FLUSH_BYTES) {
      this.flush();
      return;
    }
    if (!this.listed) {
      this.listed = true;
      dirty.push(this);
      // Inside writeThrough the writes follow the hand-out a block at a time.
      if (!through) schedule();
      else if (dirty.length >= throughBlock) {
        writeListed();
        throughBlock = THROUGH_BLOCK;
      }
    }
  }

  flush(): void {
    const single = this.single;
    const more = this.more;
    if (single === undefined && (more === undefined || more.length === 0)) return;
    if (this.gone) {
      this.stop();
      return;
    }
    const bytes = this.queuedBytes;
    const items = this.queuedItems;
    this.queuedBytes = 0;
    this.queuedItems = 0;
    this.lastWrite = turnClock || Date.now();
    // The writer takes the batch synchronously: the same array serves the next one (no garbage per flush,
    // which under load was a young-generation collection every few bursts).
    if (single !== undefined) {
      this.single = undefined;
      // A write that flushed another writer before returning would find ONE in use: that one gets its own array.
      const batch = ONE.length === 0 ? ONE : [];
      batch.push(single);
      try {
        this.writeBatch(batch, bytes);
      } finally {
        batch.pop();
      }
    } else {
      const chunks = more as Buffer[];
      this.writeBatch(chunks, bytes);
      // Emptied by pops, which optimized code inlines: `length = 0` is a runtime call, per consumer per flush.
      while (chunks.length > 0) chunks.pop();
    }
    if (items > 0) this.flushed(items);
  }

  /** Nothing more is queued or written (the connection is dropped or closing). */
  stop(): void {
    this.stopped = true;
    this.single = undefined;
    if (this.more !== undefined) this.more.length = 0;
    this.queuedBytes = 0;
    this.queuedItems = 0;
  }

  /** Bytes queued here, not yet handed to the socket. */
  get queued(): number {
    return this.queuedBytes;
  }
}
