// A WebSocket client's text frame written by hand, for raw-socket clients (tests and the fan-out
// generators) that skip a WebSocket library.
import { randomBytes } from 'node:crypto';

/** A masked client text frame (RFC 6455 §5.3), short payloads only. */
export function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('client frames here are short (≤ 125 bytes)');
  const mask = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return frame;
}
