// POST /api/topics/:topic/publish as a fast lane (http/fast-lane.ts): the producers' hot path, answered as
// the route answers it (answerPublish) for the requests where Fastify would add nothing.
import type { Topics } from '../core/topics.js';
import { MAX_PARAM_LENGTH } from '../http/app.js';
import { bearerOf, secretEquals } from '../http/auth.js';
import { answerBody, type FastLane } from '../http/fast-lane.js';
import { answerPublish } from './topics.js';

const PREFIX = '/api/topics/';
const SUFFIX = '/publish';

/**
 * A topic the router would not hand over as written: `%` is decoded, `?` and `#` (and `;`, should the
 * router be told to) end the path, `/` is another segment.
 */
const NOT_AS_WRITTEN = /[%?#;/]/;

/**
 * A content type Fastify takes (its lib/content-type.js): `type/subtype` of token characters, blanks
 * around, then parameters or nothing. Fastify answers any other 415, before the route.
 */
const VALID_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(?:;|$)/;

/**
 * Takes exactly `/api/topics/<topic>/publish` with the topic as written (see NOT_AS_WRITTEN, and no longer
 * than the router matches), a valid content type, a length given and within --max-body, and the right key
 * when --api-key is set (the route's requireKey takes only `Authorization: Bearer`). Any other request (a
 * wrong key's 401, a 413, a query string, an encoded topic, a chunked body, a missing or invalid content
 * type) goes to the route.
 */
export function topicPublishLane(topics: Topics, options: { apiKey: string | undefined; maxBody: number }): FastLane {
  return (req, res, tools) => {
    const url = req.url;
    const headers = req.headers;
    const type = headers['content-type'];
    const length = headers['content-length'];
    if (req.method !== 'POST' || url === undefined || type === undefined || length === undefined) return false;
    if (!url.startsWith(PREFIX) || !url.endsWith(SUFFIX)) return false;
    // Empty also when the prefix and the suffix overlap (`/api/topics/publish`).
    const topic = url.slice(PREFIX.length, url.length - SUFFIX.length);
    if (topic.length === 0 || topic.length > MAX_PARAM_LENGTH || NOT_AS_WRITTEN.test(topic)) return false;
    if (headers['transfer-encoding'] !== undefined || headers.upgrade !== undefined || !(Number(length) <= options.maxBody) || !VALID_TYPE.test(type)) return false;
    if (options.apiKey !== undefined && !secretEquals(bearerOf(headers.authorization), options.apiKey)) return false;
    return answerBody(req, res, tools, (raw) => answerPublish(topics, topic, type, raw));
  };
}
