import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE_MS, RETRY_AFTER_CAP_MS, delayBefore, isRetryableStatus, retryAfterMs, retrySchedule } from '../../../src/dispatch/retry-schedule.js';
import { sign, signingKey } from '../../../src/dispatch/signing.js';
import { Webhook } from 'standardwebhooks';

describe('retry schedule', () => {
  it('a configured schedule is exact; the default is Standard Webhooks with ±20% jitter', () => {
    const exact = retrySchedule([0, 1000, 1000]);
    expect(exact.delays.map((_, i) => delayBefore(exact, i, () => 0.99))).toEqual([0, 1000, 1000]);
    const def = retrySchedule();
    expect(def.delays).toEqual(DEFAULT_SCHEDULE_MS);
    expect(DEFAULT_SCHEDULE_MS).toEqual([0, 5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 36e6]);
    expect(delayBefore(def, 0, () => 1)).toBe(0);
    expect(delayBefore(def, 1, () => 0)).toBe(4000);
    expect(delayBefore(def, 1, () => 1)).toBe(6000);
    expect(delayBefore(def, 2, () => 0.5)).toBe(300_000);
  });

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:10 GMT', now)).toBe(0);
    expect(retryAfterMs('999999', now)).toBe(RETRY_AFTER_CAP_MS);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it('retries 408, 429 and 5xx only', () => {
    expect([408, 429, 500, 502, 503, 599].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 410, 422, 301].some(isRetryableStatus)).toBe(false);
  });
});

describe('signing', () => {
  it('signs so that standardwebhooks verifies, for whsec_ and raw secrets', () => {
    const body = Buffer.from('{"a":1}');
    const ts = Math.floor(Date.now() / 1000);
    const whsec = 'whsec_' + Buffer.from('0123456789abcdef').toString('base64');
    const headers = (secret: string) => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': sign(signingKey(secret), 'msg_1', ts, body) });
    expect(new Webhook(whsec).verify(body.toString(), headers(whsec))).toEqual({ a: 1 });
    expect(new Webhook('plain text secret', { format: 'raw' }).verify(body.toString(), headers('plain text secret'))).toEqual({ a: 1 });
    expect(() => new Webhook(whsec).verify('{"a":2}', headers(whsec))).toThrow();
    expect(() => signingKey('whsec_')).toThrow(/base64/);
  });
});
