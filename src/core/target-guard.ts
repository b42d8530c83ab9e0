// SSRF guard for every outgoing request (webhooks, WebSub callbacks and fetches, polling):
// only http/https, and no loopback/private/link-local/metadata address unless --allow-private-targets.
// Checked on the URL when accepted and again on the resolved IP at connect time (DNS rebinding).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { HookhubError } from './errors.js';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 96], ['fc00::', 7], ['fec0::', 10], ['2002::', 16], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

/** True for loopback, private, link-local (cloud metadata), CGNAT, multicast and reserved addresses. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blocked.check(ip, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return blocked.check(mapped[1] as string, 'ipv4');
    return blocked.check(ip, 'ipv6');
  }
  return true; // not an address at all: refuse
}

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
