// One HTTP attempt over undici: bounded in time, the response body read up to a cap. Outcomes are values.
// Sent through the dispatcher's handler interface: no response stream, promise wrapper or AbortSignal per
// attempt (those cost more than the request itself at a few thousand attempts a second).
import { util, type Dispatcher } from 'undici';

export interface AttemptRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  /** Bytes of the response body kept (the rest is dropped). */
  keepBytes: number;
  /** Keep the headers of a 2xx answer too (a _callback reports them); other answers' are always kept (Retry-After). */
  successHeaders?: boolean;
  /** While in flight, the attempt's abort function is in this set: calling it abandons the attempt (shutdown). */
  aborts?: Set<(reason: Error) => void>;
}

export type AttemptResponse =
  | { kind: 'response'; status: number; headers: Record<string, string>; body: Buffer; truncated: boolean; durationMs: number }
  | { kind: 'error'; error: string; timeout: boolean; refused: boolean; durationMs: number };

function errorText(err: unknown): { text: string; code?: string } {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const message = e.message ?? String(err);
  const cause = e.cause?.message && e.cause.message !== message ? `: ${e.cause.message}` : '';
  return { text: code && !message.includes(code) ? `${code}: ${message}${cause}` : `${message}${cause}`, ...(code ? { code } : {}) };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Receives one response; settles once with its outcome (complete, truncated, timed out or failed). */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private abortFn: ((reason: Error) => void) | undefined;
  /** Why the attempt is to be aborted (timeout or shutdown), once it is. */
  private reason: Error | undefined;
  private timedOut = false;
  private settled = false;
  private status = 0;
  private headers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Abandons the attempt (the shutdown deadline, or its own timeout). */
  readonly abort: (reason: Error) => void;

  constructor(
    private readonly req: AttemptRequest,
    private readonly resolve: (r: AttemptResponse) => void,
  ) {
    // Assigned, not a field initializer: under tsx (npm start, the benchmarks) a named closure costs a
    // defineProperty each time one is made.
    this.abort = (reason) => {
      if (this.settled || this.reason) return;
      this.reason = reason;
      this.abortFn?.(reason);
    };
    this.timer = setTimeout(() => {
      if (this.settled || this.reason) return;
      this.timedOut = true;
      this.abort(new Error(`timed out after ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    req.aborts?.add(this.abort);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  private settle(r: AttemptResponse): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.req.aborts?.delete(this.abort);
    this.resolve(r);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    // Aborted while queued: undici can only abort a request once it is dispatched.
    if (this.reason) abort(this.reason);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // informational (100, 103): the answer follows
    this.status = statusCode;
    // Parsing headers nobody reads costs as much as the rest of the answer.
    if (statusCode < 300 && !this.req.successHeaders) return true;
    this.headers = flatHeaders(util.parseHeaders(rawHeaders) as Record<string, string | string[] | undefined>);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return true;
    const room = this.req.keepBytes - this.kept;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
      return true;
    }
    // Past the cap: keep what fits and drop the connection (not reused) rather than read the rest.
    this.chunks.push(chunk.subarray(0, room));
    this.kept += room;
    this.respond(true);
    this.abortFn?.(new Error('response body past the kept bytes'));
    return true;
  }

  onComplete(): void {
    this.respond(false);
  }

  onError(err: Error): void {
    if (this.settled) return;
    if (this.timedOut) {
      this.settle({ kind: 'error', error: `timeout: no complete answer within ${this.req.timeoutMs} ms`, timeout: true, refused: false, durationMs: this.elapsed() });
      return;
    }
    const { text, code } = errorText(err);
    this.settle({ kind: 'error', error: text, timeout: false, refused: code === 'EPRIVATETARGET', durationMs: this.elapsed() });
  }

  private respond(truncated: boolean): void {
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.settle({ kind: 'response', status: this.status, headers: this.headers, body, truncated, durationMs: this.elapsed() });
  }
}

const TARGET_CACHE_SIZE = 1024;
/** Recent target URLs split for undici: a target is usually sent to many times. */
const targets = new Map<string, { origin: string; path: string }>();

function target(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (t) return t;
  const u = new URL(url);
  t = { origin: u.origin, path: `${u.pathname}${u.search}` };
  if (targets.size >= TARGET_CACHE_SIZE) targets.clear();
  targets.set(url, t);
  return t;
}

export function sendAttempt(agent: Dispatcher, req: AttemptRequest): Promise<AttemptResponse> {
  return new Promise((resolve) => {
    const handler = new AttemptHandler(req, resolve);
    let url: { origin: string; path: string };
    try {
      url = target(req.url);
    } catch (err) {
      handler.onError(err as Error);
      return;
    }
    agent.dispatch(
      {
        origin: url.origin,
        path: url.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body && req.body.length > 0 ? req.body : null,
        // Our own timer bounds the whole attempt (queueing and connecting included). undici's would only
        // repeat it, at the cost of a timer made and cleared on the connection per request: off.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
  });
}
