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
  /** Aborting it abandons the attempt (shutdown); the attempt's own timeout aborts it too. */
  controller?: AbortController;
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
  const controller = req.controller ?? new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${req.timeoutMs} ms`));
  }, req.timeoutMs);
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
    const { body, truncated } = await readCapped(res.body, req.keepBytes);
    return { kind: 'response', status: res.statusCode, headers: flatHeaders(res.headers), body, truncated, durationMs: elapsed() };
  } catch (err) {
    if (timedOut) return { kind: 'error', error: `timeout: no complete answer within ${req.timeoutMs} ms`, timeout: true, refused: false, durationMs: elapsed() };
    const { text, code } = errorText(err);
    return { kind: 'error', error: text, timeout: false, refused: code === 'EPRIVATETARGET', durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a response body keeping at most `keep` bytes; past that the body is destroyed (connection not reused). */
function readCapped(body: Dispatcher.ResponseData['body'], keep: number): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const onData = (chunk: Buffer): void => {
      const room = keep - kept;
      if (chunk.length <= room) {
        chunks.push(chunk);
        kept += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, room));
      kept += room;
      body.off('data', onData);
      body.off('error', reject);
      // Destroying an undici body emits an AbortError: expected here, and must not go unhandled.
      body.on('error', () => {});
      body.destroy();
      resolve({ body: Buffer.concat(chunks), truncated: true });
    };
    body.on('data', onData);
    body.once('error', reject);
    body.once('end', () => resolve({ body: Buffer.concat(chunks), truncated: false }));
  });
}
