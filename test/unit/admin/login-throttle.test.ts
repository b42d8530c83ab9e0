import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../src/admin/login-throttle.js';

describe('LoginThrottle', () => {
  it('allows a burst of failures, then one try per refill period; a success clears the address', () => {
    const t = new LoginThrottle(3, 1000);
    const at = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfter('a', at)).toBe(0);
      t.failed('a', at);
    }
    expect(t.retryAfter('a', at + 10)).toBe(990);
    expect(t.retryAfter('b', at + 10)).toBe(0); // per address
    expect(t.retryAfter('a', at + 1000)).toBe(0);
    t.failed('a', at + 1000);
    expect(t.retryAfter('a', at + 1500)).toBe(500);
    expect(t.retryAfter('a', at + 10_000)).toBe(0);
    t.failed('a', at + 10_000);
    t.succeeded('a');
    for (let i = 0; i < 3; i++) t.failed('a', at + 10_000);
    expect(t.retryAfter('a', at + 10_000)).toBeGreaterThan(0);
  });
});
