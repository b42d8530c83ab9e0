// The WebSocket frames /ws writes itself (no ws.send per socket): decoded by ws's own Receiver, the
// parser a client of the `ws` package runs, at every length class of RFC 6455 §5.2.
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { prefixedTextFrame } from '../../../src/transports/ws.js';

/** ws's frame parser (exported by the package, not declared by its types). */
interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(bytes: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReceiver };

/** Every message a client-side Receiver decodes from `bytes`, as text. */
function decode(bytes: Buffer): string[] {
  const messages: string[] = [];
  const errors: Error[] = [];
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString('utf8'));
  });
  receiver.on('error', (err: Error) => errors.push(err));
  receiver.write(bytes);
  expect(errors).toEqual([]);
  return messages;
}

const LENGTHS = [0, 1, 120, 125, 126, 127, 300, 65_535, 65_536, 70_000];

describe('self-framed WebSocket text frames', () => {
  it('prefix + body (+ suffix) in one frame, at every length class', () => {
    for (const n of LENGTHS) {
      const body = Buffer.from(`,"PUBLISH",${JSON.stringify({ p: 'é'.repeat(Math.floor(n / 2)) })}]`);
      expect(decode(prefixedTextFrame('[12', body))).toEqual([`[12${body.toString('utf8')}`]);
      expect(decode(prefixedTextFrame('[7', body, Buffer.from('\r\n')))).toEqual([`[7${body.toString('utf8')}\r\n`]);
    }
  });

  it('frames of every length class written back to back decode one by one, in order', () => {
    const frames = LENGTHS.map((n) => Buffer.from('x'.repeat(n)));
    expect(decode(Buffer.concat(frames.map((f) => prefixedTextFrame('', f))))).toEqual(frames.map((f) => f.toString()));
  });

  it('frames of many connections around one shared body differ only in their prefix', () => {
    const body = Buffer.from(',"PUBLISH",{"channel_name":"c","payload":"same for all"}]');
    const out = Array.from({ length: 50 }, (_, i) => prefixedTextFrame(`[${i + 1}`, body));
    const tails = out.map((f) => f.subarray(f.length - body.length));
    for (const t of tails) expect(t.equals(body)).toBe(true);
    expect(out.flatMap((f) => decode(f))).toEqual(out.map((_, i) => `[${i + 1}${body.toString()}`));
  });
});
