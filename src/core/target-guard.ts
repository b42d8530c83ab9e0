// SSRF guard for every outgoing request (webhooks, WebSub callbacks and fetches, polling):
// only http/https, and no special-purpose address (core/special-addresses.ts: loopback, private,
// link-local/metadata, NAT64, documentation…) unless --allow-private-targets.
// Checked on the URL when accepted and again on the resolved IP at connect time (DNS rebinding).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { HookhubError } from './errors.js';
import { isPrivateAddress } from './special-addresses.js';

export { isPrivateAddress };

/** Parses and checks an outgoing target URL. Throws HookhubError('bad_url' | 'forbidden_target'). */
export function checkTargetUrl(raw: string, allowPrivate: boolean, what = 'URL'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HookhubError('bad_url', `${what} is not an absolute URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HookhubError('bad_url', `${what} must use http or https, not ${url.protocol.replace(':', '')}`);
  }
  if (!url.hostname) throw new HookhubError('bad_url', `${what} has no host`);
  if (!allowPrivate) {
    // "localhost." is localhost: a trailing dot must not slip past the name check.
    const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '').toLowerCase();
    if (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && isPrivateAddress(host))) {
      throw new HookhubError('forbidden_target', `${what} points to a private or loopback address (${host}); start with --allow-private-targets to allow it`);
    }
  }
  return url;
}

/** dns.lookup that refuses private answers, so a public name cannot rebind to an internal address. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (err, addresses) => {
    if (err) return callback(err, '', 4);
    const list = addresses as LookupAddress[];
    if (list.length === 0) {
      const none = new Error(`${hostname} has no address`) as NodeJS.ErrnoException;
      none.code = 'ENOTFOUND';
      return callback(none, '', 4);
    }
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const refusal = new Error(`refused: ${hostname} resolves to private address ${bad.address}`) as NodeJS.ErrnoException;
      refusal.code = 'EPRIVATETARGET';
      return callback(refusal, '', 4);
    }
    if ((options as LookupOptions).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
};

export interface AgentOptions {
  allowPrivate: boolean;
  connections?: number;
  keepAliveTimeoutMs?: number;
}

/** An undici Agent for outgoing requests; with the guard on, every connection's resolved IP is checked. */
export function createOutgoingAgent(options: AgentOptions): Agent {
  return new Agent({
    connections: options.connections ?? 32,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    ...(options.allowPrivate ? {} : { connect: { lookup: guardedLookup } }),
  });
}
