// Gathered sends (one io_uring_enter for many sockets) over real loopback sockets: every socket gets its
// bytes in order whether the kernel took all, part or none of a send; a refused send fails its socket; a
// socket closed before the gathered sends go is not written; and a later write to a socket with a gathered
// send cannot overtake it. Where the ring is missing (HOOKHUB_IO_URING=0, another OS) the same writes go
// one by one, and these checks hold the same.
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSocketPairs, readAll, socketPair } from '../../helpers/socket-pair.js';
import { writeDirect, type DirectWriteOwner } from '../../../src/core/direct-write.js';
import { gatherSends, gathering, sendGathered, sendPath } from '../../../src/core/send-batch.js';

afterEach(() => closeSocketPairs());

const owner = (): DirectWriteOwner => ({ directPending: 0 });

/** Writes as a fan-out's writer does: direct where it can, the stream otherwise. */
function write(socket: Socket, chunk: Buffer, o: DirectWriteOwner): void {
  if (!writeDirect(socket, [chunk], chunk.length, o)) socket.write(chunk);
}

describe('gathered sends', () => {
  it('use io_uring where this machine allows it (Linux, the addon built at install, io_uring not disabled)', () => {
    const built = existsSync(new URL('../../../build/Release/uring_send.node', import.meta.url));
    const allowed = process.platform === 'linux' && readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '0';
    expect(sendPath()).toEqual(built && allowed && process.env.HOOKHUB_IO_URING !== '0' ? 'io_uring' : expect.stringMatching(/^write\(2\): /));
  });

  it('deliver every socket its bytes in order, more sockets than one gathering holds, past full socket buffers', async () => {
    const pairs = await Promise.all(Array.from({ length: 300 }, () => socketPair()));
    const owners = pairs.map(owner);
    // Three sockets get 16 KiB a round, 8 MiB in all with nobody reading: their kernel buffers fill, later
    // sends are taken in part or not at all, and the rest goes through the stream behind them.
    const full = new Set([0, 151, 299]);
    const piece = (round: number, i: number): Buffer => Buffer.alloc(full.has(i) ? 16384 : 512, (round * 7 + i) % 251);
    const rounds = 512;
    let held = 0;
    for (let round = 0; round < rounds; round++) {
      gatherSends();
      try {
        pairs.forEach(({ ours }, i) => write(ours, piece(round, i), owners[i] as DirectWriteOwner));
      } finally {
        sendGathered();
      }
      expect(gathering()).toBe(false);
      for (const i of full) held = Math.max(held, (pairs[i] as { ours: Socket }).ours.writableLength);
    }
    // Gathered sends leave nothing in flight once sent; one-by-one direct writes may, until they complete.
    if (sendPath() === 'io_uring') for (const o of owners) expect(o.directPending).toBe(0);
    expect(held).toBeGreaterThan(0);
    for (const i of [0, 1, 151, 298, 299]) {
      const want = Buffer.concat(Array.from({ length: rounds }, (_, r) => piece(r, i)));
      expect((await readAll((pairs[i] as { peer: Socket }).peer, want.length)).equals(want)).toBe(true);
    }
    while (owners.some((o) => o.directPending > 0)) await new Promise((r) => setImmediate(r));
  });

  it('fail the socket whose peer is gone with the write error, and leave the others whole', async () => {
    const good = await socketPair();
    const gone = await socketPair();
    const errors: NodeJS.ErrnoException[] = [];
    gone.ours.on('error', (e: NodeJS.ErrnoException) => errors.push(e));
    // The reset reaches our socket's kernel side while this turn blocks (Node would learn of it by a read on
    // a later turn): the send, in this turn, is what finds it.
    gone.peer.resetAndDestroy();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    expect(gone.ours.destroyed).toBe(false);
    const og = owner();
    const ob = owner();
    gatherSends();
    write(good.ours, Buffer.from('to the living'), og);
    write(gone.ours, Buffer.from('to the dead'), ob);
    const closed = new Promise((r) => gone.ours.on('close', r));
    sendGathered();
    await closed;
    expect(errors[0]?.code).toMatch(/^(EPIPE|ECONNRESET)$/);
    expect(errors[0]?.syscall).toBe('write');
    expect((await readAll(good.peer, 13)).toString()).toBe('to the living');
  });

  // Written one by one (no ring), the send leaves before the socket closes: nothing to skip.
  it.runIf(sendPath() === 'io_uring')('skip a socket closed after its send was gathered (its descriptor may be another socket by then)', async () => {
    const a = await socketPair();
    const b = await socketPair();
    const oa = owner();
    const ob = owner();
    gatherSends();
    write(a.ours, Buffer.from('never'), oa);
    a.ours.destroy();
    write(b.ours, Buffer.from('still'), ob);
    sendGathered();
    expect(oa.directPending).toBe(0);
    expect((await readAll(b.peer, 5)).toString()).toBe('still');
    a.peer.resume();
    await once(a.peer, 'end');
    expect(a.peer.bytesRead).toBe(0);
  });

  it('send what is gathered for a socket before a later write to it, even one that goes through the stream', async () => {
    const { ours, peer } = await socketPair();
    const o = owner();
    gatherSends();
    write(ours, Buffer.from('first,'), o);
    // Two buffers: not gathered, written at once, behind the gathered one.
    if (!writeDirect(ours, [Buffer.from('second,'), Buffer.from('third')], 12, o)) ours.write('second,third');
    sendGathered();
    expect((await readAll(peer, 18)).toString()).toBe('first,second,third');
  });
});
