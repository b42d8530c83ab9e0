// A batch written straight to the socket's native handle, past Node's Writable. Why: a fan-out writes one
// small batch per consumer per message, and with a thousand consumers the stream layer's work per write
// (the Writable's state machine, a write request object, the completion's nextTick, the timer refresh) was
// about 0.8 µs of user time per write on top of the system call, measured against handle.writeBuffer in one
// process writing to 1,000 loopback sockets — most of what separated a paced /ws message's CPU from nchan's.
//
// Only when nothing is ahead of the batch: the socket's Writable holds nothing (buffered or in flight) and
// no direct write of ours is in flight, so the bytes cannot overtake anything. What follows may go either
// way: libuv keeps a handle's writes in order, so a stream write behind a direct one still leaves after it.
// A direct write the kernel does not take at once (async) counts as the owner's backlog until it completes
// (`directPending`, part of the slow-consumer limit); a failed one destroys the socket, as the Writable
// does. The socket's `bytesWritten` leaves out direct writes (nothing here reads it), and no socket
// timeout is refreshed by them (the sockets written here have none). Anything missing (another Node, a TLS
// socket, --pending-deprecation, where reaching the binding would print a warning): the stream path.
// Inside a flush of many consumers a one-buffer batch is not written here but gathered, and goes to the
// kernel with the others' in one system call (send-batch.ts).
import type { Socket } from 'node:net';
import { gather, gathering, sendGatheredNow, type SendOwner } from './send-batch.js';
import { writeError } from './write-error.js';

/** What the writer keeps per connection: bytes of its direct writes the kernel has not taken yet. */
export type DirectWriteOwner = SendOwner;

/** A batch larger than this goes through the stream: what a consumer holds outside the Writable's count
 *  (one direct write the kernel has not taken) stays small beside its limit. */
const DIRECT_MAX_BYTES = 16 * 1024;

interface WriteReq {
  oncomplete?: (this: WriteReq, status: number) => void;
  owner?: DirectWriteOwner;
  socket?: Socket;
  bytes?: number;
  /** Keeps the memory the kernel has yet to take alive until the write completes. */
  held?: Buffer | Buffer[];
}

interface NativeHandle {
  /** The descriptor (Unix), for a gathered send. */
  readonly fd?: number;
  writeBuffer(req: WriteReq, buf: Buffer): number;
  writev(req: WriteReq, chunks: Buffer[], allBuffers: boolean): number;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function pendingDeprecation(): boolean {
  return process.execArgv.includes('--pending-deprecation') || (process.env.NODE_OPTIONS ?? '').includes('--pending-deprecation') || process.env.NODE_PENDING_DEPRECATION === '1';
}

function loadBinding(): StreamWrapBinding | undefined {
  if (pendingDeprecation()) return undefined;
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return undefined;
    return b as StreamWrapBinding;
  } catch {
    return undefined;
  }
}

const binding = loadBinding();

/** A request object for the next write: a write the kernel takes whole never touches it natively, so the
 *  same one serves every such write; one that goes async keeps it, and a new one is made. */
let spare: WriteReq | undefined = binding ? new binding.WriteWrap() : undefined;

/** Completion of a direct write that went async (called by Node's stream with the request as `this`). */
function onDirectComplete(this: WriteReq, status: number): void {
  const owner = this.owner as DirectWriteOwner;
  owner.directPending -= this.bytes as number;
  const socket = this.socket as Socket;
  this.owner = undefined;
  this.socket = undefined;
  this.held = undefined;
  if (status < 0 && !socket.destroyed) socket.destroy(writeError(status));
}

/**
 * Writes `chunks` (`bytes` in all) to the socket's handle when nothing is ahead of them (see above); false:
 * nothing was written, the caller writes through the stream. `chunks` may be reused once this returns.
 */
export function writeDirect(socket: Socket, chunks: Buffer[], bytes: number, owner: DirectWriteOwner): boolean {
  if (owner.directPending > 0) {
    // Gathered and not sent yet: those go first, so nothing written after them can overtake them.
    if (gathering()) sendGatheredNow();
    if (owner.directPending > 0) return false;
  }
  if (bytes > DIRECT_MAX_BYTES) return false;
  const handle = (socket as unknown as { _handle?: NativeHandle | null })._handle;
  // A destroyed socket has no handle (net.Socket's _destroy lets it go at once): `destroyed`, which reads both
  // stream states, is not asked per write.
  if (!handle || socket.writableLength !== 0 || socket.writableEnded || (socket as { encrypted?: boolean }).encrypted) return false;
  // Inside a flush of many consumers, a one-buffer batch goes with the others in one system call.
  if (chunks.length === 1 && gathering()) {
    const fd = handle.fd;
    if (fd !== undefined && fd >= 0) {
      gather(socket, handle, fd, chunks[0] as Buffer, owner);
      return true;
    }
  }
  if (binding === undefined || spare === undefined) return false;
  const req = spare;
  const single = chunks.length === 1;
  const err = single ? handle.writeBuffer(req, chunks[0] as Buffer) : handle.writev(req, chunks, true);
  if (err !== 0) {
    // Nothing is left in flight; the socket fails as after a stream write's error. (A fresh request object:
    // a failed one may have been wrapped natively.)
    spare = new binding.WriteWrap();
    socket.destroy(writeError(err));
    return true;
  }
  if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
    spare = new binding.WriteWrap();
    req.oncomplete = onDirectComplete;
    req.owner = owner;
    req.socket = socket;
    req.bytes = bytes;
    req.held = single ? (chunks[0] as Buffer) : chunks.slice();
    owner.directPending += bytes;
  }
  return true;
}

/** Whether direct writes are in use in this process (for tests). */
export const directWrites = binding !== undefined;
