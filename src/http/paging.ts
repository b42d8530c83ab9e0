// Paging of lists held in memory or read whole from a store: by a key, `limit` at a time after a
// cursor (the last key of the previous page). A full page carries next_cursor, as /api/deliveries does.
import { z } from 'zod';

export const MAX_PAGE_LIMIT = 1000;

export const pageQuery = z.object({
  limit: z.string().regex(/^\d{1,6}$/, 'limit must be a whole number').default('100').transform(Number)
    .refine((n) => n >= 1 && n <= MAX_PAGE_LIMIT, `limit must be 1–${MAX_PAGE_LIMIT}`),
  cursor: z.string().min(1, 'cursor must be a next_cursor from a previous page').optional(),
});

export type PageQuery = z.output<typeof pageQuery>;

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** The page of `items` (any order) after `q.cursor` by `key` (ascending). */
export function pageOf<T>(items: Iterable<T>, key: (item: T) => string, q: PageQuery): Page<T> {
  const after = q.cursor;
  const keyed: Array<[string, T]> = [];
  for (const item of items) {
    const k = key(item);
    if (after === undefined || k > after) keyed.push([k, item]);
  }
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const page = keyed.slice(0, q.limit);
  const last = page[page.length - 1];
  return { items: page.map(([, item]) => item), ...(page.length === q.limit && last ? { nextCursor: last[0] } : {}) };
}
