import { describe, expect, it } from 'vitest';
import { PoolState } from '../../../src/dispatch/pool-state.js';
import type { DeliveryRecord } from '../../../src/store/contracts/delivery-queue.js';

const record = (id: string): DeliveryRecord => ({
  id, seq: 0, url: 'http://a.test/', method: 'POST', headers: {}, body: Buffer.alloc(0), maxAttempts: 1, nextAt: 0,
  status: 'delivering', attempts: [], createdAt: 0, updatedAt: 0, leaseUntil: 0,
});

describe('PoolState', () => {
  it('room for claims is twice the concurrency less everything held, whatever holds it', () => {
    const p = new PoolState(4, 2);
    expect(p.free).toBe(8);
    p.runningCount = 1;
    p.waitingCount = 2;
    p.reservedCount = 1;
    p.throttledCount = 1;
    expect(p.free).toBe(3);
  });

  it('claims in batches of half the concurrency, or whatever fits when the pool is idle', () => {
    const p = new PoolState(4, 2);
    p.throttledCount = 6; // free 2 = the batch
    expect(p.worthClaiming).toBe(true);
    p.throttledCount = 7; // free 1, nothing running or waiting: idle
    expect(p.worthClaiming).toBe(true);
    p.runningCount = 0;
    p.waitingCount = 1;
    p.throttledCount = 6; // free 1, busy
    expect(p.worthClaiming).toBe(false);
  });

  it('a host is full at twice its per-host limit held, and forgotten once it holds nothing', () => {
    const p = new PoolState(8, 2);
    expect(p.isFull('a.test:80')).toBe(false);
    const s = p.slots('a.test:80');
    expect(p.slots('a.test:80')).toBe(s);
    s.running = 1;
    s.waiting.push(record('w'));
    s.reserved = 1;
    expect(p.isFull('a.test:80')).toBe(false);
    s.throttled = 1;
    expect(p.heldFor(s)).toBe(4);
    expect(p.isFull('a.test:80')).toBe(true);
    p.forgetIdle('a.test:80');
    expect(p.hosts.has('a.test:80')).toBe(true);
    s.running = 0;
    s.waiting.length = 0;
    s.reserved = 0;
    s.throttled = 0;
    p.forgetIdle('a.test:80');
    expect(p.hosts.has('a.test:80')).toBe(false);
  });
});
