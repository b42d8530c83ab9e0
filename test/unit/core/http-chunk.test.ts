// Chunk framing of live HTTP responses: a size line in hex, the body's bytes, CRLF — from bytes (httpChunk) or
// from text (textChunk), the same bytes either way, for any body.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { httpChunk, textChunk } from '../../../src/core/frames.js';

const expected = (body: Buffer): Buffer => Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n')]);

describe('chunk framing', () => {
  it('empty, one byte, multi-byte UTF-8, and a size line that grows a digit', () => {
    for (const text of ['', 'x', 'é€😀', 'a'.repeat(15), 'a'.repeat(16), 'ü'.repeat(200)]) {
      const body = Buffer.from(text);
      expect(textChunk(text).equals(expected(body)), JSON.stringify(text.slice(0, 5))).toBe(true);
      expect(httpChunk(body).equals(expected(body))).toBe(true);
    }
  });

  it('any text or bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 600 }), (text) => textChunk(text).equals(expected(Buffer.from(text)))));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => httpChunk(Buffer.from(bytes)).equals(expected(Buffer.from(bytes)))));
  });
});
