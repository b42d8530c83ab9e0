// Encode once per message per wire format; every subscriber shares the bytes.
import { messageJsonText, type Message } from './message.js';

export type Encoder = (m: Message) => Buffer;

const encoders = new Map<string, Encoder>();

/** Registers a wire format (transports do this at import time). */
export function defineWire(name: string, encode: Encoder): (m: Message) => Buffer {
  encoders.set(name, encode);
  return forLastMessage((m) => frame(m, name));
}

/** `make` of the last message asked for, kept: a fan-out asks for one message's bytes (or text) once per
 *  consumer in a row, so that each of those asks is one comparison. */
function forLastMessage<T>(make: (m: Message) => T): (m: Message) => T {
  let last: Message | undefined;
  let value: T | undefined;
  return (m) => {
    if (m !== last) {
      value = make(m);
      last = m;
    }
    return value as T;
  };
}

export function frame(m: Message, wire: string): Buffer {
  const frames = (m.frames ??= {});
  const cached = frames[wire];
  if (cached) return cached;
  const encode = encoders.get(wire);
  if (!encode) throw new Error(`unknown wire format ${wire}`);
  return (frames[wire] = encode(m));
}

/** The message's JSON text, made once for every wire built on it (a fan-out asks for it in a row). */
export const jsonText = forLastMessage((m) => messageJsonText(m));
/** The JSON text with the log's epoch (consumers that asked for epochs). */
export const jsonEpochText = forLastMessage((m) => messageJsonText(m, true));

/**
 * A chunk of a chunked HTTP/1.1 response for `length` body bytes: its size line and closing CRLF written,
 * the body's place (the `length` bytes before the last two) left for the caller to fill.
 */
function chunkFor(length: number): Buffer {
  const size = length.toString(16);
  const out = Buffer.allocUnsafe(size.length + length + 4);
  out.write(size, 0, 'latin1');
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/**
 * `body` as one chunk of a chunked HTTP/1.1 response (size line, bytes, CRLF). Live responses write
 * past the response object once the headers are out, so a message's chunk is framed once and the same
 * bytes go to every consumer.
 */
export function httpChunk(body: Buffer): Buffer {
  const out = chunkFor(body.length);
  body.copy(out, out.length - body.length - 2);
  return out;
}

/**
 * `text` (UTF-8) as one chunk of a chunked HTTP/1.1 response, in one buffer and one copy: a wire that is
 * text (an SSE event, an NDJSON line) is framed here straight from its string, where building it from the
 * parts' buffers took an allocation and a copy per part — work on the way to the first consumer.
 */
export function textChunk(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const out = chunkFor(length);
  out.write(text, out.length - length - 2, 'utf8');
  return out;
}
