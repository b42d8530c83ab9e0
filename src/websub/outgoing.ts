// The hub's own outgoing GETs (verification of intent, denial notices, topic fetches): SSRF-guarded
// agent, a timeout, and a cap on the body read.
import type { Agent } from 'undici';
import { request } from 'undici';
import { checkTargetUrl } from '../core/target-guard.js';

export interface FetchResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`response body larger than ${limit} bytes`);
  }
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
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > options.maxBody) {
      res.body.destroy();
      throw new BodyTooLarge(options.maxBody);
    }
    chunks.push(chunk as Buffer);
  }
  const type = res.headers['content-type'];
  return { status: res.statusCode, contentType: Array.isArray(type) ? type[0] : type, body: Buffer.concat(chunks) };
}
