// GET /sse?topic=t — Server-Sent Events. Event id = message offset (several topics: "a=5&b=7", every
// topic's position from the first event on), resume with Last-Event-ID or ?since=; an `event: gap` reports
// what history could not replay, an `event: reset` a topic log that began again (new epoch). With
// ?epochs=1 every offset in an id carries its log's epoch ("5_<epoch>") and message data has "epoch".
import type { FastifyInstance } from 'fastify';
import { defineWire, httpChunk, jsonEpochText, jsonText, textChunk } from '../core/frames.js';
import type { Message } from '../core/message.js';
import type { StreamCursor } from '../core/topic-stream.js';
import { requireKey } from '../http/auth.js';
import { formatPosition, formatPositions, parsePositions } from './positions.js';
import { queryFlag, queryString, topicsFromQuery } from './consumer-request.js';
import { serveStream, type StreamEncoding, type StreamingDeps } from './streaming.js';

/** `data: <json>\n\n` — the part multi-topic streams put after their own id line. */
const sseData = defineWire('sse-data', (m) => Buffer.from(`data: ${jsonText(m)}\n\n`));
const sseEpochData = defineWire('sse-data+epoch', (m) => Buffer.from(`data: ${jsonEpochText(m)}\n\n`));
/** `id: <offset>\ndata: <json>\n\n` — the whole event for single-topic streams, as text. */
const sseEventText = (m: Message): string => `id: ${m.offset}\ndata: ${jsonText(m)}\n\n`;
const sseEpochEventText = (m: Message): string => `id: ${formatPosition(m.offset, m.epoch, true)}\ndata: ${jsonEpochText(m)}\n\n`;
const sseEvent = defineWire('sse', (m) => Buffer.from(sseEventText(m)));
const sseEpochEvent = defineWire('sse+epoch', (m) => Buffer.from(sseEpochEventText(m)));
/** The event as one HTTP chunk, framed from its text in one buffer (frames.ts textChunk). */
const sseEventChunk = defineWire('sse:chunk', (m) => textChunk(sseEventText(m)));
const sseEpochEventChunk = defineWire('sse+epoch:chunk', (m) => textChunk(sseEpochEventText(m)));

function sseEncoding(withEpochs: boolean): StreamEncoding {
  const data = withEpochs ? sseEpochData : sseData;
  const single = withEpochs ? sseEpochEvent : sseEvent;
  const singleChunk = withEpochs ? sseEpochEventChunk : sseEventChunk;
  /** The id of a control event: where the consumer stands now. */
  const id = (cursor: StreamCursor, multi: boolean, topic: string): string =>
    multi ? formatPositions(cursor, withEpochs) : formatPosition(cursor.positions.get(topic) ?? 0, cursor.epochs.get(topic), withEpochs);
  const control = (event: string, cursor: StreamCursor, multi: boolean, topic: string, body: unknown): Buffer =>
    Buffer.from(`id: ${id(cursor, multi, topic)}\nevent: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
  return {
    transport: 'sse',
    headers: { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' },
    preamble: Buffer.from('retry: 2000\n: connected\n\n'),
    heartbeat: Buffer.from(': heartbeat\n\n'),
    message: (m: Message, cursor, multi, chunked) => {
      if (!multi) return chunked ? singleChunk(m) : single(m);
      // Every topic's position is in the id: this consumer's own bytes.
      const event = Buffer.concat([Buffer.from(`id: ${formatPositions(cursor, withEpochs)}\n`), data(m)]);
      return chunked ? httpChunk(event) : event;
    },
    gap: (g, cursor, multi) => control('gap', cursor, multi, g.topic, g),
    reset: (r, cursor, multi) => control('reset', cursor, multi, r.topic, r),
    farewell: (reason) => Buffer.from(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`),
  };
}

const plain = sseEncoding(false);
const withEpochs = sseEncoding(true);

export function sseTransport(app: FastifyInstance, deps: StreamingDeps & { streamKey?: string }): void {
  app.get('/sse', { onRequest: requireKey(deps.streamKey, { allowQuery: true }) }, async (req, reply) => {
    const topics = topicsFromQuery(req.query, deps.maxTopicsPerRequest);
    const header = req.headers['last-event-id'];
    const resumeFrom = (Array.isArray(header) ? header[0] : header) || queryString(req.query, 'since') || queryString(req.query, 'lastEventId');
    const since = parsePositions(resumeFrom, topics, header ? 'Last-Event-ID' : 'since');
    await serveStream(req, reply, deps, queryFlag(req.query, 'epochs') ? withEpochs : plain, topics, since);
  });
}
