// What /stream and /sse consumers ask for: the topics (repeatable ?topic=) and where to resume.
import { HookhubError } from '../core/errors.js';
import { checkTopicName } from '../core/topic-name.js';

/** `max`: --max-subscriptions, the topics one request may name. */
export function topicsFromQuery(query: unknown, max: number): string[] {
  const raw = (query as Record<string, unknown> | undefined)?.topic;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new HookhubError('bad_topic', 'topic is required (?topic=name, repeatable)');
  if (list.length > max) throw new HookhubError('bad_topic', `at most ${max} topics per connection (--max-subscriptions)`);
  return [...new Set(list.map((t) => checkTopicName(t)))];
}

export function queryString(query: unknown, key: string): string | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.[key];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return typeof value === 'string' ? value : undefined;
}

/** A yes/no query option: 1/true/yes/on (anything else, or absent, is no). */
export function queryFlag(query: unknown, key: string): boolean {
  const value = queryString(query, key)?.toLowerCase();
  return value === '1' || value === 'true' || value === 'yes' || value === 'on';
}
