// Hookbox's frames: JSON arrays [id, NAME, args]. Server frames carry a per-connection frame number
// (as Hookbox's RTJP did); everything after the id — `,"NAME",{args}]` — is encoded once and shared
// by every connection that receives it, so fan-out never re-encodes per subscriber.
import { defineWire } from '../core/frames.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';
import { payloadData, type Message } from '../core/message.js';
import { channelPublishOf } from './channel-publish.js';
import { hookboxTime } from './hookbox-time.js';

/** The shared part of a server frame: `,"NAME",{...}]`. */
export type FrameTail = Buffer;

export function tail(name: string, args: unknown): FrameTail {
  return Buffer.from(`,${JSON.stringify(name)},${JSON.stringify(args)}]`);
}

/** Who published a message and its payload, when a channel producer knows better than the bytes. */
export interface PublishInfo {
  user: string | null;
  payload: unknown;
}

/**
 * Messages published through the channels (browsers, REST, polling) carry their user and payload to
 * this node's fan-out (channel-publish.ts). A message from any other producer (/dispatch _topic,
 * /api/topics, WebSub) appears with user = null and payload = its JSON data (parsed JSON, form fields
 * as an object, text, or base64 text).
 */
const infoCache = new WeakMap<Message, PublishInfo>();

export function publishInfo(m: Message): PublishInfo {
  let info = infoCache.get(m);
  if (!info) {
    // Other nodes (and other producers' messages) have only the stored message: its author is the user.
    const local = channelPublishOf(m);
    // A copy: the cache must not keep the connection the publish left out.
    info = local ? { user: local.user, payload: local.payload } : { user: m.author ?? null, payload: payloadData(m.contentType, m.body).data };
    infoCache.set(m, info);
  }
  return info;
}

/** A PUBLISH frame tail; a payload that cannot be serialized again goes as the message's text. */
function publishFrame(m: Message, withOffset: boolean): FrameTail {
  const info = publishInfo(m);
  const args = (payload: unknown) => ({
    channel_name: m.topic,
    user: info.user,
    payload,
    datetime: hookboxTime(m.time),
    ...(withOffset ? { offset: m.offset, ...(m.epoch !== undefined ? { epoch: m.epoch } : {}) } : {}),
  });
  try {
    return tail('PUBLISH', args(info.payload));
  } catch {
    return tail('PUBLISH', args(m.body.toString('utf8')));
  }
}

/** The PUBLISH frame tail of a topic message, encoded once per message. */
export const publishTail = defineWire('hookbox', (m) => publishFrame(m, false));

/**
 * The same with the message's topic offset and the epoch of its log, for connections that asked for
 * offsets (exact recovery): an epoch the connection has not seen means the log began again at offset 1.
 */
export const publishTailWithOffset = defineWire('hookbox+offset', (m) => publishFrame(m, true));

export interface ClientFrame {
  id: unknown;
  name: string;
  args: Record<string, unknown>;
}

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; id: unknown; msg: string };

/** Parses one client frame (JSON nested at most maxDepth); anything malformed is reported, never thrown. */
export function parseClientFrame(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): ParsedFrame {
  const parsed = parseJsonInput(text, maxDepth);
  if (!parsed.ok) return { ok: false, id: null, msg: parsed.kind === 'malformed' ? 'malformed frame: not JSON' : `malformed frame: ${parsed.reason}` };
  const value = parsed.value;
  if (!Array.isArray(value)) return { ok: false, id: null, msg: 'malformed frame: expected a JSON array [id, NAME, args]' };
  const id: unknown = value[0] ?? null;
  if (value.length < 2 || value.length > 3 || typeof value[1] !== 'string') {
    return { ok: false, id, msg: 'malformed frame: expected [id, NAME, args]' };
  }
  const args: unknown = value[2] ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return { ok: false, id, msg: 'malformed frame: args must be an object' };
  }
  return { ok: true, frame: { id, name: value[1], args: args as Record<string, unknown> } };
}
