// What a delivery keeps from its insert to its deletion (URL, headers, body, settings: nothing an update
// changes), built from the delivery as it was handed to enqueue. The SQLite engine keeps it for rows queued
// lately (recent-rows.ts); the dispatcher builds the record of a delivery it wrote claimed from it.
import type { DeliveryRecord, NewDelivery } from './delivery-queue.js';

/** What a row keeps from its insert to its deletion. */
export type FixedPart = Omit<DeliveryRecord, 'seq' | 'status' | 'attempts' | 'nextAt' | 'maxAttempts' | 'updatedAt' | 'leaseUntil' | 'claimUntil'>;

/** The fixed part of a new delivery as a row read back gives it (absent fields stay absent). */
export function fixedPart(d: NewDelivery, createdAt: number): FixedPart {
  const f: FixedPart = { id: d.id, url: d.url, method: d.method, headers: d.headers, body: d.body, createdAt };
  if (d.contentType !== undefined) f.contentType = d.contentType;
  if (d.secret !== undefined) f.secret = d.secret;
  if (d.timeoutMs !== undefined) f.timeoutMs = d.timeoutMs;
  if (d.errback !== undefined) f.errback = d.errback;
  if (d.callback !== undefined) f.callback = d.callback;
  if (d.origin !== undefined) f.origin = d.origin;
  if (d.idempotencyKey !== undefined) f.idempotencyKey = d.idempotencyKey;
  if (d.orderKey !== undefined) f.orderKey = d.orderKey;
  return f;
}
