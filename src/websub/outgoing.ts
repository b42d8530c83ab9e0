// The hub's own outgoing GETs (verification of intent, denial notices, topic fetches): SSRF-guarded
// agent, a timeout, and a cap on the body read.
import type { Agent } from 'undici';
import { request } from 'undici';
import { readCapped } from '../core/read-capped.js';
import { checkTargetUrl } from '../core/target-guard.js';

export { BodyTooLarge } from '../core/read-capped.js';

export interface FetchResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

export interface GetOptions {
  agent: Agent;
  allowPrivate: boolean;
  timeoutMs: number;
  maxBody: number;
  /** Aborted when the server shuts down. */
  signal: AbortSignal;
}

export async function httpGet(url: string, options: GetOptions): Promise<FetchResult> {
  checkTargetUrl(url, options.allowPrivate);
  const res = await request(url, {
    method: 'GET',
    dispatcher: options.agent,
    headers: { 'user-agent': 'Hookhub-WebSub/1', accept: '*/*' },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
  });
  const body = await readCapped(res.body, options.maxBody);
  const type = res.headers['content-type'];
  return { status: res.statusCode, contentType: Array.isArray(type) ? type[0] : type, body };
}
