// /openapi.json: an OpenAPI 3.1 document built by @fastify/swagger from the schemas routes declare. A query
// schema is generated from the zod schema the handler parses with (inputSchema), so the two cannot drift.
// Declaring a schema changes nothing a route does: `described` keeps validation in the handler (zod, same
// messages and status codes, after the auth hooks) and serializes replies as before (JSON.stringify).
import swagger from '@fastify/swagger';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifySchema, RouteShorthandOptions } from 'fastify';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/** The JSON Schema of what a client sends to a zod schema (its input side; refinements are not expressible). */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return json;
}

/** Route options carrying `schema` for the document only: no Fastify validation, no schema serializer. */
export function described(schema: FastifySchema): RouteShorthandOptions {
  return {
    schema,
    validatorCompiler: () => (value: unknown) => ({ value }),
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
}

/** A route that --api-key does not guard: `security: open` in its schema. */
export const open: Array<Record<string, string[]>> = [];

/** `{ error, code }`: every JSON error reply of the key-guarded API. */
export const errorReply = (description: string): JsonSchema => ({
  description,
  type: 'object',
  properties: { error: { type: 'string' }, code: { type: 'string' } },
  required: ['error'],
});

/** The errors every route behind --api-key can answer. */
export const commonErrors = {
  400: errorReply('Bad input: the first problem found'),
  401: errorReply('Missing or wrong key (Authorization: Bearer <api-key>)'),
  503: errorReply('The store cannot take a write now (Retry-After)'),
};

export const pathParam = (name: string, description: string): JsonSchema => ({
  type: 'object',
  properties: { [name]: { type: 'string', description } },
  required: [name],
});

function packageVersion(): string {
  // package.json is two levels up from both src/http/ and dist/http/.
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}

/** Registers the generator (before any route, so it sees them all) and GET /openapi.json. */
export async function openApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hookhub',
        version: packageVersion(),
        description: 'Webhook dispatcher, topic pub/sub (WebSub, NDJSON stream, SSE) and Hookbox-style browser channels.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: '--api-key (open when unset)' },
          metricsKey: { type: 'http', scheme: 'bearer', description: '--metrics-key (open when unset)' },
        },
      },
      // The API key by default; /hub, the REST API and the health checks declare their own (`open`).
      security: [{ apiKey: [] }],
      tags: [
        { name: 'dispatch', description: 'POST /dispatch: queue webhooks, publish to topics' },
        { name: 'topics', description: 'Topic publish, history and list' },
        { name: 'deliveries', description: 'The delivery log: list, inspect, resend' },
        { name: 'endpoints', description: 'Per-endpoint limits, circuit, disable, replay' },
        { name: 'websub', description: 'The WebSub hub and its subscriptions' },
        { name: 'rest', description: 'Hookbox REST API of the browser channels' },
        { name: 'ops', description: 'Health and metrics' },
      ],
    },
    // Only what is described; the console mounts the same delivery and endpoint routes under /admin.
    hideUntagged: true,
    transform: ({ schema, url }) => ({ schema: url.startsWith('/admin') ? { ...schema, hide: true } : schema, url }),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
