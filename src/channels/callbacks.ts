// Web application callbacks (Hookbox webhooks): a form-encoded POST per action, answered
// [true, {...}] or [false, {"msg": ...}]. Bounded by a timeout and a concurrency limit; a callback
// that fails, times out or answers garbage is a denial with a clear reason, never a hang.
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';
import { readCapped } from '../core/read-capped.js';

export type CallbackAction =
  | 'connect' | 'disconnect' | 'create_channel' | 'destroy_channel'
  | 'subscribe' | 'unsubscribe' | 'publish' | 'message';

/** `refused`: the application answered [false, …]; otherwise the call itself failed (network, timeout, garbage). */
export type CallbackResult = ({ ok: true; options: Record<string, unknown> } | { ok: false; msg: string; refused?: true }) & {
  /** Set-Cookie headers of the answer: passed back to the browser in a SET_COOKIE frame (Hookbox). */
  setCookie?: string[];
};

export interface CallbackRecord {
  action: CallbackAction;
  at: number;
  ms: number;
  ok: boolean;
  msg?: string;
}

/** Who a callback is made for: the browser's cookie and address (Hookbox's Cookie and X-Real-IP headers). */
export interface CallbackOrigin {
  cookie?: string | undefined;
  realIp?: string | undefined;
}

export interface AppCallbacksOptions {
  /** Base URL: POST <cbUrl>/<path of the action> (the action's name unless `paths` names another). */
  cbUrl?: string;
  /** Per-action paths relative to cbUrl (Hookbox's --cb-connect=connect.php …). */
  paths?: Partial<Record<CallbackAction, string>>;
  /** One URL for every action (the action is in the body); wins over cbUrl. */
  cbSingleUrl?: string;
  secret?: string;
  timeoutMs: number;
  concurrency: number;
  dispatcher: Dispatcher;
  /** Deepest JSON answer accepted (--max-json-depth); a deeper one denies the action. */
  maxJsonDepth?: number;
  /** Largest answer read. */
  maxAnswer?: number;
  /** Told of every finished call (metrics). */
  onCall?: (record: CallbackRecord) => void;
}

const ALLOWED_ANSWER = 1024 * 1024;

export class AppCallbacks {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  /** The last callbacks, newest last (for the admin console and debugging). */
  readonly recent: CallbackRecord[] = [];

  constructor(private readonly options: AppCallbacksOptions) {}

  /** True when an application is configured; without one every action is allowed. */
  get enabled(): boolean {
    return this.options.cbUrl !== undefined || this.options.cbSingleUrl !== undefined;
  }

  private urlFor(action: CallbackAction): string {
    if (this.options.cbSingleUrl) return this.options.cbSingleUrl;
    const base = this.options.cbUrl as string;
    return `${base.replace(/\/+$/, '')}/${(this.options.paths?.[action] ?? action).replace(/^\/+/, '')}`;
  }

  /** Calls the application; resolves within the timeout with its answer or a denial. */
  async call(action: CallbackAction, fields: Record<string, string>, origin: CallbackOrigin = {}): Promise<CallbackResult> {
    const started = Date.now();
    const result = await this.attempt(action, fields, origin, started);
    const record: CallbackRecord = { action, at: started, ms: Date.now() - started, ok: result.ok, ...(result.ok ? {} : { msg: result.msg }) };
    this.recent.push(record);
    if (this.recent.length > 100) this.recent.shift();
    this.options.onCall?.(record);
    return result;
  }

  private async attempt(action: CallbackAction, fields: Record<string, string>, origin: CallbackOrigin, started: number): Promise<CallbackResult> {
    const deadline = started + this.options.timeoutMs;
    const timedOut: CallbackResult = { ok: false, msg: `application callback ${action} timed out after ${this.options.timeoutMs} ms` };
    if (!(await this.acquire(deadline))) return timedOut;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, deadline - Date.now()));
    try {
      const form = new URLSearchParams({ action, ...fields });
      if (this.options.secret !== undefined) form.set('secret', this.options.secret);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (origin.cookie) headers.cookie = origin.cookie;
      if (origin.realIp) headers['x-real-ip'] = origin.realIp;
      const res = await request(this.urlFor(action), {
        method: 'POST',
        headers,
        body: form.toString(),
        dispatcher: this.options.dispatcher,
        signal: controller.signal,
      });
      const text = (await readCapped(res.body, this.options.maxAnswer ?? ALLOWED_ANSWER)).toString('utf8');
      if (res.statusCode !== 200) {
        return { ok: false, msg: `application callback ${action} answered HTTP ${res.statusCode}` };
      }
      const result = parseAnswer(action, text, this.options.maxJsonDepth);
      const setCookie = res.headers['set-cookie'];
      if (setCookie !== undefined) result.setCookie = Array.isArray(setCookie) ? setCookie : [setCookie];
      return result;
    } catch (err) {
      if (controller.signal.aborted) return timedOut;
      return { ok: false, msg: `application callback ${action} failed: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  private acquire(deadline: number): Promise<boolean> {
    if (this.inFlight < this.options.concurrency) {
      this.inFlight++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        clearTimeout(timer);
        this.inFlight++;
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      }, Math.max(1, deadline - Date.now()));
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.inFlight--;
    const next = this.waiting.shift();
    if (next) next();
  }
}

/** `[true, {...}]` / `[false, {"msg": ...}]` (Hookbox's older `error` key is read too). */
export function parseAnswer(action: string, text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): CallbackResult {
  const json = parseJsonInput(text, maxDepth);
  if (!json.ok) {
    const why = json.kind === 'malformed' ? 'malformed JSON' : `unacceptable JSON: ${json.reason}`;
    return { ok: false, msg: `application callback ${action} answered ${why}` };
  }
  const parsed = json.value;
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'boolean') {
    return { ok: false, msg: `application callback ${action} answered an invalid reply (expected [true|false, {...}])` };
  }
  const details: unknown = parsed[1] ?? {};
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    return { ok: false, msg: `application callback ${action} answered an invalid reply (expected an object in position 1)` };
  }
  const options = details as Record<string, unknown>;
  if (!parsed[0]) {
    const msg = options.msg ?? options.error;
    return { ok: false, msg: typeof msg === 'string' && msg !== '' ? msg : 'Unauthorized', refused: true };
  }
  return { ok: true, options };
}
