// Flow-control permits in this process: for the single-node stores (memory, sqlite).
import type { EndpointLimiter, FlowLimits, PermitAnswer } from '../contracts/endpoints.js';

/** When a concurrency slot is full: look again this soon (a release here wakes the dispatcher anyway). */
export const SLOT_RETRY_MS = 50;

interface Bucket {
  tokens: number;
  at: number;
}

export class LocalEndpointLimiter implements EndpointLimiter {
  /** Endpoint → delivery id → when the slot lapses. */
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly buckets = new Map<string, Bucket>();

  async acquire(endpoint: string, deliveryId: string, limits: FlowLimits, now: number, holdMs: number): Promise<PermitAnswer> {
    let held: Map<string, number> | undefined;
    if (limits.concurrency > 0) {
      held = this.slots.get(endpoint) ?? new Map<string, number>();
      this.slots.set(endpoint, held);
      for (const [id, until] of held) if (until <= now) held.delete(id);
      if (!held.has(deliveryId) && held.size >= limits.concurrency) return { granted: false, retryInMs: SLOT_RETRY_MS };
    }
    if (limits.rate > 0) {
      const burst = Math.max(1, limits.burst);
      const b = this.buckets.get(endpoint) ?? { tokens: burst, at: now };
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * limits.rate) / 1000);
      b.at = now;
      this.buckets.set(endpoint, b);
      if (b.tokens < 1) return { granted: false, retryInMs: Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / limits.rate)) };
      b.tokens -= 1;
    }
    held?.set(deliveryId, now + holdMs);
    return { granted: true };
  }

  async release(endpoint: string, deliveryId: string): Promise<void> {
    const held = this.slots.get(endpoint);
    held?.delete(deliveryId);
    if (held?.size === 0) this.slots.delete(endpoint);
  }
}
