// JSON from outside (request bodies, frames, form fields, the application's answers): parsed with a
// nesting limit and without prototype semantics. Deeply nested JSON parses fine but breaks every later
// JSON.stringify (a RangeError from the call stack), so it is refused before it is committed anywhere;
// a `__proto__` key (or `constructor.prototype`) is refused rather than silently dropped by assignment.
import secureJson from 'secure-json-parse';

/** --max-json-depth default: objects/arrays nested in each other. */
export const DEFAULT_MAX_JSON_DEPTH = 64;
/** Highest --max-json-depth; also where readers of stored messages stop parsing and show the text. */
export const MAX_JSON_DEPTH_LIMIT = 1000;

export type JsonRefusal = 'malformed' | 'too_deep' | 'forbidden_key';
export type JsonInput = { ok: true; value: unknown } | { ok: false; kind: JsonRefusal; reason: string };

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SUSPECT = /proto|constructor|\\u/i;

/**
 * True when the JSON text nests objects/arrays deeper than maxDepth (one linear scan, strings skipped).
 * UTF-8 bytes are scanned as they are: the structural characters never occur inside a multibyte sequence.
 */
export function jsonDepthOver(text: string | Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  const bytes = typeof text === 'string' ? undefined : text;
  const str = typeof text === 'string' ? text : '';
  const length = bytes ? bytes.length : str.length;
  for (let i = 0; i < length; i++) {
    const c = bytes ? (bytes[i] as number) : str.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && depth > 0) depth--;
  }
  return false;
}

/** Parses untrusted JSON text; every refusal is a value with a reason fit for a 400 or an ERROR frame. */
export function parseJsonInput(input: string | Buffer, maxDepth: number): JsonInput {
  const text = typeof input === 'string' ? input : input.toString('utf8');
  if (jsonDepthOver(text, maxDepth)) {
    return { ok: false, kind: 'too_deep', reason: `JSON nested deeper than ${maxDepth} levels (--max-json-depth)` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    return { ok: false, kind: 'malformed', reason: `malformed JSON: ${(err as Error).message}` };
  }
  // Only text that could spell such a key (possibly with \u escapes) is scanned.
  if (value === null || typeof value !== 'object' || !SUSPECT.test(text)) return { ok: true, value };
  try {
    secureJson.scan(value as Record<string, unknown>, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    return { ok: false, kind: 'forbidden_key', reason: 'JSON key __proto__ (or constructor.prototype) is not allowed' };
  }
  return { ok: true, value };
}

/** JSON-typed content (application/json, application/*+json, text/json): what message data shows parsed. */
export const isJsonType = (type: string): boolean => /^application\/(?:[\w.+-]+\+)?json\b/i.test(type) || /^text\/json\b/i.test(type);
