// Encode once per message per wire format; every subscriber shares the bytes.
import { messageJsonText, type Message } from './message.js';

export type Encoder = (m: Message) => Buffer;

const encoders = new Map<string, Encoder>();

/** Registers a wire format (transports do this at import time). */
export function defineWire(name: string, encode: Encoder): (m: Message) => Buffer {
  encoders.set(name, encode);
  // Fan-out asks for one message's bytes once per consumer in a row: the last answer is kept, so
  // that each of those asks is one comparison.
  let last: Message | undefined;
  let bytes: Buffer | undefined;
  return (m) => {
    if (m === last) return bytes as Buffer;
    bytes = frame(m, name);
    last = m;
    return bytes;
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

/** The message's JSON text, shared by the JSON-based wires. */
export const jsonFrame = defineWire('json', (m) => Buffer.from(messageJsonText(m)));

/** The JSON text with the log's epoch (consumers that asked for epochs). */
export const jsonEpochFrame = defineWire('json+epoch', (m) => Buffer.from(messageJsonText(m, true)));

const CRLF = Buffer.from('\r\n');

/**
 * `body` as one chunk of a chunked HTTP/1.1 response (size line, bytes, CRLF). Live responses write
 * past the response object once the headers are out, so a message's chunk is framed once and the same
 * bytes go to every consumer.
 */
export function httpChunk(body: Buffer): Buffer {
  const size = `${body.length.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(size.length + body.length + 2);
  out.write(size, 0, 'latin1');
  body.copy(out, size.length);
  CRLF.copy(out, size.length + body.length);
  return out;
}

/** The chunk-framed twin of a wire (see httpChunk), cached on the message like the wire itself. */
export function chunkedWire(name: string, body: (m: Message) => Buffer): (m: Message) => Buffer {
  return defineWire(`${name}:chunk`, (m) => httpChunk(body(m)));
}
