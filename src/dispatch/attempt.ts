// One attempt of a delivery, apart from the pool that runs it: the request it sends (headers, Standard
// Webhooks signature), what its response means for the delivery (success, retry when, final failure), the
// errback or callback report it queues, and the event and log line that tell others about it.
import { timeOrderedId } from '../core/ids.js';
import { logUrl } from '../core/log-url.js';
import type { AttemptEvent } from '../core/webhooks.js';
import type { AttemptOutcome, DeliveryAttempt, DeliveryRecord, NewDelivery } from '../store/contracts/delivery-queue.js';
import type { AttemptOutcomeLabel } from './metrics.js';
import { delayBefore, isRetryableStatus, retryAfterMs, type RetrySchedule } from './retry-schedule.js';
import type { AttemptRequest, AttemptResponse } from './send/http-request.js';
import { sign, signingKey } from './signing.js';

/** Response bytes kept in the attempt log. */
const EXCERPT_BYTES = 1024;
/** Response body bytes forwarded to a _callback. */
export const CALLBACK_BODY_BYTES = 64 * 1024;
const USER_AGENT = 'Hookhub-Webhooks/0.1';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What every attempt shares: the dispatcher's settings. */
export interface AttemptSettings {
  schedule: RetrySchedule;
  /** --signing-secret: the key when a delivery names none. */
  signingSecret?: string | undefined;
  /** --delivery-timeout, when a delivery sets none. */
  timeoutMs: number;
}

/** An attempt as it was judged: the log entry, its metric label, the delivery's new state and a report to queue. */
export interface JudgedAttempt {
  attempt: DeliveryAttempt;
  label: AttemptOutcomeLabel;
  outcome: AttemptOutcome;
  followUp: NewDelivery | undefined;
}

function requestHeaders(r: DeliveryRecord, timestamp: number, body: Buffer, signingSecret: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  // Keys, not entries: no [key, value] array per header per attempt.
  const given = r.headers;
  for (const k of Object.keys(given)) headers[k.toLowerCase()] = given[k] as string;
  if (r.contentType !== undefined && body.length > 0 && headers['content-type'] === undefined) headers['content-type'] = r.contentType;
  // secret null: the queuing part signs in its own scheme (WebSub's X-Hub-Signature), so no
  // Standard Webhooks headers at all; otherwise webhook-id/timestamp always, the signature when a key applies.
  if (r.secret === null) {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) delete headers[name];
    return headers;
  }
  headers['webhook-id'] = r.id;
  headers['webhook-timestamp'] = String(timestamp);
  const secret = r.secret === undefined ? signingSecret : r.secret;
  if (secret) headers['webhook-signature'] = sign(signingKey(secret), r.id, timestamp, body);
  else delete headers['webhook-signature'];
  return headers;
}

/** The request for an attempt starting at `startedAt`; `aborts` collects its abort function while it runs. */
export function attemptRequest(
  r: DeliveryRecord,
  startedAt: number,
  settings: AttemptSettings,
  aborts: Set<(reason: Error) => void>,
): AttemptRequest {
  const withBody = r.method !== 'GET' && r.method !== 'HEAD';
  const body = withBody ? r.body : Buffer.alloc(0);
  const timestamp = Math.floor(startedAt / 1000);
  return {
    url: r.url,
    method: r.method,
    headers: requestHeaders(r, timestamp, body, settings.signingSecret),
    body,
    timeoutMs: r.timeoutMs ?? settings.timeoutMs,
    keepBytes: r.callback ? CALLBACK_BODY_BYTES : EXCERPT_BYTES,
    successHeaders: r.callback !== undefined,
    aborts,
  };
}

/** What the response means: the delivery's new state, and the errback or callback report it owes. */
export function judgeAttempt(r: DeliveryRecord, res: AttemptResponse, startedAt: number, schedule: RetrySchedule): JudgedAttempt {
  const attemptNo = r.attempts.length + 1;
  const { attempt, label, retry, retryAfter } = describe(res, startedAt);
  let outcome: AttemptOutcome;
  if (label === 'success') outcome = { attempt, status: 'succeeded' };
  else if (retry && attemptNo < r.maxAttempts) {
    const wait = Math.max(delayBefore(schedule, attemptNo), retryAfter ?? 0);
    outcome = { attempt, status: 'pending', nextAt: Date.now() + wait };
  } else outcome = { attempt, status: 'failed' };

  const followUp = outcome.status === 'succeeded' && r.callback ? callbackReport(r, res, schedule)
    : outcome.status === 'failed' && r.errback ? errbackReport(r, attempt, schedule) : undefined;
  return { attempt, label, outcome, followUp };
}

