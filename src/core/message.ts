// A message on a topic, and the one JSON shape every consumer sees it in.
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { isoTime } from './iso-time.js';
import { isJsonType, jsonDepthOver, MAX_JSON_DEPTH_LIMIT } from './json-input.js';

/** What a producer hands to the core: bytes with their content type. */
export interface NewMessage {
  contentType: string;
  body: Buffer;
  /** Caller-chosen id (e.g. a delivery id); generated when absent. */
  id?: string;
  /** Who published it, where a producer has users (a browser-channel user): kept with the message for every node. */
  author?: string;
}

/** A committed message: the store assigned its per-topic offset. */
export interface Message {
  topic: string;
  offset: number;
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  contentType: string;
  body: Buffer;
  /** See NewMessage.author. Not part of the consumers' JSON shape. */
  author?: string;
  /** The epoch of the topic log that committed it (core/epoch); absent for entries stored before epochs. */
  epoch?: string;
  /**
   * PublishOptions.local, on the publishing node only and only while the fan-out hands the message on:
   * never stored, never seen by other nodes (which know the message by its stored fields alone).
   */
  local?: object;
  /** Encoded forms, filled lazily once per wire format and shared by every subscriber. */
  frames?: Partial<Record<string, Buffer>>;
}

/** A message committed at `offset` of the log `epoch`: the producer's input, its id (or a new one) and now. */
export function committedMessage(topic: string, offset: number, epoch: string, input: NewMessage): Message {
  const m: Message = {
    topic,
    offset,
    id: input.id ?? randomUUID(),
    time: Date.now(),
    contentType: input.contentType,
    body: input.body,
    epoch,
  };
  if (input.author !== undefined) m.author = input.author;
  return m;
}

export interface MessageJson {
  topic: string;
  offset: number;
  id: string;
  time: string;
  contentType: string;
  data: unknown;
  encoding?: 'base64';
  /** Only for consumers that asked for epochs (?epochs=1). */
  epoch?: string;
}

/**
 * The bytes as text when they are UTF-8, read as a fatal TextDecoder reads them (a leading byte order mark is
 * not part of the text); undefined otherwise. Checked by buffer.isUtf8: per message, on the way to its first
 * consumer, the TextDecoder's call into ICU was the slower one.
 */
export function utf8Text(body: Buffer): string | undefined {
  if (!isUtf8(body)) return undefined;
  const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return body.toString('utf8', bom ? 3 : 0);
}

const isFormType = (type: string): boolean => /^application\/x-www-form-urlencoded\b/i.test(type);

/** Form fields as an object; a repeated field becomes an array. Any name is data (`__proto__`, `toString`). */
export function formToObject(params: URLSearchParams): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of params) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/**
 * The payload as JSON data: parsed JSON, form fields, text, or base64 for bytes that are not UTF-8.
 * JSON nested past MAX_JSON_DEPTH_LIMIT (committed before the edges checked depth, or by a node with
 * another limit) stays text: whatever is in the log can always be encoded again.
 */
export function payloadData(contentType: string, body: Buffer): { data: unknown; encoding?: 'base64' } {
  const text = utf8Text(body);
  if (text === undefined) return { data: body.toString('base64'), encoding: 'base64' };
  if (isJsonType(contentType) && !jsonDepthOver(text, MAX_JSON_DEPTH_LIMIT)) {
    try {
      return { data: JSON.parse(text) as unknown };
    } catch {
      return { data: text };
    }
  }
  if (isFormType(contentType)) return { data: formToObject(new URLSearchParams(text)) };
  return { data: text };
}

function textData(body: Buffer): { data: unknown; encoding?: 'base64' } {
  const text = utf8Text(body);
  return text === undefined ? { data: body.toString('base64'), encoding: 'base64' } : { data: text };
}

/**
 * The message's JSON text, with the log's epoch when asked (consumers that opted in); never throws:
 * data that cannot be serialized again goes as its text form.
 */
export function messageJsonText(m: Message, withEpoch = false): string {
  const stamp = (json: MessageJson): MessageJson => {
    if (withEpoch && m.epoch !== undefined) json.epoch = m.epoch;
    return json;
  };
  try {
    return JSON.stringify(stamp(toJson(m)));
  } catch {
    return JSON.stringify(stamp(shape(m, textData(m.body))));
  }
}

export function toJson(m: Message): MessageJson {
  return shape(m, payloadData(m.contentType, m.body));
}

function shape(m: Message, { data, encoding }: { data: unknown; encoding?: 'base64' }): MessageJson {
  const json: MessageJson = {
    topic: m.topic,
    offset: m.offset,
    id: m.id,
    time: isoTime(m.time),
    contentType: m.contentType,
    data,
  };
  if (encoding) json.encoding = encoding;
  return json;
}
