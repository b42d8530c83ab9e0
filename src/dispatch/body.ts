// /dispatch bodies: form-urlencoded, multipart or JSON. Fields starting with "_" are control fields;
// the rest is the payload, kept in the encoding it arrived in (form bytes untouched, JSON re-serialized
// without the control fields, multipart re-encoded with its files).
import busboy from 'busboy';
import { HookhubError } from '../core/errors.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJsonInput } from '../core/json-input.js';

export type ControlValue = string | number | boolean | Record<string, unknown> | unknown[] | null;

export interface DispatchBody {
  control: Map<string, ControlValue>;
  payload: { contentType: string; body: Buffer; empty: boolean };
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const EMPTY = { contentType: FORM, body: Buffer.alloc(0), empty: true };

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  // The common headers exactly as clients send them: nothing to trim or lower.
  if (contentType === FORM || contentType === JSON_TYPE) return contentType;
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/**
 * A single /dispatch body (not a batch). A promise only for multipart (its parser streams); form and JSON
 * bodies are parsed at once, without a turn of the microtask queue.
 */
export function parseDispatchBody(contentType: string | undefined, raw: Buffer | undefined, maxDepth = DEFAULT_MAX_JSON_DEPTH): DispatchBody | Promise<DispatchBody> {
  const body = raw ?? Buffer.alloc(0);
  const type = mediaType(contentType);
  if (body.length === 0) return { control: new Map(), payload: EMPTY };
  if (type === FORM || type === '') return parseForm(body);
  if (type === JSON_TYPE || type.endsWith('+json')) return parseJson(body, maxDepth);
  if (type === 'multipart/form-data') return parseMultipart(contentType as string, body);
  throw new HookhubError('unsupported_media', `unsupported content type "${type}": send form-urlencoded, multipart or JSON`);
}

const UNDERSCORE = 0x5f;

/**
 * Control fields (the first of each name) decoded; the payload is the other pairs, joined by '&' as they
 * came. When those pairs sit side by side in the body (the control fields all before or after them, no
 * empty pair between), the payload is that part of the body itself, not a copy.
 */
function parseForm(body: Buffer): DispatchBody {
  const control = new Map<string, ControlValue>();
  const text = body.toString('latin1');
  let kept: string[] | undefined;
  let keptCount = 0;
  let keptStart = -1;
  let keptEnd = -1;
  let contiguous = true;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const pair = text.slice(start, end);
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      const key = isPlain(rawKey) ? rawKey : decodeFormComponent(rawKey);
      if (key.charCodeAt(0) === UNDERSCORE) {
        if (!control.has(key)) control.set(key, eq === -1 ? '' : formValue(pair, key, pair.slice(eq + 1)));
      } else {
        // Anything between two payload pairs (a control field, an empty pair) and the join differs from the body.
        if (keptCount > 0 && keptEnd !== start - 1) contiguous = false;
        if (keptCount === 0) keptStart = start;
        keptEnd = end;
        keptCount++;
        (kept ??= []).push(pair);
      }
    }
    start = end + 1;
  }
  if (keptCount === 0) return { control, payload: { contentType: FORM, body: Buffer.alloc(0), empty: true } };
  const payload = contiguous ? body.subarray(keptStart, keptEnd) : Buffer.from((kept as string[]).join('&'), 'latin1');
  return { control, payload: { contentType: FORM, body: payload, empty: false } };
}

/** Without '%' or '+' a form component decodes to itself. */
const isPlain = (s: string): boolean => !s.includes('%') && !s.includes('+');

/**
 * A control field's value as URLSearchParams decodes it; decodeURIComponent gives the same text whenever it
 * accepts the input (and is much cheaper); malformed escapes are left to URLSearchParams' lenient decoding.
 */
function formValue(pair: string, key: string, raw: string): string {
  if (isPlain(raw)) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return new URLSearchParams(pair).get(key) ?? '';
  }
}

function decodeFormComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new HookhubError('bad_request', 'malformed form encoding');
  }
}

/** Webhooks one batch may queue (a JSON array body). */
export const MAX_BATCH = 1000;

