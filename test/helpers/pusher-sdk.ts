// The Pusher Node server SDK pointed at a test hub, and what a refused SDK call carried.
import { createHash, createHmac } from 'node:crypto';
import Pusher from 'pusher';
import type { PusherApp } from '../../src/pusher/contracts.js';

export const APP_1: PusherApp = { id: '1', key: 'key-one', secret: 'secret-one', clientEvents: true };
export const APP_2: PusherApp = { id: '2', key: 'key-two', secret: 'secret-two', clientEvents: false };

export function sdkFor(hubUrl: string, app: Pick<PusherApp, 'id' | 'key' | 'secret'>): Pusher {
  const { port } = new URL(hubUrl);
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port, useTLS: false });
}

export interface Refusal {
  status: number;
  body: string;
}

/** The status and body of an SDK call that the server refused (fails the test when it succeeded). */
export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (err) {
    const e = err as { status?: number; body?: string; message?: string };
    if (e.status === undefined) throw err;
    return { status: e.status, body: e.body ?? '' };
  }
  throw new Error('the call succeeded; a refusal was expected');
}

/**
 * A request signed by hand, for attack inputs only (stale timestamps, a body_md5 of another body, raw
 * bodies the SDK would never send): the signing rules written out here, apart from the server's code.
 */
export async function handSigned(hubUrl: string, app: Pick<PusherApp, 'id' | 'key' | 'secret'>, req: {
  method: 'GET' | 'POST';
  path: string;
  params?: Record<string, string>;
  body?: string;
  timestamp?: number;
  md5Of?: string;
  rawQuerySuffix?: string;
}): Promise<{ status: number; body: string }> {
  const path = `/apps/${app.id}${req.path}`;
  const params: Record<string, string> = {
    auth_key: app.key,
    auth_timestamp: String(req.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...(req.params ?? {}),
  };
  const md5Source = req.md5Of ?? req.body;
  if (md5Source !== undefined) params.body_md5 = createHash('md5').update(md5Source).digest('hex');
  const query = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const signature = createHmac('sha256', app.secret).update(`${req.method}\n${path}\n${query}`).digest('hex');
  const res = await fetch(`${hubUrl}${path}?${query}&auth_signature=${signature}${req.rawQuerySuffix ?? ''}`, {
    method: req.method,
    ...(req.body !== undefined ? { body: req.body, headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, body: await res.text() };
}

/** pusher.post with any JSON body: the SDK sends JSON.stringify(body), though its types declare a string. */
export const postJsonBody = (pusher: Pusher, path: string, body: unknown): ReturnType<Pusher['post']> =>
  pusher.post({ path, body: body as string });
