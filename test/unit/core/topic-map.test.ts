import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicMap } from '../../../src/core/topic-map.js';

/** Everything a TopicMap shows, to compare with a Map's. */
const view = (m: ReadonlyMap<string, number>): unknown => {
  const each: Array<[string, number]> = [];
  m.forEach((v, k) => each.push([k, v]));
  return { size: m.size, entries: [...m], keys: [...m.keys()], values: [...m.values()], each };
};

describe('TopicMap', () => {
  it('answers as a Map does after any sequence of sets, in insertion order', () => {
    // Few distinct names, so that keys repeat (overwrites of the first and of later ones).
    const name = fc.constantFrom('a', 'b', 'c', 'orders', 'x/y', '');
    const op = fc.tuple(name, fc.integer());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.array(name, { maxLength: 8 }), (ops, probes) => {
        const ours = new TopicMap<number>();
        const map = new Map<string, number>();
        for (const [k, v] of ops) {
          expect(ours.set(k, v)).toBe(ours);
          map.set(k, v);
        }
        expect(view(ours)).toEqual(view(map));
        for (const k of probes) {
          expect(ours.get(k)).toBe(map.get(k));
          expect(ours.has(k)).toBe(map.has(k));
        }
      }),
    );
  });

  it('finds a key given as another string with the same text (topic names come from different requests)', () => {
    const m = new TopicMap<number>();
    m.set(['or', 'ders'].join(''), 7);
    expect(m.get('orders')).toBe(7);
    m.set('orders', 8);
    expect(m.size).toBe(1);
    expect(m.get(['ord', 'ers'].join(''))).toBe(8);
  });
});
