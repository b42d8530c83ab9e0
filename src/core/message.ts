// A message on a topic, and the one JSON shape every consumer sees it in.

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
  /** Encoded forms, filled lazily once per wire format and shared by every subscriber. */
  frames?: Partial<Record<string, Buffer>>;
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

const isJsonType = (type: string): boolean => /^application\/(?:[\w.+-]+\+)?json\b/i.test(type) || /^text\/json\b/i.test(type);
const isFormType = (type: string): boolean => /^application\/x-www-form-urlencoded\b/i.test(type);

/** Form fields as an object; a repeated field becomes an array. */
export function formToObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** The payload as JSON data: parsed JSON, form fields, text, or base64 for bytes that are not UTF-8. */
export function payloadData(contentType: string, body: Buffer): { data: unknown; encoding?: 'base64' } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { data: body.toString('base64'), encoding: 'base64' };
  }
  if (isJsonType(contentType)) {
    try {
      return { data: JSON.parse(text) as unknown };
    } catch {
      return { data: text };
    }
  }
  if (isFormType(contentType)) return { data: formToObject(new URLSearchParams(text)) };
  return { data: text };
}

export function toJson(m: Message): MessageJson {
  const { data, encoding } = payloadData(m.contentType, m.body);
  const json: MessageJson = {
    topic: m.topic,
    offset: m.offset,
    id: m.id,
    time: new Date(m.time).toISOString(),
    contentType: m.contentType,
    data,
  };
  if (encoding) json.encoding = encoding;
  return json;
}

/** The same JSON with the log's epoch, for consumers that asked for it. */
export function toJsonWithEpoch(m: Message): MessageJson {
  const json = toJson(m);
  if (m.epoch !== undefined) json.epoch = m.epoch;
  return json;
}
