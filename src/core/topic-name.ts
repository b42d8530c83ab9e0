// Topic names: 1–256 characters, no control characters. Anything else is a 400 at the edge.
import { HookhubError } from './errors.js';

export const MAX_TOPIC_LENGTH = 256;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkTopicName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new HookhubError('bad_topic', 'topic is required');
  if (name.length > MAX_TOPIC_LENGTH) throw new HookhubError('bad_topic', `topic longer than ${MAX_TOPIC_LENGTH} characters`);
  if (CONTROL.test(name)) throw new HookhubError('bad_topic', 'topic contains control characters');
  return name;
}
