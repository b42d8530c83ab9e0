// The console's guards: HTTP Basic (any user name; the password compared in constant time) on every
// /admin route, and a same-origin check on state-changing requests (browsers send Basic credentials
// cross-site too, so a foreign page must not be able to POST here).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { secretEquals } from '../http/auth.js';
import { LoginThrottle } from './login-throttle.js';

export const ADMIN_REALM = 'hookhub admin';

/** The password of an `Authorization: Basic base64(user:password)` header, or undefined. */
export function basicPassword(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * True when the request may change state: no Origin (non-browser clients) or an Origin whose
 * host:port is this request's Host (or one of `trusted`, e.g. --public-url behind a proxy);
 * a browser's `Sec-Fetch-Site: cross-site|same-site` is refused too.
 */
export function sameOrigin(req: FastifyRequest, trusted: readonly string[] = []): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (trusted.includes(parsed.origin)) return true;
  const host = req.headers.host;
  return host !== undefined && parsed.host.toLowerCase() === host.toLowerCase();
}

/**
 * onRequest hook for the admin context. The password is never logged or echoed. Wrong passwords are
 * throttled per client address (see LoginThrottle): 429 with Retry-After once an address used up its tries.
 */
export function requireAdmin(password: string, trustedOrigins: readonly string[] = [], throttle = new LoginThrottle()) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const wait = throttle.retryAfter(req.ip);
    if (wait > 0) {
      await reply
        .code(429)
        .header('retry-after', String(Math.ceil(wait / 1000)))
        .send({ error: `too many wrong admin passwords from this address; try again in ${Math.ceil(wait / 1000)} s` });
      return reply;
    }
    const given = basicPassword(req.headers.authorization);
    if (!secretEquals(given, password)) {
      // Only a password that was tried counts (a browser's first request, without credentials, does not).
      if (given !== undefined) throttle.failed(req.ip);
      await reply
        .code(401)
        .header('www-authenticate', `Basic realm="${ADMIN_REALM}"`)
        .header('cache-control', 'no-store')
        .send({ error: 'admin password required' });
      return reply;
    }
    throttle.succeeded(req.ip);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req, trustedOrigins)) {
      await reply.code(403).send({ error: 'cross-origin request refused: the Origin does not match this server' });
      return reply;
    }
  };
}
