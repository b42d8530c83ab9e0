// One catalogue of expected errors, each with its HTTP status. Handlers throw these; the server maps them.

export const ERRORS = {
  bad_request: 400,
  bad_topic: 400,
  bad_url: 400,
  bad_offset: 400,
  forbidden_target: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  /** A path segment longer than the router matches. */
  uri_too_long: 414,
  unsupported_media: 415,
  too_many_connections: 503,
  too_many_topics: 503,
  queue_full: 503,
  unavailable: 503,
  /** The store cannot take writes now (Redis unreachable): answered with Retry-After. */
  store_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class HookhubError extends Error {
  readonly status: number;
  /** Seconds after which trying again makes sense (a Retry-After header where the answer is HTTP). */
  readonly retryAfter: number | undefined;
  constructor(readonly code: ErrorCode, message: string, options: { retryAfter?: number } = {}) {
    super(message);
    this.status = ERRORS[code];
    this.retryAfter = options.retryAfter;
  }
}

export const isHookhubError = (err: unknown): err is HookhubError => err instanceof HookhubError;

/** Runs `fn` for item `i` of a batch: a refusal names the item. */
export function atItem<T>(i: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof HookhubError) throw new HookhubError(err.code, `item ${i}: ${err.message}`);
    throw err;
  }
}
