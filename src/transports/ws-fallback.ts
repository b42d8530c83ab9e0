// HTTP fallback for browsers without WebSocket, same sessions and frames as /ws:
//   GET /ws/sse  — Server-Sent Events; the first event's data is {"session": "<id>"}, every later
//                  event's data is one server frame [id, NAME, args].
//   POST /ws/send?session=<id> (or header X-Session-Id) — body: one frame, or a JSON array of frames.
// A frame over --max-frame ends the session (close event, code 1009), as on /ws.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookhubError } from '../core/errors.js';
import { MAX_JSON_DEPTH_LIMIT, parseJsonInput } from '../core/json-input.js';
import { openLiveResponse } from './live-response.js';
import { CLOSE_GOING_AWAY, CLOSE_TOO_BIG, sessionInfo, type SessionFactory, type SessionSink, type TransportSession, type WsDeps } from './ws.js';

const DATA = Buffer.from('data: ');
const END = Buffer.from('\n\n');
const HEARTBEAT = Buffer.from(': heartbeat\n\n');

interface FallbackSession {
  session: TransportSession;
  sink: SessionSink;
}

export function wsFallback(app: FastifyInstance, deps: WsDeps & { sessions: SessionFactory }): void {
  const open = new Map<string, FallbackSession>();
  // The same origin and access checks as the /ws handshake, on each fallback route (not on the
  // context: the caller may share it with other routes).
  const gated = deps.gate ? { onRequest: deps.gate } : {};

  app.get('/ws/sse', gated, async (req: FastifyRequest, reply: FastifyReply) => {
    const id = randomUUID().replace(/-/g, '');
    let session: TransportSession | undefined;
    const closeEvent = (code: number, reason: string): string => `event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`;
    const live = openLiveResponse(req, reply, deps, {
      transport: 'ws-sse',
      headers: { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' },
      preamble: `retry: 2000\ndata: ${JSON.stringify({ session: id })}\n\n`,
      heartbeat: HEARTBEAT,
      farewell: (reason) => closeEvent(CLOSE_GOING_AWAY, reason),
      onFinish: () => {
        open.delete(id);
        session?.closed();
        session = undefined;
      },
    });
    const sink: SessionSink = {
      send: (frame) => live.push(Buffer.concat([DATA, frame, END])),
      close: (code, reason) => live.finish(reason, closeEvent(code, reason)),
    };
    session = deps.sessions.open(sink, sessionInfo(req, 'ws-sse'));
    open.set(id, { session, sink });
  });

  // Browsers on the application's origin POST cross-origin: answer the preflight.
  app.options('/ws/send', gated, async (_req, reply) =>
    reply.code(204).headers({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type, x-session-id',
      'access-control-max-age': '600',
    }).send());

  app.post('/ws/send', gated, async (req, reply) => {
    reply.header('access-control-allow-origin', '*');
    const query = req.query as Record<string, unknown>;
    const header = req.headers['x-session-id'];
    const id = typeof query.session === 'string' ? query.session : typeof header === 'string' ? header : undefined;
    if (!id) throw new HookhubError('bad_request', 'session required (?session=<id> from the first /ws/sse event)');
    const entry = open.get(id);
    if (!entry) throw new HookhubError('not_found', 'no such session (it ended, or the id is wrong)');
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    for (const frame of splitFrames(body)) {
      if (Buffer.byteLength(frame) > deps.maxFrame) {
        entry.sink.close(CLOSE_TOO_BIG, `frame larger than ${deps.maxFrame} bytes`);
        throw new HookhubError('too_large', `frame larger than ${deps.maxFrame} bytes`);
      }
      entry.session.receive(frame);
    }
    return reply.code(202).send({ ok: true });
  });
}

/**
 * A JSON array of frames is split into frames; anything else is one frame (bad ones get ERROR frames).
 * Splitting re-serializes each frame, so it only parses what can be serialized again; the session applies
 * --max-json-depth to each frame.
 */
function splitFrames(body: string): string[] {
  const json = parseJsonInput(body, MAX_JSON_DEPTH_LIMIT);
  if (!json.ok) return [body];
  const parsed = json.value;
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((f) => Array.isArray(f))) return parsed.map((f) => JSON.stringify(f));
  return [body];
}
