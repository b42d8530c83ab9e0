// Sends gathered over a flush of many consumers and handed to the kernel together: one io_uring_enter per
// block instead of one write(2) per consumer (native/uring-send.c). Why: a paced message to a thousand
// consumers is a thousand small sends, and where the kernel's page tables are isolated from user space (the
// VMs this was measured on) entering and leaving the kernel was about a third of their CPU. Each send is
// non-blocking: the kernel takes what fits at once, so when sendGatheredNow returns nothing is in flight,
// and what a socket did not take goes through its stream, in order, as after a short write(2). Where the
// addon is not built or the kernel refuses io_uring (before 6.0, a sandbox's seccomp), or with --io-uring 0:
// nothing is gathered and every write goes its own way (direct-write.ts).
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { writeError } from './write-error.js';

interface UringSend {
  /** Undefined once the thread's ring is ready, else why not. */
  open(): string | undefined;
  /** results[i]: bytes bufs[i] had taken on fds[i], or -errno. */
  send(fds: Int32Array, bufs: Buffer[], n: number, results: Int32Array): void;
}

/** What a gathered send's owner keeps: bytes gathered or in flight outside its stream (its backlog). */
export interface SendOwner {
  directPending: number;
}

function load(): { ring?: UringSend; status: string } {
  if (process.platform !== 'linux') return { status: `write(2): no io_uring on ${process.platform}` };
  let ring: UringSend;
  try {
    ring = createRequire(import.meta.url)('../../build/Release/uring_send.node') as UringSend;
  } catch {
    return { status: 'write(2): the io_uring sender is not built (npm install builds it)' };
  }
  const refused = ring.open();
  if (refused !== undefined) return { status: `write(2): io_uring refused (${refused})` };
  return { ring, status: 'io_uring' };
}

const OFF = 'write(2): --io-uring 0';
/** The addon and this thread's ring once asked for: the ring, or why there is none. */
let opened: { ring?: UringSend; status: string } | undefined;
// The environment's word (HOOKHUB_IO_URING, as --io-uring) holds from the start, before any server's config.
let enabled = process.env.HOOKHUB_IO_URING !== '0';
let ring = enabled ? (opened ??= load()).ring : undefined;

/** How fan-out writes reach the kernel in this process: 'io_uring', or 'write(2): why'. */
export function sendPath(): string {
  return enabled ? (opened ??= load()).status : OFF;
}

/** --io-uring: whether this process gathers sends (process-wide; the ring, once opened, stays). */
export function useIoUring(on: boolean): void {
  sendGatheredNow();
  enabled = on;
  ring = on ? (opened ??= load()).ring : undefined;
}

/** Sends gathered before they go: a block of a flush, at most this many. */
const MAX_GATHERED = 256;
const EAGAIN = -constants.errno.EAGAIN;
/** Put where a sent buffer was, so the list holds no message after it went. */
const NO_BYTES = Buffer.alloc(0);

const fds = new Int32Array(MAX_GATHERED);
const results = new Int32Array(MAX_GATHERED);
const bufs: Buffer[] = [];
const sockets: (Socket | null)[] = [];
const handles: unknown[] = [];
const owners: (SendOwner | null)[] = [];
let count = 0;
let depth = 0;

/** Whether writes are being gathered now (inside gatherSends, with a ring). */
export function gathering(): boolean {
  return depth > 0 && ring !== undefined;
}

/** Writes from here to the matching sendGathered are gathered, where the ring is there. */
export function gatherSends(): void {
  if (ring !== undefined) depth++;
}

/** Ends a gatherSends: at the outermost, what was gathered goes to the kernel. */
export function sendGathered(): void {
  if (depth === 0) return;
  if (--depth === 0) sendGatheredNow();
}

/**
 * Gathers `buf` for `socket` (whose handle is `handle`, with descriptor `fd`, open, with nothing queued ahead:
 * the caller checked), counted in `owner.directPending` until it is sent. Only while gathering().
 */
export function gather(socket: Socket, handle: object, fd: number, buf: Buffer, owner: SendOwner): void {
  const i = count++;
  fds[i] = fd;
  bufs[i] = buf;
  sockets[i] = socket;
  handles[i] = handle;
  owners[i] = owner;
  owner.directPending += buf.length;
  if (count === MAX_GATHERED) sendGatheredNow();
}

/** Sends what is gathered now (the gathering goes on). */
export function sendGatheredNow(): void {
  const n = count;
  if (n === 0) return;
  count = 0;
  for (let i = 0; i < n; i++) {
    // A socket closed since (its descriptor may be another's by now) is not written.
    if ((sockets[i] as unknown as { _handle: unknown })._handle !== handles[i]) fds[i] = -1;
  }
  try {
    (ring as UringSend).send(fds, bufs, n, results);
  } catch {
    // The ring itself failed (never seen): what it did not send reads as cancelled and fails its socket
    // below; from now on every write goes its own way.
    opened = { status: 'write(2): the io_uring ring failed' };
    ring = undefined;
    depth = 0;
  }
  for (let i = 0; i < n; i++) {
    const socket = sockets[i] as Socket;
    const owner = owners[i] as SendOwner;
    const buf = bufs[i] as Buffer;
    const res = results[i] as number;
    sockets[i] = null;
    handles[i] = null;
    owners[i] = null;
    bufs[i] = NO_BYTES;
    owner.directPending -= buf.length;
    if (res === buf.length || fds[i] === -1 || socket.destroyed) continue;
    if (res >= 0 || res === EAGAIN) socket.write(res > 0 ? buf.subarray(res) : buf);
    else socket.destroy(writeError(res));
  }
}
