// What Hookbox's own clients expect on the wire, beyond the [id, NAME, args] frames themselves.
//
// Hookbox's hookbox.js (js.io's RTJP protocol) is line-delimited: it sends each frame followed by
// "\r\n", buffers what it receives and handles a frame only when "\r\n" follows it; its WebSocket
// transport reads text as bytes, which is harmless only because Hookbox's server escaped every
// non-ASCII character. It also sends payloads as JSON text (PUBLISH {payload: "{\"a\":1}"}), which
// Hookbox decoded. A connection whose frames end with a line break gets all of this (line framing);
// Hookhub's own client ends none, and gets frames exactly as before.
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';
import { ChannelError } from './channel-error.js';

/** True for a client frame written by a line-delimited (RTJP) client. */
export function isLineFramed(text: string): boolean {
  return text.endsWith('\n');
}

/** The frames of one WebSocket message from a line-delimited client (usually one). */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

const TERMINATOR = Buffer.from('\r\n');
const escapedTails = new WeakMap<Buffer, Buffer>();

/**
 * A shared frame tail as a line-delimited client needs it: non-ASCII characters escaped (\uXXXX, still
 * the same JSON), computed once per tail whatever the number of such connections, then "\r\n".
 */
export function lineFramedTail(t: Buffer): Buffer[] {
  return [asciiTail(t), TERMINATOR];
}

function asciiTail(t: Buffer): Buffer {
  if (!t.some((b) => b >= 0x80)) return t;
  let escaped = escapedTails.get(t);
  if (!escaped) {
    // Outside strings JSON is ASCII, so every non-ASCII character is inside a string and may be escaped.
    escaped = Buffer.from(t.toString('utf8').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    escapedTails.set(t, escaped);
  }
  return escaped;
}

/**
 * A payload as a client sent it, as a value: from a line-delimited (Hookbox) client it is JSON text,
 * decoded as Hookbox did (absent: null; not JSON: refused with Hookbox's message).
 */
export function payloadValue(given: unknown, lineFramed: boolean, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  if (given === undefined) return null;
  if (!lineFramed || typeof given !== 'string') return given;
  const parsed = parseJsonInput(given, maxDepth);
  if (parsed.ok) return parsed.value;
  throw new ChannelError(parsed.kind === 'malformed' ? 'Invalid json for payload' : `payload: ${parsed.reason}`);
}
