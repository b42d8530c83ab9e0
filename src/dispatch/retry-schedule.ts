// When attempts happen: the retry schedule (Standard Webhooks by default, with jitter), Retry-After,
// and which outcomes are worth another attempt.

const S = 1000;
const M = 60 * S;
const H = 60 * M;

/** Standard Webhooks: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_SCHEDULE_MS: readonly number[] = [0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];
/** A Retry-After longer than this is shortened to it. */
export const RETRY_AFTER_CAP_MS = H;
const JITTER = 0.2;

export interface RetrySchedule {
  /** delays[i] is the wait before attempt i (attempt 0 waits delays[0] after enqueue). */
  delays: readonly number[];
  /** ±20% jitter: only on the default schedule; a configured one is exact. */
  jitter: boolean;
}

export function retrySchedule(configured?: readonly number[]): RetrySchedule {
  return configured && configured.length > 0 ? { delays: configured, jitter: false } : { delays: DEFAULT_SCHEDULE_MS, jitter: true };
}

/** The wait before attempt `index` (0-based), jittered when the schedule says so. */
export function delayBefore(schedule: RetrySchedule, index: number, random: () => number = Math.random): number {
  const base = schedule.delays[Math.min(index, schedule.delays.length - 1)] ?? 0;
  if (!schedule.jitter || base === 0) return base;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

/** Retry-After as milliseconds from `now` (delta-seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}

/** 408, 429 and 5xx are worth another attempt; any other non-2xx answer (410 included) is final. */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;
