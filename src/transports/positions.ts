// Resume positions: a plain offset (one topic, or the same for all) or, for several topics, a query-string
// style list "a=5&b=7" — which is also the SSE event id of a multi-topic stream. An offset may carry the
// epoch of its topic's log as "5_<epoch>" (the ids of consumers that asked for epochs, ?epochs=1): a log
// that began again since is then always noticed.
import { EPOCH_PATTERN } from '../core/epoch.js';
import { HookhubError } from '../core/errors.js';
import type { StreamCursor } from '../core/topic-stream.js';
import type { StreamPosition } from '../core/topics.js';

const POSITION = /^(\d{1,15})(?:_(.*))?$/;

function parsePosition(value: string, what: string): StreamPosition | undefined {
  const match = POSITION.exec(value);
  if (!match) return undefined;
  const position: StreamPosition = { offset: Number(match[1]) };
  const epoch = match[2];
  if (epoch !== undefined) {
    if (!EPOCH_PATTERN.test(epoch)) throw new HookhubError('bad_offset', `${what}: the epoch after "_" must be letters and digits`);
    position.epoch = epoch;
  }
  return position;
}

export function parsePositions(raw: string | undefined, topics: readonly string[], name: string): Map<string, StreamPosition> {
  const positions = new Map<string, StreamPosition>();
  if (raw === undefined || raw.trim() === '') return positions;
  const value = raw.trim();
  const one = parsePosition(value, name);
  if (one) {
    for (const t of topics) positions.set(t, one);
    return positions;
  }
  if (!value.includes('=')) throw new HookhubError('bad_offset', `${name} must be a message offset (a whole number)`);
  for (const [topic, text] of new URLSearchParams(value)) {
    const position = parsePosition(text, `${name}: offset of "${topic}"`);
    if (!position) throw new HookhubError('bad_offset', `${name}: offset of "${topic}" must be a whole number`);
    if (topics.includes(topic)) positions.set(topic, position);
  }
  return positions;
}

/** One topic's position as text: "5", or "5_<epoch>" when epochs are asked for and the log has one. */
export function formatPosition(offset: number, epoch: string | undefined, withEpochs: boolean): string {
  return withEpochs && epoch ? `${offset}_${epoch}` : String(offset);
}

export function formatPositions(cursor: StreamCursor, withEpochs: boolean): string {
  const pairs = [...cursor.positions].map(([t, o]): [string, string] => [t, formatPosition(o, cursor.epochs.get(t), withEpochs)]);
  return new URLSearchParams(pairs).toString();
}