/** What onAttempt listeners hear. */
export function attemptEvent(r: DeliveryRecord, judged: JudgedAttempt): AttemptEvent {
  const { attempt, label, outcome } = judged;
  const event: AttemptEvent = { deliveryId: r.id, ok: label === 'success', final: outcome.status !== 'pending' };
  if (r.origin) event.origin = r.origin;
  if (attempt.status !== null) event.status = attempt.status;
  if (attempt.error) event.error = attempt.error;
  return event;
}

/** The attempt's log line fields (URLs without their query). */
export function attemptLogFields(r: DeliveryRecord, judged: JudgedAttempt): Record<string, unknown> {
  const { attempt, label, outcome } = judged;
  return {
    delivery: r.id,
    url: logUrl(r.url),
    method: r.method,
    attempt: r.attempts.length + 1,
    status: attempt.status,
    ms: attempt.duration_ms,
    outcome: label,
    ...(attempt.error ? { error: attempt.error } : {}),
    next: outcome.status === 'pending' ? new Date(outcome.nextAt ?? Date.now()).toISOString() : outcome.status,
    ...(r.origin ? { origin: r.origin.kind } : {}),
  };
}

function report(r: DeliveryRecord, kind: 'errback' | 'callback', url: string, json: unknown, schedule: RetrySchedule): NewDelivery {
  const d: NewDelivery = {
    id: timeOrderedId(),
    url,
    method: 'POST',
    headers: {},
    contentType: 'application/json',
    body: Buffer.from(JSON.stringify(json)),
    maxAttempts: schedule.delays.length,
    nextAt: Date.now(),
    origin: { kind, ref: r.id },
  };
  if (r.secret !== undefined) d.secret = r.secret;
  return d;
}

function errbackReport(r: DeliveryRecord, last: DeliveryAttempt, schedule: RetrySchedule): NewDelivery {
  const attempts = [...r.attempts, last].map((a) => ({ at: a.at, status: a.status, error: a.error }));
  return report(r, 'errback', r.errback as string, { id: r.id, url: r.url, status: 'failed', attempts }, schedule);
}

function callbackReport(r: DeliveryRecord, res: AttemptResponse, schedule: RetrySchedule): NewDelivery | undefined {
  if (res.kind !== 'response') return undefined;
  const response: Record<string, unknown> = { status: res.status, headers: res.headers };
  try {
    response.body = utf8.decode(res.body);
  } catch {
    response.body = res.body.toString('base64');
    response.encoding = 'base64';
  }
  if (res.truncated) response.truncated = true;
  return report(r, 'callback', r.callback as string, { id: r.id, url: r.url, response }, schedule);
}

/** The last attempt start's ISO text: a claimed batch's attempts start in the same millisecond. */
let lastAtMs = Number.NaN;
let lastAtIso = '';

function isoTime(ms: number): string {
  if (ms !== lastAtMs) {
    lastAtIso = new Date(ms).toISOString();
    lastAtMs = ms;
  }
  return lastAtIso;
}

/** The attempt as logged, and what it means for the delivery. */
function describe(res: AttemptResponse, startedAt: number): {
  attempt: DeliveryAttempt; label: AttemptOutcomeLabel; retry: boolean; retryAfter?: number;
} {
  const at = isoTime(startedAt);
  if (res.kind === 'error') {
    return {
      attempt: { at, status: null, duration_ms: res.durationMs, error: res.error },
      label: res.timeout ? 'timeout' : res.refused ? 'refused' : 'network_error',
      retry: !res.refused,
    };
  }
  const attempt: DeliveryAttempt = { at, status: res.status, duration_ms: res.durationMs, error: null };
  if (res.body.length > 0) attempt.response = res.body.toString('utf8', 0, Math.min(res.body.length, EXCERPT_BYTES));
  if (res.status >= 200 && res.status < 300) return { attempt, label: 'success', retry: false };
  const retry = isRetryableStatus(res.status);
  attempt.error = `HTTP ${res.status}${retry ? '' : ' (final)'}`;
  const retryAfter = retry ? retryAfterMs(res.headers['retry-after'], Date.now()) : undefined;
  return { attempt, label: retry ? 'http_retry' : 'http_final', retry, ...(retryAfter !== undefined ? { retryAfter } : {}) };
}
