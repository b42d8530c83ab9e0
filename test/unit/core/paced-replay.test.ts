// A replay paced with whenRoomOn over real loopback sockets, behind a peer that reads late: the sender waits
// for room instead of the consumer being dropped as slow, whatever the socket's high-water mark. Node 20's
// sockets have 16 KiB, 22's and 24's 64 KiB: a wait that needed the stream to refuse a write (its 'drain')
// let a 64 KiB limit fill before the stream ever refused, and dropped the consumer on 22 and 24 only.
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, socketPair } from '../../helpers/socket-pair.js';
import { BatchWriter, whenRoomOn, writeAll } from '../../../src/core/batch-writer.js';
import { writeDirect, type DirectWriteOwner } from '../../../src/core/direct-write.js';

afterEach(() => closeSocketPairs());

/** A connected pair whose accepted side has the given high-water mark. */
async function pair(highWaterMark: number): Promise<{ ours: Socket; peer: Socket }> {
  const p = await socketPair(highWaterMark);
  expect(p.ours.writableHighWaterMark).toBe(highWaterMark);
  return p;
}

/** A consumer's writer as the transports build it: direct writes when nothing is ahead, the stream otherwise. */
class SocketWriter extends BatchWriter implements DirectWriteOwner {
  directPending = 0;
  readonly dropped: string[] = [];

  constructor(readonly socket: Socket, limit: number) {
    super(limit);
  }

  get backlog(): number {
    return this.socket.writableLength + this.directPending;
  }

  get gone(): boolean {
    return this.socket.destroyed;
  }

  protected writeBatch(chunks: Buffer[], bytes: number): void {
    if (!writeDirect(this.socket, chunks, bytes, this)) writeAll(this.socket, chunks);
  }

  protected overflowed(reason: string): void {
    this.dropped.push(reason);
    this.socket.destroy();
  }

  protected flushed(): void {}
}

const LIMIT = 64 * 1024;

describe('a replay paced with whenRoomOn', () => {
  it.each([16 * 1024, 64 * 1024, 256 * 1024])('waits for room behind a late reader instead of dropping it (socket high-water mark %i)', async (highWaterMark) => {
    const { ours, peer } = await pair(highWaterMark);
    const writer = new SocketWriter(ours, LIMIT);
    // 8 MiB in 2 KiB items, far more than loopback buffers hold: the kernel refuses some, and the limit
    // (64 KiB) is at or under the socket's own mark in two of the three cases.
    const items = 4096;
    const item = (n: number): Buffer => Buffer.alloc(2048, n % 251);
    const all = items * 2048;
    const received: Buffer[] = [];
    let total = 0;
    peer.on('data', (d: Buffer) => {
      received.push(d);
      total += d.length;
    });
    // The peer starts reading only once the sender had to wait.
    let waits = 0;
    for (let n = 0; n < items && writer.dropped.length === 0; n++) {
      writer.queue(item(n));
      const room = whenRoomOn(ours, writer, writer.backlog + writer.queued, LIMIT);
      if (room) {
        waits++;
        if (waits === 1) setTimeout(() => peer.resume(), 20);
        await room;
      }
    }
    writer.flush();
    expect(writer.dropped).toEqual([]);
    expect(waits).toBeGreaterThan(0);
    while (total < all) await once(peer, 'data');
    const expected = Buffer.concat(Array.from({ length: items }, (_, n) => item(n)));
    expect(Buffer.concat(received).equals(expected)).toBe(true);
  });

  it('settles when the socket closes while it waits', async () => {
    const { ours, peer } = await pair(64 * 1024);
    const writer = new SocketWriter(ours, LIMIT);
    let room: Promise<void> | undefined;
    for (let n = 0; n < 4096 && !room; n++) {
      writer.queue(Buffer.alloc(2048, 1));
      room = whenRoomOn(ours, writer, writer.backlog + writer.queued, LIMIT);
    }
    expect(room).toBeDefined();
    peer.destroy();
    ours.destroy();
    await room;
    expect(ours.destroyed).toBe(true);
  });

  it('does not wait while what it holds is under half the limit, or once the socket is ended or gone', async () => {
    const { ours } = await pair(64 * 1024);
    const writer = new SocketWriter(ours, LIMIT);
    writer.queue(Buffer.alloc(1024));
    expect(whenRoomOn(ours, writer, writer.backlog + writer.queued, LIMIT)).toBeUndefined();
    ours.destroy();
    expect(whenRoomOn(ours, writer, LIMIT, LIMIT)).toBeUndefined();
    // Ended with bytes the peer has not read: a write now would fail, so no wait is given.
    const other = await pair(64 * 1024);
    other.ours.end(Buffer.alloc(4 * 1024 * 1024));
    expect(other.ours.writableLength).toBeGreaterThan(0);
    expect(whenRoomOn(other.ours, new SocketWriter(other.ours, LIMIT), LIMIT, LIMIT)).toBeUndefined();
  });
});
