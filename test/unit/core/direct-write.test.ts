// Direct writes to a socket's native handle over real loopback sockets: bytes stay in order when direct
// and stream writes mix behind a peer that does not read, a write the kernel could not take counts as
// backlog until it completes, and a failed write destroys the socket.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, readAll, socketPair } from '../../helpers/socket-pair.js';
import { directWrites, writeDirect, type DirectWriteOwner } from '../../../src/core/direct-write.js';

afterEach(() => closeSocketPairs());

const owner = (): DirectWriteOwner => ({ directPending: 0 });

describe.runIf(directWrites)('writeDirect', () => {
  it('keeps the order of direct and stream writes behind a peer that does not read, and counts what the kernel has not taken', async () => {
    const { ours, peer } = await socketPair();
    const o = owner();
    const expected: Buffer[] = [];
    let direct = 0;
    let pendingSeen = 0;
    // 8 MiB in 8 KiB pieces, more than loopback buffers hold: some direct writes go async, and what
    // follows them goes through the stream (the caller's fallback) behind them.
    for (let i = 0; i < 1024; i++) {
      const piece = Buffer.alloc(8192, i % 251);
      const chunks = i % 3 === 0 ? [piece.subarray(0, 100), piece.subarray(100)] : [piece];
      expected.push(piece);
      if (writeDirect(ours, chunks, piece.length, o)) direct++;
      else for (const c of chunks) ours.write(c);
      pendingSeen = Math.max(pendingSeen, o.directPending);
    }
    expect(direct).toBeGreaterThan(0);
    // At least one direct write went async (the kernel took part of it): it was counted until it completed.
    expect(pendingSeen).toBeGreaterThan(0);
    expect(o.directPending + ours.writableLength).toBeGreaterThan(0);
    const all = expected.reduce((n, b) => n + b.length, 0);
    expect((await readAll(peer, all)).equals(Buffer.concat(expected))).toBe(true);
    // Completions run once the kernel took everything.
    while (o.directPending > 0) await new Promise((r) => setImmediate(r));
    expect(o.directPending).toBe(0);
  });

  it('leaves the write to the stream while the stream holds bytes, or the batch is large', async () => {
    const { ours } = await socketPair();
    const o = owner();
    ours.cork();
    ours.write('held');
    expect(writeDirect(ours, [Buffer.from('x')], 1, o)).toBe(false);
    ours.uncork();
    expect(writeDirect(ours, [Buffer.alloc(64 * 1024)], 64 * 1024, o)).toBe(false);
  });

  it('leaves a destroyed or ended socket to the stream (which refuses the write as it does)', async () => {
    const { ours, peer } = await socketPair();
    const o = owner();
    ours.end();
    expect(writeDirect(ours, [Buffer.from('x')], 1, o)).toBe(false);
    peer.destroy();
    const other = await socketPair();
    other.ours.destroy();
    expect(writeDirect(other.ours, [Buffer.from('x')], 1, o)).toBe(false);
    other.peer.destroy();
  });

  it('destroys the socket with the write error a refused write returns, as a stream write would', () => {
    const destroyed: Error[] = [];
    // A socket whose handle refuses the write at once (EPIPE), as when the peer is gone.
    const fake = {
      _handle: { writeBuffer: (): number => -32, writev: (): number => -32 },
      writableLength: 0,
      destroyed: false,
      writableEnded: false,
      destroy(err: Error): void {
        destroyed.push(err);
        fake.destroyed = true;
      },
    };
    const socket = fake as unknown as Socket;
    const o = owner();
    expect(writeDirect(socket, [Buffer.from('x')], 1, o)).toBe(true);
    expect(destroyed).toHaveLength(1);
    expect(destroyed[0]).toMatchObject({ code: 'EPIPE', syscall: 'write', errno: -32 });
    expect(o.directPending).toBe(0);
  });
});
