// Topic REST: publish a raw body, read history, list topics.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkTopicName } from '../core/topic-name.js';
import type { Topics } from '../core/topics.js';
import { historyResponse } from './history-response.js';
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

export function topicsApi(app: FastifyInstance, deps: TopicsApiDeps): void {
  const publishDoc = described({
    tags: ['topics'],
    summary: 'Publish the request body (any content type, kept as sent) to a topic',
    params: topicParam,
    body: { content: { '*/*': { schema: {} } } },
    response: { 202: published, ...commonErrors, 413: { description: 'Body larger than --max-body' } },
  });
  app.post<{ Params: { topic: string } }>('/api/topics/:topic/publish', publishDoc, async (req, reply) => {
    const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    const m = await deps.topics.publish(req.params.topic, { contentType, body });
    return reply.code(202).send({ id: m.id, offset: m.offset });
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
