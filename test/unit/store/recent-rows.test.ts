import { describe, expect, it } from 'vitest';
import { fixedPart } from '../../../src/store/contracts/delivery-fixed-part.js';
import { RecentRows } from '../../../src/store/sqlite/recent-rows.js';

const part = (seq: number, bodyBytes = 10) => fixedPart({ id: `d${seq}`, url: 'http://x/', method: 'POST', headers: {}, body: Buffer.alloc(bodyBytes), maxAttempts: 1, nextAt: 0 }, 0);

describe('RecentRows', () => {
  it('keeps the newest rows within its row bound, whatever was taken meanwhile', () => {
    const rows = new RecentRows(100, 1e9);
    for (let seq = 1; seq <= 10_000; seq++) {
      rows.add(seq, part(seq));
      // Most rows are claimed (taken) soon after they are queued; one in seven stays.
      const claimed = seq - 3;
      if (claimed > 0 && claimed % 7 !== 0) expect(rows.take(claimed, `d${claimed}`)?.id).toBe(`d${claimed}`);
    }
    const kept = Array.from({ length: 10_000 }, (_, i) => i + 1).filter((seq) => rows.take(seq, `d${seq}`) !== undefined);
    expect(kept.length).toBeLessThanOrEqual(100);
    // The newest: the last three (not yet taken) and the untaken multiples of seven before them.
    expect(kept.slice(-3)).toEqual([9998, 9999, 10_000]);
    expect(kept.slice(0, -3).every((seq) => seq % 7 === 0 || seq > 9997)).toBe(true);
    expect(Math.min(...kept)).toBeGreaterThan(10_000 - 7 * 100);
  });

  it('keeps within its byte bound, evicting the oldest first', () => {
    const rows = new RecentRows(1e6, 10 * (512 + 1000));
    for (let seq = 1; seq <= 50; seq++) rows.add(seq, part(seq, 1000));
    const kept = Array.from({ length: 50 }, (_, i) => i + 1).filter((seq) => rows.take(seq, `d${seq}`) !== undefined);
    expect(kept).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
  });

  it('forgets the rows of a transaction rolled back', () => {
    const rows = new RecentRows();
    rows.add(1, part(1));
    rows.begin();
    rows.add(2, part(2));
    rows.rollback();
    expect(rows.take(2, 'd2')).toBeUndefined();
    expect(rows.take(1, 'd1')?.id).toBe('d1');
  });
});