/** A JSON body, nested at most maxDepth, without `__proto__` keys (they would vanish by assignment). */
function parseJsonText(body: Buffer, maxDepth: number): unknown {
  const parsed = parseJsonInput(body, maxDepth);
  if (!parsed.ok) throw new HookhubError('bad_request', parsed.kind === 'malformed' ? `malformed JSON body: ${parsed.reason.replace(/^malformed JSON: /, '')}` : parsed.reason);
  return parsed.value;
}

const isJson = (type: string): boolean => type === JSON_TYPE || type.endsWith('+json');

/**
 * A JSON array body: a batch, each item a /dispatch JSON object. Undefined for any other body. Every item
 * is checked here; a bad one refuses the whole batch (its index in the message).
 */
export function parseDispatchBatch(contentType: string | undefined, raw: Buffer | undefined, maxDepth = DEFAULT_MAX_JSON_DEPTH): DispatchBody[] | undefined {
  if (!raw || raw.length === 0 || !isJson(mediaType(contentType))) return undefined;
  const first = raw.toString('latin1', 0, Math.min(raw.length, 64)).trimStart();
  if (!first.startsWith('[')) return undefined;
  const items = parseJsonText(raw, maxDepth);
  if (!Array.isArray(items)) return undefined;
  if (items.length === 0) throw new HookhubError('bad_request', 'the batch is empty');
  if (items.length > MAX_BATCH) throw new HookhubError('bad_request', `a batch holds at most ${MAX_BATCH} items, got ${items.length}`);
  return items.map((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new HookhubError('bad_request', `item ${i}: must be an object (a /dispatch JSON object)`);
    return fromJsonObject(item as Record<string, unknown>);
  });
}

function parseJson(body: Buffer, maxDepth: number): DispatchBody {
  const parsed = parseJsonText(body, maxDepth);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HookhubError('bad_request', 'JSON body must be an object (or an array of objects: a batch)');
  }
  return fromJsonObject(parsed as Record<string, unknown>);
}

function fromJsonObject(parsed: Record<string, unknown>): DispatchBody {
  const control = new Map<string, ControlValue>();
  const payload: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key.startsWith('_')) control.set(key, value as ControlValue);
    else payload[key] = value;
  }
  const empty = Object.keys(payload).length === 0;
  return { control, payload: { contentType: JSON_TYPE, body: Buffer.from(JSON.stringify(payload)), empty } };
}

async function parseMultipart(contentType: string, body: Buffer): Promise<DispatchBody> {
  const control = new Map<string, ControlValue>();
  const form = new FormData();
  let parts = 0;
  await new Promise<void>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8' });
    } catch (err) {
      reject(new HookhubError('bad_request', `malformed multipart body: ${(err as Error).message}`));
      return;
    }
    // busboy names a part with an empty (or no) name `undefined`: it is the field "".
    parser.on('field', (rawName: string | undefined, value) => {
      const name = rawName ?? '';
      if (name.startsWith('_')) {
        if (!control.has(name)) control.set(name, value);
      } else {
        form.append(name, value);
        parts++;
      }
    });
    parser.on('file', (rawName: string | undefined, file, info) => {
      const name = rawName ?? '';
      const chunks: Buffer[] = [];
      file.on('data', (c: Buffer) => chunks.push(c));
      file.on('end', () => {
        form.append(name, new Blob([Buffer.concat(chunks)], { type: info.mimeType }), info.filename);
        parts++;
      });
    });
    parser.on('error', (err: Error) => reject(new HookhubError('bad_request', `malformed multipart body: ${err.message}`)));
    parser.on('close', () => resolve());
    parser.end(body);
  });
  if (parts === 0) return { control, payload: EMPTY };
  const encoded = new Response(form);
  return {
    control,
    payload: {
      contentType: encoded.headers.get('content-type') ?? 'multipart/form-data',
      body: Buffer.from(await encoded.arrayBuffer()),
      empty: false,
    },
  };
}

/** A control field as text, or undefined; objects are refused with a clear error. */
export function controlText(body: DispatchBody, name: string): string | undefined {
  const value = body.control.get(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') throw new HookhubError('bad_request', `${name} must be text`);
  return String(value);
}
