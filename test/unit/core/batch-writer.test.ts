// BatchWriter recording its batches, with the event loop's clocks faked: when a batch leaves (end of
// turn, coalescing window, eager flush) and when a consumer is dropped. Over real sockets:
// test/integration/stream.test.ts and ws.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchWriter, writeAll, writeThrough } from '../../../src/core/batch-writer.js';
import { Fanout } from '../../../src/core/fanout.js';
import { committedMessage } from '../../../src/core/message.js';

/** A writer that records its batches; a stalled one keeps every byte as backlog (the peer never reads). */
class RecordingWriter extends BatchWriter {
  readonly batches: string[][] = [];
  readonly reasons: string[] = [];
  readonly flushedItems: number[] = [];
  private held = 0;
  gone = false;

  constructor(limit: number, private readonly stalled = false) {
    super(limit);
  }

  get backlog(): number {
    return this.held;
  }

  protected writeBatch(chunks: Buffer[], bytes: number): void {
    this.batches.push(chunks.map(String));
    if (this.stalled) this.held += bytes;
  }

  protected overflowed(reason: string): void {
    this.reasons.push(reason);
  }

  protected flushed(items: number): void {
    this.flushedItems.push(items);
  }
}

const bytes = (n: number, c = 'x'): Buffer => Buffer.from(c.repeat(n));

