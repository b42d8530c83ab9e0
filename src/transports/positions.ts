// Resume positions: a plain offset (one topic, or the same for all) or, for several topics,
// a query-string style list "a=5&b=7" — which is also the SSE event id of a multi-topic stream.
import { HookhubError } from '../core/errors.js';

const OFFSET = /^\d{1,15}$/;

export function parsePositions(raw: string | undefined, topics: readonly string[], name: string): Map<string, number> {
  const positions = new Map<string, number>();
  if (raw === undefined || raw.trim() === '') return positions;
  const value = raw.trim();
  if (OFFSET.test(value)) {
    for (const t of topics) positions.set(t, Number(value));
    return positions;
  }
  if (!value.includes('=')) throw new HookhubError('bad_offset', `${name} must be a message offset (a whole number)`);
  for (const [topic, offset] of new URLSearchParams(value)) {
    if (!OFFSET.test(offset)) throw new HookhubError('bad_offset', `${name}: offset of "${topic}" must be a whole number`);
    if (topics.includes(topic)) positions.set(topic, Number(offset));
  }
  return positions;
}

export function formatPositions(positions: ReadonlyMap<string, number>): string {
  return new URLSearchParams([...positions].map(([t, o]): [string, string] => [t, String(o)])).toString();
}
