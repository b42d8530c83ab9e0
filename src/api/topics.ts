// Topic REST: publish a raw body, read history, list topics.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkTopicName } from '../core/topic-name.js';
import type { Topics } from '../core/topics.js';
import { historyResponse } from './history-response.js';
import { JSON_REPLY } from '../http/fast-lane.js';
import { commonErrors, described, inputSchema, pathParam } from '../http/openapi.js';
import { parseInput } from '../http/validate.js';

const MAX_HISTORY_LIMIT = 10_000;

const historyQuery = z.object({
  since: z.string().regex(/^\d{1,15}$/, 'since must be a whole number').default('0').transform(Number),
  limit: z.string().regex(/^\d{1,6}$/, 'limit must be a whole number').default('100').transform(Number)
    .refine((n) => n >= 1 && n <= MAX_HISTORY_LIMIT, `limit must be 1–${MAX_HISTORY_LIMIT}`),
});

const MAX_LIST_LIMIT = 1000;

const listQuery = z.object({
  limit: z.string().regex(/^\d{1,6}$/, 'limit must be a whole number').default('100').transform(Number)
    .refine((n) => n >= 1 && n <= MAX_LIST_LIMIT, `limit must be 1–${MAX_LIST_LIMIT}`),
  cursor: z.string().min(1, 'cursor must be a next_cursor from a previous page').optional(),
});

export interface TopicsApiDeps {
  topics: Topics;
  /** --history-max-bytes: the largest history answer. */
  historyMaxBytes: number;
}

const topicParam = pathParam('topic', 'topic name');
const published = { description: 'Published', type: 'object', properties: { id: { type: 'string' }, offset: { type: 'integer' } }, required: ['id', 'offset'] };

/**
 * The publish answer (its 202 body, JSON) for a body as received, through the route or its fast lane
 * (publish-lane.ts): the bytes and the content type as sent (application/octet-stream when there is none).
 * Throws HookhubError for a refusal.
 */
export async function answerPublish(topics: Topics, topic: string, contentType: string | undefined, body: Buffer | undefined): Promise<string> {
  const m = await topics.publish(topic, { contentType: contentType ?? 'application/octet-stream', body: body ?? Buffer.alloc(0) });
  return JSON.stringify({ id: m.id, offset: m.offset });
}

export function topicsApi(app: FastifyInstance, deps: TopicsApiDeps): void {
  const publishDoc = described({
    tags: ['topics'],
    summary: 'Publish the request body (any content type, kept as sent) to a topic',
    params: topicParam,
    body: { content: { '*/*': { schema: {} } } },
    response: { 202: published, ...commonErrors, 413: { description: 'Body larger than --max-body' } },
  });
  app.post<{ Params: { topic: string } }>('/api/topics/:topic/publish', publishDoc, async (req, reply) => {
    const answer = await answerPublish(deps.topics, req.params.topic, req.headers['content-type'], req.body as Buffer | undefined);
    // The text the route's serializer (JSON.stringify) would make, made already (the fast lane sends the same).
    return reply.code(202).header('content-type', JSON_REPLY).send(answer);
  });

  const historyDoc = described({
    tags: ['topics'],
    summary: 'Messages of a topic from offset `since`, oldest first',
    params: topicParam,
    querystring: inputSchema(historyQuery),
    response: { 200: { description: 'The messages (next_offset to go on)', type: 'object' }, ...commonErrors },
  });
  app.get<{ Params: { topic: string } }>('/api/topics/:topic/history', historyDoc, async (req, reply) => {
    const { since, limit } = parseInput(historyQuery, req.query);
    const topic = checkTopicName(req.params.topic);
    const body = await historyResponse({
      since,
      limit,
      maxBytes: deps.historyMaxBytes,
      read: (from, n) => deps.topics.history(topic, from, n),
    });
    return reply.type('application/json; charset=utf-8').send(body);
  });

  // Pages by name, as /api/deliveries pages by age: next_cursor is present when the page is full.
  const listDoc = described({
    tags: ['topics'],
    summary: 'Topics by name, a page at a time',
    querystring: inputSchema(listQuery),
    response: {
      200: { description: 'A page; next_cursor when it is full', type: 'object', properties: { topics: { type: 'array', items: { type: 'object' } }, next_cursor: { type: 'string' } }, required: ['topics'] },
      ...commonErrors,
    },
  });
  app.get('/api/topics', listDoc, async (req) => {
    const q = parseInput(listQuery, req.query);
    const topics = await deps.topics.list({ limit: q.limit, ...(q.cursor !== undefined ? { after: q.cursor } : {}) });
    const out: { topics: typeof topics; next_cursor?: string } = { topics };
    const last = topics[topics.length - 1];
    if (topics.length === q.limit && last) out.next_cursor = last.topic;
    return out;
  });
}
