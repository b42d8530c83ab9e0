// One HTTP attempt over undici: bounded in time, the response body read up to a cap. Outcomes are values.
import { request, type Dispatcher } from 'undici';

export interface AttemptRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  /** Bytes of the response body kept (the rest is dropped). */
  keepBytes: number;
  signal?: AbortSignal;
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
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export async function sendAttempt(agent: Dispatcher, req: AttemptRequest): Promise<AttemptResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${req.timeoutMs} ms`));
  }, req.timeoutMs);
  const onOuterAbort = (): void => controller.abort(new Error('attempt abandoned (shutdown)'));
  req.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const res = await request(req.url, {
      dispatcher: agent,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body && req.body.length > 0 ? req.body : null,
      signal: controller.signal,
      // Our own timer bounds the whole attempt; undici's must not fire first.
      headersTimeout: req.timeoutMs + 1000,
      bodyTimeout: req.timeoutMs + 1000,
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const room = req.keepBytes - kept;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        kept += room;
        truncated = true;
        break; // leaving the loop destroys the body; the connection is not reused
      }
      chunks.push(chunk);
      kept += chunk.length;
    }
    return { kind: 'response', status: res.statusCode, headers: flatHeaders(res.headers), body: Buffer.concat(chunks), truncated, durationMs: elapsed() };
  } catch (err) {
    if (timedOut) return { kind: 'error', error: `timeout: no complete answer within ${req.timeoutMs} ms`, timeout: true, refused: false, durationMs: elapsed() };
    const { text, code } = errorText(err);
    return { kind: 'error', error: text, timeout: false, refused: code === 'EPRIVATETARGET', durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onOuterAbort);
  }
}
