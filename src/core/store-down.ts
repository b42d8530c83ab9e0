// A store that cannot take writes (Redis unreachable) is an answer of its own — 503 with a reason and
// Retry-After, an ERROR frame, [false, {msg}] — never "internal error". Producers ask before they start
// (so nothing is half done); a failure while the store is found down is reported as the store being down.
import { HookhubError, isHookhubError } from './errors.js';

/** Seconds a client is asked to wait: Redis is retried at least every second. */
export const STORE_RETRY_AFTER_S = 1;

export const storeUnavailable = (why: string): HookhubError =>
  new HookhubError('store_unavailable', `store unavailable: ${why}; try again later`, { retryAfter: STORE_RETRY_AFTER_S });

/**
 * The store-down error that explains `err`, if any: `err` itself, or — for an unexpected failure — the
 * store's own refusal when it cannot take writes now (checked after the failure).
 */
export function storeFailure(err: unknown, assertWritable: () => void): HookhubError | undefined {
  if (isHookhubError(err)) return err.code === 'store_unavailable' ? err : undefined;
  try {
    assertWritable();
  } catch (down) {
    if (isHookhubError(down) && down.code === 'store_unavailable') return down;
  }
  return undefined;
}
