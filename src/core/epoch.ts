// A topic log's epoch: a short random name given when the log begins. Offsets are comparable only within
// one epoch — a store that lost the log (Redis restarted without persistence, a memory store restarted)
// begins it again at offset 1 under a new epoch, and consumers holding an older one learn of the reset.
import { randomBytes } from 'node:crypto';

/** 8 hex characters: plain in SSE ids and query strings. */
export const newEpoch = (): string => randomBytes(4).toString('hex');

/** What an epoch may look like when a client sends one back. */
export const EPOCH_PATTERN = /^[0-9A-Za-z]{1,32}$/;
