// Shared-secret checks: constant time, and the secret itself is never logged or echoed.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HookhubError } from '../core/errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time equality that does not leak the length of either side. */
export function secretEquals(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

export function bearerToken(req: FastifyRequest): string | undefined {
  return bearerOf(req.headers.authorization);
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1]?.trim();
}

/** An onRequest hook requiring `Authorization: Bearer <key>` (or `?key=` when `allowQuery`); open when key is unset. */
export function requireKey(key: string | undefined, options: { allowQuery?: boolean } = {}) {
  return async (req: FastifyRequest): Promise<void> => {
    if (key === undefined) return;
    const query = req.query as Record<string, unknown> | undefined;
    const fromQuery = options.allowQuery && typeof query?.key === 'string' ? query.key : undefined;
    if (!secretEquals(bearerToken(req) ?? fromQuery, key)) throw new HookhubError('unauthorized', 'missing or wrong key');
  };
}
