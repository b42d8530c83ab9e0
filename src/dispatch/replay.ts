// Finding deliveries to send again: failed ones created within a time range (newest first, bounded),
// optionally only those a predicate accepts. Shared by /api/deliveries/recover and an endpoint's replay.
import type { DeliveryQueue, DeliveryRecord } from '../store/contracts/delivery-queue.js';

export const REPLAY_MAX = 10_000;
const PAGE = 500;

export interface FailedQuery {
  since: number;
  until?: number | undefined;
  /** The store's `target` filter (a URL prefix or host). */
  target?: string | undefined;
  /** Checked on each delivery after the store's filter. */
  accept?: (d: DeliveryRecord) => boolean;
}

/** Ids of the failed deliveries the query selects, and whether more were left out (REPLAY_MAX). */
export async function failedDeliveries(store: DeliveryQueue, q: FailedQuery): Promise<{ ids: string[]; more: boolean }> {
  const ids: string[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await store.list({
      status: 'failed',
      limit: PAGE,
      ...(q.target !== undefined ? { target: q.target } : {}),
      ...(before !== undefined ? { before } : {}),
    });
    for (const d of page) {
      if (d.createdAt < q.since) return { ids, more: false }; // newest first: the rest are older
      if (q.until !== undefined && d.createdAt > q.until) continue;
      if (q.accept && !q.accept(d)) continue;
      if (ids.length === REPLAY_MAX) return { ids, more: true };
      ids.push(d.id);
    }
    if (page.length < PAGE) return { ids, more: false };
    before = (page[page.length - 1] as DeliveryRecord).seq;
  }
}
