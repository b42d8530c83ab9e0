// Untrusted input checked against a zod schema at the edge: the first problem becomes a clear 400.
import type { z } from 'zod';
import { HookhubError } from '../core/errors.js';

export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HookhubError('bad_request', result.error.issues[0]?.message ?? 'bad input');
  return result.data;
}
