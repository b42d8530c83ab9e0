// Shared pieces of the property tests over the input edges: generators that only ever point outgoing
// requests at 127.0.0.1 (a receiver of the test), and the invariants every answer must keep.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Hookhub } from '../../src/server.js';

/** Nested arrays/objects of the given depth around a leaf. */
export const nestedJson = (depth: number, object: boolean): string =>
  object ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);

/** JSON text that is deep, shallow, malformed or prototype-polluting. */
export const awkwardJsonText = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.json({ maxDepth: 4 }),
    // Shallow, around --max-json-depth, and past what JSON.stringify's call stack takes.
    fc.tuple(fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(6000, 9000)), fc.boolean()).map(([d, o]) => nestedJson(d, o)),
    fc.constantFrom('{"__proto__":{"x":1}}', '{"a":{"constructor":{"prototype":{}}}}', '{"\\u005f_proto__":1}', '{', '[1,', '"', '\u0000', ''),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );

/**
 * URLs for outgoing requests: odd schemes, ports, paths and queries, but the host is always loopback
 * (the receiver's port, or a malformed one), so no request ever leaves the machine.
 */
export const localUrl = (port: number): fc.Arbitrary<string> =>
  fc.tuple(
    fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'javascript:', '', 'http:/', 'http:///'),
    fc.constantFrom('127.0.0.1', 'localhost', '[::1]', '', '127.1', '[::ffff:127.0.0.1]'),
    fc.constantFrom(`:${port}`, '', ':0', ':99999', ':abc', `:${port} `),
    fc.string({ maxLength: 20 }),
  ).map(([scheme, host, p, rest]) => `${scheme}${host}${p}/${rest.replace(/[@\\]/g, '_')}`);

/** Header values an HTTP client can send: visible ASCII and spaces. */
export const headerText = (): fc.Arbitrary<string> => fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((s) => s.trim());

/** Every answer: never a server error. */
export function noServerError(status: number, what: string): void {
  expect(status, what).toBeGreaterThanOrEqual(200);
  expect(status, what).toBeLessThan(500);
}

/** The process is still up and answering. */
export async function stillHealthy(hub: Hookhub): Promise<void> {
  expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
}

/** Reads back a committed message by topic and offset; it must carry the acknowledged id. */
export async function readBack(hub: Hookhub, topic: string, offset: number, id: string): Promise<void> {
  const res = await fetch(`${hub.url}/api/topics/${encodeURIComponent(topic)}/history?since=${offset - 1}&limit=1`);
  expect(res.status).toBe(200);
  const { messages } = (await res.json()) as { messages: Array<{ id: string; offset: number }> };
  expect(messages[0], `message ${offset} of ${topic}`).toMatchObject({ id, offset });
}
