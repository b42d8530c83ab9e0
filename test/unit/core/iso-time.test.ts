import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../src/core/iso-time.js';
import { hookboxTime } from '../../../src/channels/hookbox-time.js';

// Both keep the text of the last second asked for: runs of times within a second, across seconds, and far
// apart (before 1970, past 9999) must all read as a Date reads them.
const MAX = 8.64e15;
const time = fc.oneof(fc.integer({ min: -MAX, max: MAX }), fc.double({ min: -1e13, max: 1e13, noNaN: true }), fc.integer({ min: 1_700_000_000_000, max: 1_700_000_010_000 }), fc.integer({ min: -3000, max: 3000 }));

describe('isoTime', () => {
  it('is toISOString for any time a Date holds, asked in any order', () => {
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 20 }), (times) => {
        for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
  });

  it('throws as toISOString does for a time no Date holds', () => {
    for (const ms of [MAX + 1, -MAX - 1, Number.NaN, Infinity]) expect(() => isoTime(ms)).toThrow(RangeError);
    expect(isoTime(MAX)).toBe(new Date(MAX).toISOString());
  });
});

describe('hookboxTime', () => {
  const local = (ms: number): string => {
    const d = new Date(ms);
    const two = (n: number): string => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  };
  it('is the local time to the second for any time, asked in any order', () => {
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 20 }), (times) => {
        for (const ms of times) expect(hookboxTime(ms)).toBe(local(ms));
      }),
      { numRuns: 2000 },
    );
  });
});
