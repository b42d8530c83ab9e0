// A server bound beyond loopback with no --api-key lets anyone on the network publish, dispatch
// webhooks and read the topic API: allowed (the operator asked for that address), but said loudly.
import { isIP } from 'node:net';

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback']);

/** True for an address only this machine reaches: 127.0.0.0/8, ::1 (also as ::ffff:127.x), localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (LOOPBACK_NAMES.has(h) || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{0,4}:){0,5}:?ffff:127\./.test(h) || /^(0{1,4}:){7}0{0,3}1$/.test(h);
  return false;
}

/** The warning to log at start, or undefined when the bind is loopback or the producers are keyed. */
export function exposureWarning(host: string, apiKey: string | undefined): string | undefined {
  if (apiKey !== undefined || isLoopbackHost(host)) return undefined;
  return `listening on ${host} with no --api-key: anyone who reaches this address can publish, dispatch webhooks and use /api; set --api-key (and --stream-key for readers), or bind 127.0.0.1`;
}
