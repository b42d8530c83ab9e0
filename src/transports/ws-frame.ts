// The WebSocket frames /ws writes itself, past ws.send: unmasked final text frames (RFC 6455 §5.2), built
// once per message and shared by every connection; Hookbox's per-connection frame number is a small start
// buffer of its own, shared by the connections that number the frame alike.

/** The length of the header of an unmasked frame of `length` payload bytes (RFC 6455 §5.2). */
const headerLength = (length: number): number => (length < 126 ? 2 : length < 65536 ? 4 : 10);

/** A short latin1 string (a frame number) into `out` at `at`, in JavaScript: per delivery, a call into
 *  Buffer.write's native side costs more than the few bytes. */
function writeLatin1(out: Buffer, text: string, at: number): void {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i) & 0xff;
}

/** Writes the header of an unmasked, final text frame of `length` bytes at the start of `out`. */
function writeTextFrameHeader(out: Buffer, length: number): void {
  out[0] = 0x81;
  if (length < 126) {
    out[1] = length;
  } else if (length < 65536) {
    out[1] = 126;
    out[2] = length >> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
}


/** The header of a text frame of `prefix.length + bodyLength` bytes followed by `prefix`: the frame's
 *  start, whose body (shared) is written after it. `ownMemory`: not a slice of Node's buffer pool. */
export function textFrameStart(prefix: string, bodyLength: number, ownMemory = false): Buffer {
  const length = prefix.length + bodyLength;
  const at = headerLength(length);
  const out = ownMemory ? Buffer.allocUnsafeSlow(at + prefix.length) : Buffer.allocUnsafe(at + prefix.length);
  writeTextFrameHeader(out, length);
  writeLatin1(out, prefix, at);
  return out;
}

/**
 * Frames (or frame starts: header and `[n`) of the message being fanned out, by frame number: Hookbox
 * numbers frames per connection, but connections that have had as many frames share the number, and so
 * the bytes. One fan-out asks for one tail's frames in a row: a frame is reused while the tail is the
 * same, built otherwise. Frame numbers beyond the tables get bytes of their own.
 */
const SLOTS = 4096;
let generationTail: Buffer | undefined;

/** Starts, tagged with the generation (tail) they were built for, so no old tail is kept. */
const startGeneration = new Float64Array(SLOTS);
const startBytes: Array<Buffer | undefined> = new Array<Buffer | undefined>(SLOTS).fill(undefined);
let generation = 0;

/** Whole frames of the current tail: the slots filled are listed and emptied when the tail changes, so
 *  a frame (which holds a copy of its tail) is kept no longer than until the next message. */
const wholeFrames: Array<Buffer | undefined> = new Array<Buffer | undefined>(SLOTS).fill(undefined);
const wholeFilled: number[] = [];

function follow(tail: Buffer): void {
  if (tail === generationTail) return;
  generationTail = tail;
  generation++;
  for (let i = 0; i < wholeFilled.length; i++) wholeFrames[wholeFilled[i] as number] = undefined;
  wholeFilled.length = 0;
}

/** The start of frame number `frameId` whose payload ends with `tail` (shared, never written to). */
export function numberedFrameStart(frameId: number, tail: Buffer): Buffer {
  follow(tail);
  if (frameId >= SLOTS) return textFrameStart(`[${frameId}`, tail.length);
  if (startGeneration[frameId] === generation) return startBytes[frameId] as Buffer;
  // Its own few bytes, not a slice of Node's shared 8 KiB pool: a start kept in the table must not keep a pool.
  const start = textFrameStart(`[${frameId}`, tail.length, true);
  startGeneration[frameId] = generation;
  startBytes[frameId] = start;
  return start;
}

/** Tails up to this long are sent as whole frames (numberedFrame); longer ones as a start and the shared
 *  tail (numberedFrameStart): a copy per frame number, never more than one per connection. */
export const WHOLE_FRAME_TAIL_BYTES = 1024;

/**
 * Frame number `frameId` whose payload ends with `tail`, whole (header, `[n` and a copy of the tail; shared,
 * never written to): the connections that number the message alike write the same single buffer, as an
 * SSE consumer does, instead of a start and the tail each (two buffers per connection to queue and to
 * join or writev). For tails up to WHOLE_FRAME_TAIL_BYTES.
 */
export function numberedFrame(frameId: number, tail: Buffer): Buffer {
  follow(tail);
  if (frameId >= SLOTS) return prefixedTextFrame(`[${frameId}`, tail);
  const kept = wholeFrames[frameId];
  if (kept !== undefined) return kept;
  const frame = prefixedTextFrame(`[${frameId}`, tail);
  wholeFrames[frameId] = frame;
  wholeFilled.push(frameId);
  return frame;
}

/**
 * One whole text frame, header included, around `prefix` (latin1: a Hookbox frame number) + `body`
 * (+ `suffix`), in one buffer: per connection one small copy and one buffer to write, where a shared
 * header and a frame of its own were two.
 */
export function prefixedTextFrame(prefix: string, body: Buffer, suffix?: Buffer): Buffer {
  const length = prefix.length + body.length + (suffix ? suffix.length : 0);
  const at = headerLength(length);
  const out = Buffer.allocUnsafe(at + length);
  writeTextFrameHeader(out, length);
  writeLatin1(out, prefix, at);
  out.set(body, at + prefix.length);
  if (suffix) out.set(suffix, at + prefix.length + body.length);
  return out;
}
