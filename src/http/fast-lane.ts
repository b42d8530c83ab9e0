// Fast lanes: a hot route answered straight from Node's request event, without Fastify's per-request
// machinery (routing, hooks, Request/Reply objects, the content-type parser). A lane takes a request only
// when nothing Fastify would add applies to it: the app is not closing, and
// the lane's own preconditions hold (checked on the headers, before any byte of the body is read).
// Anything else goes to Fastify untouched. What a lane answers, errors included, is what Fastify would
// (errorAnswer is the app's error handler; request ids come from the same sequence, loggers from the same
// factory, and the lane writes the request line the app's onResponse hook would).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { isHookhubError } from '../core/errors.js';
import { storeFailure } from '../core/store-down.js';
import { lazyRequestLogger, logRequestLine, logsRequests } from './request-log.js';

/** Takes the request (and then answers it) or returns false, having read nothing of it. */
export type FastLane = (req: IncomingMessage, res: ServerResponse, tools: LaneTools) => boolean;

export interface LaneTools {
  /** The request's id and logger, as Fastify would make them, and its request line written when the answer
   *  is sent, as the app's onResponse hook writes it (call once per request taken). */
  requestLog(req: IncomingMessage, res: ServerResponse): FastifyBaseLogger;
  /** Answers an error as the app's error handler does. */
  sendError(res: ServerResponse, err: unknown, log: FastifyBaseLogger): void;
}

export interface FastLanes {
  add(lane: FastLane): void;
  /** Requests the lanes took so far (the rest went to Fastify). */
  taken(): number;
}

/** Fastify's own request ids (`req-1`, `req-2`, … in base 36): the app and its lanes draw from this one sequence. */
export function requestIds(): () => string {
  const maxInt = 2147483647;
  let next = 0;
  return () => {
    next = (next + 1) & maxInt;
    return `req-${next.toString(36)}`;
  };
}

export interface ErrorAnswer {
  status: number;
  body: Record<string, string>;
  retryAfter?: number;
}

/** What the app answers for an error thrown by a route (and what it logs, through `log`). */
export function errorAnswer(err: unknown, log: FastifyBaseLogger, storeWritable: () => void, maxBody: number): ErrorAnswer {
  const known = isHookhubError(err) ? err : storeFailure(err, storeWritable);
  if (known) {
    if (known !== err) log.warn({ err }, 'request failed: store unavailable');
    return { status: known.status, body: { error: known.message, code: known.code }, ...(known.retryAfter !== undefined ? { retryAfter: known.retryAfter } : {}) };
  }
  const status = (err as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) {
    return { status, body: { error: status === 413 ? `body larger than ${maxBody} bytes` : (err as Error).message } };
  }
  log.error({ err }, 'request failed');
  return { status: 500, body: { error: 'internal error' } };
}

/** Fastify's label of a JSON reply. */
export const JSON_REPLY = 'application/json; charset=utf-8';

/** A JSON answer written as Fastify writes one: status, content-type, content-length (Node adds the rest). */
export function sendJson(res: ServerResponse, status: number, json: string, extra?: Record<string, string>): void {
  res.writeHead(status, { ...extra, 'content-type': JSON_REPLY, 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/**
 * The rest of a request a lane took, for a lane whose answer depends on the body: the request's log (its
 * line written when the answer is sent), the body read as Fastify's body reader reads it (a body that failed
 * to arrive is answered 400, to whoever is still there), then 202 with the JSON text `answer` makes of the
 * bytes, or what the app answers for the error it throws. Returns true: the lane took the request.
 */
export function answerBody(req: IncomingMessage, res: ServerResponse, tools: LaneTools, answer: (raw: Buffer) => Promise<string>): true {
  const log = tools.requestLog(req, res);
  const chunks: Buffer[] = [];
  // With its length given, the body is whole once that many bytes came (Node's parser takes no more for this
  // request): it is answered then, not a few ticks later at 'end' — the producer's message is on its way to
  // the consumers sooner. Without a length (or an empty body, which has no 'data'), at 'end'.
  const length = Number(req.headers['content-length']);
  let received = 0;
  let taken = false;
  const take = (): void => {
    if (taken) return;
    taken = true;
    const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    answer(raw).then(
      (json) => sendJson(res, 202, json),
      (err: unknown) => tools.sendError(res, err, log),
    );
  };
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    if (received === length) take();
  });
  req.on('error', (err: Error & { statusCode?: number }) => {
    if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
    if (!res.headersSent) tools.sendError(res, err, log);
  });
  req.on('end', take);
  return true;
}

/**
 * Puts the lanes in front of Fastify's request handler on app.server. `enabled` is asked per request (the
 * app closing, or request lines logged, turn the lanes off). Lanes are tried in the order added.
 */
export function installFastLanes(app: FastifyInstance, options: { nextId: () => string; enabled: () => boolean; storeWritable: () => void; maxBody: number }): FastLanes {
  const lanes: FastLane[] = [];
  const server = app.server;
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  // Fastify's handler is the one listener; anything else and the lanes stay out of the way.
  if (handlers.length !== 1) return { add: () => {}, taken: () => 0 };
  const fastify = handlers[0] as (req: IncomingMessage, res: ServerResponse) => void;
  const tools: LaneTools = {
    requestLog: (req, res) => {
      const log = lazyRequestLogger.call(app, app.log, { reqId: options.nextId() }, {}, req);
      if (logsRequests(log.level)) {
        const start = performance.now();
        res.once('finish', () => logRequestLine(log, req.method ?? '', req.url ?? '', res.statusCode, performance.now() - start));
      }
      return log;
    },
    sendError: (res, err, log) => {
      const answer = errorAnswer(err, log, options.storeWritable, options.maxBody);
      sendJson(res, answer.status, JSON.stringify(answer.body), answer.retryAfter !== undefined ? { 'retry-after': String(answer.retryAfter) } : undefined);
    },
  };
  let taken = 0;
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (lanes.length > 0 && options.enabled()) {
      for (const lane of lanes) {
        if (lane(req, res, tools)) {
          taken++;
          return;
        }
      }
    }
    fastify(req, res);
  });
  return { add: (lane) => void lanes.push(lane), taken: () => taken };
}
