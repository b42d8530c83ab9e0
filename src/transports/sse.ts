// GET /sse?topic=t — Server-Sent Events. Event id = message offset (several topics: "a=5&b=7"),
// resume with Last-Event-ID or ?since=; an `event: gap` reports what history could not replay.
import type { FastifyInstance } from 'fastify';
import { defineWire, jsonFrame } from '../core/frames.js';
import { requireKey } from '../http/auth.js';
import { formatPositions, parsePositions } from './positions.js';
import { queryString, topicsFromQuery } from './consumer-request.js';
import { serveStream, type StreamEncoding, type StreamingDeps } from './streaming.js';

const END = Buffer.from('\n\n');
const DATA = Buffer.from('data: ');
/** `data: <json>\n\n` — shared by single- and multi-topic streams. */
const sseData = defineWire('sse-data', (m) => Buffer.concat([DATA, jsonFrame(m), END]));
/** `id: <offset>\ndata: <json>\n\n` — the whole event for single-topic streams. */
const sseEvent = defineWire('sse', (m) => Buffer.concat([Buffer.from(`id: ${m.offset}\n`), sseData(m)]));

const eventId = (positions: ReadonlyMap<string, number>, multi: boolean, single: number): string =>
  multi ? formatPositions(positions) : String(single);

const sse: StreamEncoding = {
  transport: 'sse',
  headers: { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' },
  preamble: Buffer.from('retry: 2000\n: connected\n\n'),
  heartbeat: Buffer.from(': heartbeat\n\n'),
  message: (m, positions, multi) =>
    multi ? Buffer.concat([Buffer.from(`id: ${formatPositions(positions)}\n`), sseData(m)]) : sseEvent(m),
  gap: (g, positions, multi) =>
    Buffer.from(`id: ${eventId(positions, multi, g.to)}\nevent: gap\ndata: ${JSON.stringify(g)}\n\n`),
  farewell: (reason) => Buffer.from(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`),
};

export function sseTransport(app: FastifyInstance, deps: StreamingDeps & { streamKey?: string }): void {
  app.get('/sse', { onRequest: requireKey(deps.streamKey, { allowQuery: true }) }, async (req, reply) => {
    const topics = topicsFromQuery(req.query, deps.maxTopicsPerRequest);
    const header = req.headers['last-event-id'];
    const resumeFrom = (Array.isArray(header) ? header[0] : header) || queryString(req.query, 'since') || queryString(req.query, 'lastEventId');
    const since = parsePositions(resumeFrom, topics, header ? 'Last-Event-ID' : 'since');
    await serveStream(req, reply, deps, sse, topics, since);
  });
}
