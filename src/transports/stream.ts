// GET /stream?topic=a&topic=b — chunked NDJSON: one message object per line, a newline as heartbeat.
// A gap line {"gap": {topic, from, to}} reports offsets history could not replay (?since=); a reset line
// {"reset": {topic, epoch, previousEpoch?, previousOffset}} a topic log that began again (new epoch).
// With ?epochs=1 every message has "epoch", and ?since= takes "5_<epoch>".
import type { FastifyInstance } from 'fastify';
import { defineWire, jsonEpochText, jsonText, textChunk } from '../core/frames.js';
import { requireKey } from '../http/auth.js';
import { parsePositions } from './positions.js';
import { queryFlag, queryString, topicsFromQuery } from './consumer-request.js';
import { serveStream, type StreamEncoding, type StreamingDeps } from './streaming.js';

const NEWLINE = Buffer.from('\n');
const ndjsonFrame = defineWire('ndjson', (m) => Buffer.from(`${jsonText(m)}\n`));
const ndjsonEpochFrame = defineWire('ndjson+epoch', (m) => Buffer.from(`${jsonEpochText(m)}\n`));
/** The line as one HTTP chunk, framed from its text in one buffer (frames.ts textChunk). */
const ndjsonChunk = defineWire('ndjson:chunk', (m) => textChunk(`${jsonText(m)}\n`));
const ndjsonEpochChunk = defineWire('ndjson+epoch:chunk', (m) => textChunk(`${jsonEpochText(m)}\n`));

function ndjson(withEpochs: boolean): StreamEncoding {
  return {
    transport: 'stream',
    headers: { 'content-type': 'application/x-ndjson; charset=utf-8' },
    heartbeat: NEWLINE,
    message: withEpochs
      ? (m, _cursor, _multi, chunked) => (chunked ? ndjsonEpochChunk(m) : ndjsonEpochFrame(m))
      : (m, _cursor, _multi, chunked) => (chunked ? ndjsonChunk(m) : ndjsonFrame(m)),
    gap: (g) => Buffer.from(`${JSON.stringify({ gap: g })}\n`),
    reset: (r) => Buffer.from(`${JSON.stringify({ reset: r })}\n`),
    farewell: () => Buffer.alloc(0),
  };
}

const plain = ndjson(false);
const withEpochs = ndjson(true);

export function streamTransport(app: FastifyInstance, deps: StreamingDeps & { streamKey?: string }): void {
  app.get('/stream', { onRequest: requireKey(deps.streamKey, { allowQuery: true }) }, async (req, reply) => {
    const topics = topicsFromQuery(req.query, deps.maxTopicsPerRequest);
    const since = parsePositions(queryString(req.query, 'since'), topics, 'since');
    await serveStream(req, reply, deps, queryFlag(req.query, 'epochs') ? withEpochs : plain, topics, since);
  });
}
