import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { payloadData, utf8Text } from '../../../src/core/message.js';

// utf8Text replaced a fatal TextDecoder on the fan-out's path: it must read every byte string as that did.
const decoder = new TextDecoder('utf-8', { fatal: true });
const decoded = (bytes: Uint8Array): string | undefined => {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
};

const BOM = [0xef, 0xbb, 0xbf];
/** Bytes near UTF-8's edges: valid text, a BOM in front, surrogates, overlongs, cut sequences, anything. */
const edgy = fc.oneof(
  fc.string({ unit: 'binary' }).map((s) => Buffer.from(s, 'utf8')),
  fc.string({ unit: 'binary' }).map((s) => Buffer.concat([Buffer.from(BOM), Buffer.from(s, 'utf8')])),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.array(fc.constantFrom(0xed, 0xa0, 0x80, 0xc0, 0xaf, 0xf4, 0x90, 0xef, 0xbb, 0xbf, 0x41, 0xe2, 0x82), { maxLength: 12 }).map((b) => Buffer.from(b)),
);

describe('utf8Text', () => {
  it('reads any bytes as a fatal TextDecoder does (BOM dropped, anything not UTF-8 refused)', () => {
    fc.assert(
      fc.property(edgy, (bytes) => {
        expect(utf8Text(bytes)).toBe(decoded(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps a BOM that is not at the start, and drops only the first one', () => {
    const two = Buffer.from([...BOM, ...BOM, 0x61]);
    expect(utf8Text(two)).toBe('\ufeffa');
    expect(utf8Text(Buffer.from([0x61, ...BOM]))).toBe('a\ufeff');
  });

  it('payloads that are not UTF-8 go as base64', () => {
    expect(payloadData('text/plain', Buffer.from([0xff, 0xfe]))).toEqual({ data: '//4=', encoding: 'base64' });
    expect(payloadData('text/plain', Buffer.from([...BOM, 0x68, 0x69]))).toEqual({ data: 'hi' });
  });
});