// One fake clock for the file (the window remembers the last flush across writers).
beforeAll(() => vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate', 'performance'] }));
afterAll(() => vi.useRealTimers());
// Long after the flushes of the previous test: the server is idle.
beforeEach(() => vi.advanceTimersByTime(1000));

describe('BatchWriter', () => {
  it('an idle writer writes at the end of the turn, without waiting for a timer', () => {
    const w = new RecordingWriter(1024);
    w.queue(Buffer.from('a'));
    w.queue(Buffer.from('b'));
    expect(w.batches).toEqual([]);
    vi.advanceTimersByTime(0); // setImmediate callbacks run; a 1 ms timer would not
    expect(w.batches).toEqual([['a', 'b']]);
  });

  it('within 1 ms of a flush, chunks from several turns wait for the window and share one write', () => {
    const w = new RecordingWriter(1024);
    w.queue(Buffer.from('a'));
    vi.advanceTimersByTime(0);
    for (const c of ['b', 'c', 'd']) {
      w.queue(Buffer.from(c));
      vi.advanceTimersByTime(0); // another turn: still inside the window
    }
    expect(w.batches).toEqual([['a']]);
    vi.advanceTimersByTime(1);
    expect(w.batches).toEqual([['a'], ['b', 'c', 'd']]);
    // Idle again: back to the end of the turn.
    vi.advanceTimersByTime(10);
    w.queue(Buffer.from('e'));
    vi.advanceTimersByTime(0);
    expect(w.batches.at(-1)).toEqual(['e']);
  });

  it('a 64 KiB queue is written at once', () => {
    const w = new RecordingWriter(1024 * 1024);
    w.queue(bytes(32 * 1024, 'a'));
    w.queue(bytes(32 * 1024, 'b'));
    expect(w.batches.map((b) => b.length)).toEqual([2]);
  });

  it('counts what is queued; a consumer that does not drain is dropped with the reason, one that drains never is', () => {
    const run = (stalled: boolean): RecordingWriter => {
      const w = new RecordingWriter(100, stalled);
      vi.advanceTimersByTime(1000); // idle
      w.queue(bytes(40));
      vi.advanceTimersByTime(0); // written: a stalled peer now holds 40 bytes
      w.queue(bytes(40)); // queued in the window: 40 + 40 ≤ 100
      w.queue(bytes(40)); // 120 > 100 → the queue goes to the socket first, then the peer is judged
      w.queue(bytes(10));
      vi.advanceTimersByTime(1);
      return w;
    };
    const healthy = run(false);
    expect(healthy.reasons).toEqual([]);
    expect(healthy.batches.flat()).toHaveLength(4);
    const stalled = run(true);
    expect(stalled.reasons).toEqual(['slow consumer: more than 100 bytes waiting']);
    expect(stalled.batches.flat()).toHaveLength(2);
  });

  it('a pair (own head, shared body) is queued or refused whole, counted as one item', () => {
    const w = new RecordingWriter(100, true);
    vi.advanceTimersByTime(1000);
    w.queuePair(Buffer.from('h1'), bytes(40));
    w.queuePair(Buffer.from('h2'), bytes(40));
    vi.advanceTimersByTime(0);
    expect(w.batches).toEqual([['h1', 'x'.repeat(40), 'h2', 'x'.repeat(40)]]);
    expect(w.flushedItems).toEqual([2]);
    // 84 bytes held by the stalled peer: a pair of 22 does not fit, and neither of its buffers is written.
    w.queuePair(Buffer.from('h3'), bytes(20));
    vi.advanceTimersByTime(10);
    expect(w.batches.flat()).not.toContain('h3');
    expect(w.reasons).toEqual(['slow consumer: more than 100 bytes waiting']);
  });

  it('one chunk, then a pair, then one chunk again: each batch whole and in order', () => {
    const w = new RecordingWriter(1024);
    w.queue(Buffer.from('a'));
    w.queuePair(Buffer.from('h'), Buffer.from('b'));
    vi.advanceTimersByTime(10);
    w.queue(Buffer.from('c'));
    vi.advanceTimersByTime(10);
    w.queuePair(Buffer.from('i'), Buffer.from('d'));
    w.queue(Buffer.from('e'));
    vi.advanceTimersByTime(10);
    expect(w.batches).toEqual([['a', 'h', 'b'], ['c'], ['i', 'd', 'e']]);
    expect(w.flushedItems).toEqual([2, 1, 2]);
  });

  it('a connection gone by the flush is written nothing, counted nothing, and takes nothing more', () => {
    const w = new RecordingWriter(1024);
    w.queue(Buffer.from('a'));
    w.gone = true;
    vi.advanceTimersByTime(10);
    w.gone = false;
    w.queue(Buffer.from('b'));
    vi.advanceTimersByTime(10);
    expect(w.batches).toEqual([]);
    expect(w.flushedItems).toEqual([]);
    expect(w.queued).toBe(0);
  });

  it("a write that flushes another writer before it returns: each batch holds only its own writer's chunks", () => {
    const inner = new RecordingWriter(1024);
    const outer = new (class extends RecordingWriter {
      protected override writeBatch(chunks: Buffer[], bytes: number): void {
        inner.flush();
        super.writeBatch(chunks, bytes);
      }
    })(1024);
    inner.queue(Buffer.from('i'));
    outer.queue(Buffer.from('o'));
    outer.flush();
    expect(outer.batches).toEqual([['o']]);
    expect(inner.batches).toEqual([['i']]);
  });

  it('on an idle server a hand-out is written to every consumer as soon as it ends, not at the end of the turn', () => {
    const writers = [new RecordingWriter(1024), new RecordingWriter(1024)];
    const seen: string[][][] = [];
    writeThrough(() => {
      for (const w of writers) w.queue(Buffer.from('a'));
      seen.push(writers.map((s) => s.batches.flat()));
    });
    // A few consumers: the hand-out is one pass, the writes another.
    expect(seen).toEqual([[[], []]]);
    expect(writers.map((s) => s.batches)).toEqual([[['a']], [['a']]]);
  });

  it('a hand-out to many consumers is written in blocks as it goes, each consumer once and in order', () => {
    const writers = Array.from({ length: 150 }, () => new RecordingWriter(1024));
    let writtenBeforeEnd = 0;
    writeThrough(() => {
      for (const w of writers) w.queue(Buffer.from('a'));
      writtenBeforeEnd = writers.filter((s) => s.batches.length > 0).length;
      // A second item for a consumer already written in this hand-out follows its first.
      (writers[0] as RecordingWriter).queue(Buffer.from('b'));
    });
    // The first blocks left during the hand-out, the rest when it ended.
    expect(writtenBeforeEnd).toBeGreaterThan(0);
    expect(writtenBeforeEnd).toBeLessThan(150);
    expect((writers[0] as RecordingWriter).batches).toEqual([['a'], ['b']]);
    for (const s of writers.slice(1)) expect(s.batches).toEqual([['a']]);
  });

  it('hand-outs within the window of the previous one queue, and leave together: one write per consumer', () => {
    const w = new RecordingWriter(1024);
    for (const c of ['a', 'b', 'c']) writeThrough(() => w.queue(Buffer.from(c)));
    expect(w.batches).toEqual([['a']]);
    vi.advanceTimersByTime(1);
    expect(w.batches).toEqual([['a'], ['b', 'c']]);
  });

  it('while a flush is pending a hand-out queues behind what waits, in order', () => {
    const w = new RecordingWriter(1024);
    w.queue(Buffer.from('x'));
    writeThrough(() => w.queue(Buffer.from('y')));
    expect(w.batches).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(w.batches).toEqual([['x', 'y']]);
  });

  it('the fan-out hands a message out through writeThrough: every consumer has it when publish returns, once', () => {
    const fanout = new Fanout();
    const writers = [new RecordingWriter(1024), new RecordingWriter(1024), new RecordingWriter(1024)];
    for (const w of writers) fanout.add('t', { deliver: (m) => w.queue(m.body) });
    fanout.publish(committedMessage('t', 1, 'e', { contentType: 'text/plain', body: Buffer.from('m1') }));
    expect(writers.map((s) => s.batches)).toEqual([[['m1']], [['m1']], [['m1']]]);
    vi.advanceTimersByTime(10);
    expect(writers.map((s) => s.batches)).toEqual([[['m1']], [['m1']], [['m1']]]);
  });

  it('writeAll: a small pair (a frame start and its shared tail) leaves as one buffer; larger batches corked, as they are', () => {
    const calls: string[] = [];
    const stream = { write: (c: Buffer) => calls.push(`write ${c.length}:${c.toString().slice(0, 3)}`) > 0, cork: () => void calls.push('cork'), uncork: () => void calls.push('uncork') };
    writeAll(stream, [Buffer.from('[1,'), bytes(100, 't')]);
    expect(calls).toEqual(['write 103:[1,']);
    calls.length = 0;
    writeAll(stream, [Buffer.from('[2,'), bytes(2000, 't')]);
    expect(calls).toEqual(['cork', 'write 3:[2,', 'write 2000:ttt', 'uncork']);
    calls.length = 0;
    writeAll(stream, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    expect(calls).toEqual(['cork', 'write 1:a', 'write 1:b', 'write 1:c', 'uncork']);
  });
});
