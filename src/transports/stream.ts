// GET /stream?topic=a&topic=b — chunked NDJSON: one message object per line, a newline as heartbeat.
// A gap line {"gap": {topic, from, to}} reports offsets history could not replay (?since=).
import type { FastifyInstance } from 'fastify';
import { defineWire, jsonFrame } from '../core/frames.js';
import { requireKey } from '../http/auth.js';
import { parsePositions } from './positions.js';
import { queryString, topicsFromQuery } from './consumer-request.js';
import { serveStream, type StreamEncoding, type StreamingDeps } from './streaming.js';

const NEWLINE = Buffer.from('\n');
const ndjsonFrame = defineWire('ndjson', (m) => Buffer.concat([jsonFrame(m), NEWLINE]));

const ndjson: StreamEncoding = {
  transport: 'stream',
  headers: { 'content-type': 'application/x-ndjson; charset=utf-8' },
  heartbeat: NEWLINE,
  message: (m) => ndjsonFrame(m),
  gap: (g) => Buffer.from(`${JSON.stringify({ gap: g })}\n`),
  farewell: () => Buffer.alloc(0),
};

export function streamTransport(app: FastifyInstance, deps: StreamingDeps & { streamKey?: string }): void {
  app.get('/stream', { onRequest: requireKey(deps.streamKey, { allowQuery: true }) }, async (req, reply) => {
    const topics = topicsFromQuery(req.query, deps.maxTopicsPerRequest);
    const since = parsePositions(queryString(req.query, 'since'), topics, 'since');
    await serveStream(req, reply, deps, ndjson, topics, since);
  });
}
