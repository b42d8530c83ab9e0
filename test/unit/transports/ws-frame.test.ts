// The WebSocket frames /ws writes itself (no ws.send per socket): decoded by ws's own Receiver, the
// parser a client of the `ws` package runs, at every length class of RFC 6455 §5.2.
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { numberedFrame, numberedFrameStart, prefixedTextFrame, textFrameStart } from '../../../src/transports/ws-frame.js';

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

  it('a body shared by every connection: each connection\'s frame start, then the same body, is one frame', () => {
    for (const n of [0, 120, 1024, 65_535, 65_536, 70_000]) {
      const body = Buffer.from(`,"PUBLISH",${JSON.stringify({ p: 'b'.repeat(n) })}]`);
      const wire = Buffer.concat(['[1', '[22', '[333'].flatMap((id) => [textFrameStart(id, body.length), body]));
      expect(decode(wire)).toEqual(['[1', '[22', '[333'].map((id) => `${id}${body.toString()}`));
    }
  });

  it('frame starts are shared by frame number while the tail is the same, and never reused for another tail', () => {
    const a = Buffer.from(',"PUBLISH",{"payload":"a"}]');
    const b = Buffer.from(',"PUBLISH",{"payload":"bb"}]');
    const sameLengthAsA = Buffer.from(',"PUBLISH",{"payload":"c"}]');
    const s7 = numberedFrameStart(7, a);
    expect(numberedFrameStart(7, a)).toBe(s7);
    expect(numberedFrameStart(8, a)).not.toBe(s7);
    // Another message (even of the same length) gets starts of its own: the one handed out is never changed.
    const s7b = numberedFrameStart(7, b);
    expect(s7b).not.toBe(s7);
    expect(numberedFrameStart(7, sameLengthAsA)).not.toBe(s7);
    // Interleaved asks stay right (a rebuild, not a wrong reuse); numbers past the table too.
    for (const [id, tail] of [[7, a], [7, b], [9, a], [7, a], [100_000, b], [100_000, b]] as const) {
      expect(decode(Buffer.concat([numberedFrameStart(id, tail), tail]))).toEqual([`[${id}${tail.toString()}`]);
    }
    expect(decode(Buffer.concat([s7, a]))).toEqual([`[7${a.toString()}`]);
  });

  it('whole frames are shared by frame number while the tail is the same, and never reused for another tail', () => {
    const a = Buffer.from(',"PUBLISH",{"payload":"a"}]');
    const b = Buffer.from(',"PUBLISH",{"payload":"bb"}]');
    const sameAsA = Buffer.from(a);
    const f7 = numberedFrame(7, a);
    expect(decode(f7)).toEqual([`[7${a.toString()}`]);
    expect(numberedFrame(7, a)).toBe(f7);
    expect(numberedFrame(8, a)).not.toBe(f7);
    // Starts of the same tail are another table: a start is never handed out as a whole frame, nor back.
    expect(decode(Buffer.concat([numberedFrameStart(7, a), a]))).toEqual([`[7${a.toString()}`]);
    expect(numberedFrame(7, a)).toBe(f7);
    // Another tail (even of the same bytes) gets frames of its own; the one handed out is never changed.
    expect(numberedFrame(7, sameAsA)).not.toBe(f7);
    expect(numberedFrame(7, b)).not.toBe(f7);
    expect(decode(f7)).toEqual([`[7${a.toString()}`]);
    for (const [id, tail] of [[7, a], [7, b], [9, a], [7, a], [4095, b], [4096, b], [100_000, b], [100_000, a], [1, a]] as const) {
      expect(decode(numberedFrame(id, tail))).toEqual([`[${id}${tail.toString()}`]);
    }
    // Every length class of a short message's frame.
    for (const n of [0, 80, 125, 126, 1024]) {
      const tail = Buffer.from('x'.repeat(n));
      expect(decode(numberedFrame(12, tail))).toEqual([`[12${tail.toString()}`]);
    }
  });
});
