// BatchWriter on a recording sink, with the event loop's clocks faked: when a batch leaves (end of
// turn, coalescing window, eager flush) and when a consumer is dropped. Over real sockets:
// test/integration/stream.test.ts and ws.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchWriter, writeAll, writeThrough, type BatchSink } from '../../../src/core/batch-writer.js';
import { Fanout } from '../../../src/core/fanout.js';
import { committedMessage } from '../../../src/core/message.js';

/** A sink that records batches; a stalled one keeps every byte as backlog (the peer never reads). */
function recordingSink(stalled = false): BatchSink & { batches: string[][] } {
  let backlog = 0;
  const batches: string[][] = [];
  return {
    batches,
    get backlog() {
      return backlog;
    },
    gone: false,
    writeBatch(chunks, bytes) {
      batches.push(chunks.map(String));
      if (stalled) backlog += bytes;
    },
  };
}

const bytes = (n: number, c = 'x'): Buffer => Buffer.from(c.repeat(n));

// One fake clock for the file (the window remembers the last flush across writers).
beforeAll(() => vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate', 'performance'] }));
afterAll(() => vi.useRealTimers());
// Long after the flushes of the previous test: the server is idle.
beforeEach(() => vi.advanceTimersByTime(1000));

describe('BatchWriter', () => {
  it('an idle writer writes at the end of the turn, without waiting for a timer', () => {
    const sink = recordingSink();
    const w = new BatchWriter(sink, 1024, () => {});
    w.push(Buffer.from('a'));
    w.push(Buffer.from('b'));
    expect(sink.batches).toEqual([]);
    vi.advanceTimersByTime(0); // setImmediate callbacks run; a 1 ms timer would not
    expect(sink.batches).toEqual([['a', 'b']]);
  });

  it('within 1 ms of a flush, chunks from several turns wait for the window and share one write', () => {
    const sink = recordingSink();
    const w = new BatchWriter(sink, 1024, () => {});
    w.push(Buffer.from('a'));
    vi.advanceTimersByTime(0);
    for (const c of ['b', 'c', 'd']) {
      w.push(Buffer.from(c));
      vi.advanceTimersByTime(0); // another turn: still inside the window
    }
    expect(sink.batches).toEqual([['a']]);
    vi.advanceTimersByTime(1);
    expect(sink.batches).toEqual([['a'], ['b', 'c', 'd']]);
    // Idle again: back to the end of the turn.
    vi.advanceTimersByTime(10);
    w.push(Buffer.from('e'));
    vi.advanceTimersByTime(0);
    expect(sink.batches.at(-1)).toEqual(['e']);
  });

  it('a 64 KiB queue is written at once', () => {
    const sink = recordingSink();
    const w = new BatchWriter(sink, 1024 * 1024, () => {});
    w.push(bytes(32 * 1024, 'a'));
    w.push(bytes(32 * 1024, 'b'));
    expect(sink.batches.map((b) => b.length)).toEqual([2]);
  });

  it('counts what is queued; a consumer that does not drain is dropped with the reason, one that drains never is', () => {
    const run = (stalled: boolean): { sink: ReturnType<typeof recordingSink>; reasons: string[] } => {
      const sink = recordingSink(stalled);
      const reasons: string[] = [];
      const w = new BatchWriter(sink, 100, (r) => reasons.push(r));
      vi.advanceTimersByTime(1000); // idle
      w.push(bytes(40));
      vi.advanceTimersByTime(0); // written: a stalled peer now holds 40 bytes
      w.push(bytes(40)); // queued in the window: 40 + 40 ≤ 100
      w.push(bytes(40)); // 120 > 100 → the queue goes to the socket first, then the peer is judged
      w.push(bytes(10));
      vi.advanceTimersByTime(1);
      return { sink, reasons };
    };
    const healthy = run(false);
    expect(healthy.reasons).toEqual([]);
    expect(healthy.sink.batches.flat()).toHaveLength(4);
    const stalled = run(true);
    expect(stalled.reasons).toEqual(['slow consumer: more than 100 bytes waiting']);
    expect(stalled.sink.batches.flat()).toHaveLength(2);
  });

  it('a pair (own head, shared body) is queued or refused whole, counted as one item; a sink method hears of the drop', () => {
    const sink = recordingSink(true);
    const reasons: string[] = [];
    const flushed: number[] = [];
    const owner = Object.assign(sink, { overflowed: (r: string) => reasons.push(r), flushed: (n: number) => flushed.push(n) });
    const w = new BatchWriter(owner, 100);
    vi.advanceTimersByTime(1000);
    w.pushPair(Buffer.from('h1'), bytes(40));
    w.pushPair(Buffer.from('h2'), bytes(40));
    vi.advanceTimersByTime(0);
    expect(sink.batches).toEqual([['h1', 'x'.repeat(40), 'h2', 'x'.repeat(40)]]);
    expect(flushed).toEqual([2]);
    // 84 bytes held by the stalled peer: a pair of 22 does not fit, and neither of its buffers is written.
    w.pushPair(Buffer.from('h3'), bytes(20));
    vi.advanceTimersByTime(10);
    expect(sink.batches.flat()).not.toContain('h3');
    expect(reasons).toEqual(['slow consumer: more than 100 bytes waiting']);
  });

  it('on an idle server a hand-out is written to every consumer as soon as it ends, not at the end of the turn', () => {
    const sinks = [recordingSink(), recordingSink()];
    const writers = sinks.map((s) => new BatchWriter(s, 1024, () => {}));
    const seen: string[][][] = [];
    writeThrough(() => {
      for (const w of writers) w.push(Buffer.from('a'));
      seen.push(sinks.map((s) => s.batches.flat()));
    });
    // A few consumers: the hand-out is one pass, the writes another.
    expect(seen).toEqual([[[], []]]);
    expect(sinks.map((s) => s.batches)).toEqual([[['a']], [['a']]]);
  });

  it('a hand-out to many consumers is written in blocks as it goes, each consumer once and in order', () => {
    const sinks = Array.from({ length: 150 }, () => recordingSink());
    const writers = sinks.map((s) => new BatchWriter(s, 1024, () => {}));
    let writtenBeforeEnd = 0;
    writeThrough(() => {
      for (const w of writers) w.push(Buffer.from('a'));
      writtenBeforeEnd = sinks.filter((s) => s.batches.length > 0).length;
      // A second item for a consumer already written in this hand-out follows its first.
      (writers[0] as BatchWriter).push(Buffer.from('b'));
    });
    // The first blocks left during the hand-out, the rest when it ended.
    expect(writtenBeforeEnd).toBeGreaterThan(0);
    expect(writtenBeforeEnd).toBeLessThan(150);
    expect((sinks[0] as (typeof sinks)[number]).batches).toEqual([['a'], ['b']]);
    for (const s of sinks.slice(1)) expect(s.batches).toEqual([['a']]);
  });

  it('hand-outs within the window of the previous one queue, and leave together: one write per consumer', () => {
    const sink = recordingSink();
    const w = new BatchWriter(sink, 1024, () => {});
    for (const c of ['a', 'b', 'c']) writeThrough(() => w.push(Buffer.from(c)));
    expect(sink.batches).toEqual([['a']]);
    vi.advanceTimersByTime(1);
    expect(sink.batches).toEqual([['a'], ['b', 'c']]);
  });

  it('while a flush is pending a hand-out queues behind what waits, in order', () => {
    const sink = recordingSink();
    const w = new BatchWriter(sink, 1024, () => {});
    w.push(Buffer.from('x'));
    writeThrough(() => w.push(Buffer.from('y')));
    expect(sink.batches).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(sink.batches).toEqual([['x', 'y']]);
  });

  it('the fan-out hands a message out through writeThrough: every consumer has it when publish returns, once', () => {
    const fanout = new Fanout();
    const sinks = [recordingSink(), recordingSink(), recordingSink()];
    for (const s of sinks) {
      const w = new BatchWriter(s, 1024, () => {});
      fanout.add('t', { deliver: (m) => w.push(m.body) });
    }
    fanout.publish(committedMessage('t', 1, 'e', { contentType: 'text/plain', body: Buffer.from('m1') }));
    expect(sinks.map((s) => s.batches)).toEqual([[['m1']], [['m1']], [['m1']]]);
    vi.advanceTimersByTime(10);
    expect(sinks.map((s) => s.batches)).toEqual([[['m1']], [['m1']], [['m1']]]);
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
