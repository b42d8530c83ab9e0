// The one parser for JSON from outside: nesting counted outside strings, prototype keys refused in any spelling.
import { describe, expect, it } from 'vitest';
import { jsonDepthOver, parseJsonInput } from '../../../src/core/json-input.js';

describe('jsonDepthOver', () => {
  it('counts objects and arrays, not brackets inside strings (escaped quotes included)', () => {
    expect(jsonDepthOver('[[1]]', 2)).toBe(false);
    expect(jsonDepthOver('[[[1]]]', 2)).toBe(true);
    expect(jsonDepthOver('{"a":{"b":[]}}', 3)).toBe(false);
    expect(jsonDepthOver('{"a":{"b":[]}}', 2)).toBe(true);
    expect(jsonDepthOver('["[[[[[[", "\\"[[[[", {"k\\\\": "]]]"}]', 2)).toBe(false);
    expect(jsonDepthOver('[[],[],[],[]]', 2)).toBe(false);
  });

  it('reads UTF-8 bytes as they are', () => {
    expect(jsonDepthOver(Buffer.from('["é[[[", ["雪"]]'), 2)).toBe(false);
    expect(jsonDepthOver(Buffer.from('[["雪", [1]]]'), 2)).toBe(true);
  });
});

describe('parseJsonInput', () => {
  it('parses within the limit and says why it refuses', () => {
    expect(parseJsonInput('{"a":[1,{"b":null}]}', 3)).toEqual({ ok: true, value: { a: [1, { b: null }] } });
    expect(parseJsonInput('[[[[]]]]', 3)).toMatchObject({ ok: false, kind: 'too_deep' });
    expect(parseJsonInput('{"a":', 3)).toMatchObject({ ok: false, kind: 'malformed' });
    expect(parseJsonInput('"just text"', 1)).toEqual({ ok: true, value: 'just text' });
  });

  it('refuses __proto__ and constructor.prototype keys however they are spelled; other keys are data', () => {
    for (const text of ['{"__proto__":{}}', '{"a":[{"__proto__":1}]}', '{"\\u005f\\u005fproto__":1}', '{"constructor":{"prototype":{}}}']) {
      expect(parseJsonInput(text, 10), text).toMatchObject({ ok: false, kind: 'forbidden_key' });
    }
    expect(parseJsonInput('{"constructor":"x","proto":1,"prototype":2}', 10)).toEqual({ ok: true, value: { constructor: 'x', proto: 1, prototype: 2 } });
  });
});
