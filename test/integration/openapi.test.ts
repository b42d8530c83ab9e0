// GET /openapi.json: the OpenAPI 3.1 document @fastify/swagger builds from the route schemas, checked by a
// real OpenAPI validator, with every documented part of the API present.
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Hookhub } from '../../src/server.js';
import { startHub } from '../helpers/server.js';

interface Document {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { tags?: string[]; parameters?: Array<{ name: string; in: string }>; requestBody?: { content: Record<string, unknown> }; responses: Record<string, unknown> }>>;
}

let hub: Hookhub;
let doc: Document;

// A hub per test: the helper stops every hub after each test.
beforeEach(async () => {
  hub = await startHub({ apiKey: 'k', adminPassword: 'admin-password-long-enough' });
  const res = await fetch(`${hub.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Document;
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('is served without the api key (it describes, it exposes nothing)', async () => {
    expect((await fetch(`${hub.url}/openapi.json`)).status).toBe(200);
  });

  it('covers /dispatch, the topic API, deliveries, endpoints, WebSub, REST and ops', () => {
    const expected: Record<string, string[]> = {
      '/dispatch': ['post'],
      '/api/topics': ['get'],
      '/api/topics/{topic}/publish': ['post'],
      '/api/topics/{topic}/history': ['get'],
      '/api/deliveries': ['get'],
      '/api/deliveries/{id}': ['get'],
      '/api/deliveries/{id}/retry': ['post'],
      '/api/deliveries/recover': ['post'],
      '/api/endpoints': ['get'],
      '/api/endpoints/{id}': ['get', 'put', 'delete'],
      '/api/endpoints/{id}/disable': ['post'],
      '/api/endpoints/{id}/enable': ['post'],
      '/api/endpoints/{id}/replay': ['post'],
      '/api/subscriptions': ['get'],
      '/api/subscriptions/{id}': ['get'],
      '/hub': ['post'],
      '/web/{method}': ['get', 'post'],
      '/rest/{method}': ['get', 'post'],
      '/healthz': ['get'],
      '/readyz': ['get'],
      '/metrics': ['get'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(methods.sort());
    }
    // The console's copies of the delivery and endpoint routes stay out of the public description.
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });

  it('declares who guards what: the api key by default, /hub, REST and health checks open, /metrics its own key', () => {
    const raw = doc as unknown as { security: unknown; paths: Record<string, Record<string, { security?: unknown }>> };
    expect(raw.security).toEqual([{ apiKey: [] }]);
    expect(raw.paths['/dispatch']?.post?.security).toBeUndefined();
    for (const [path, method] of [['/hub', 'post'], ['/web/{method}', 'post'], ['/healthz', 'get'], ['/readyz', 'get']] as const) {
      expect(raw.paths[path]?.[method]?.security, path).toEqual([]);
    }
    expect(raw.paths['/metrics']?.get?.security).toEqual([{ metricsKey: [] }]);
  });

  it('documents the query parameters the handlers parse (generated from the same zod schemas)', () => {
    const names = (path: string, method: string) => (doc.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort();
    expect(names('/api/deliveries', 'get')).toEqual(['cursor', 'endpoint', 'id', 'limit', 'since', 'status', 'target', 'until']);
    expect(names('/api/topics/{topic}/history', 'get')).toEqual(['limit', 'since']);
    expect(names('/api/endpoints/{id}/replay', 'post')).toEqual(['since', 'status', 'until']);
    expect(Object.keys(doc.paths['/dispatch']?.post?.requestBody?.content ?? {}).sort())
      .toEqual(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);
  });

  it('does not change what a described route answers: zod messages and status codes as before', async () => {
    const auth = { authorization: 'Bearer k' };
    const bad = await fetch(`${hub.url}/api/deliveries?limit=abc`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'limit must be a whole number', code: 'bad_request' });
    // The key is checked before any validation.
    expect((await fetch(`${hub.url}/api/deliveries?limit=abc`)).status).toBe(401);
    const history = await fetch(`${hub.url}/api/topics/t/history?since=x`, { headers: auth });
    expect(await history.json()).toEqual({ error: 'since must be a whole number', code: 'bad_request' });
    // Replies keep every field (no schema serializer drops the undescribed ones).
    const published = await fetch(`${hub.url}/api/topics/t/publish`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'x' });
    expect(published.status).toBe(202);
    expect(Object.keys((await published.json()) as object).sort()).toEqual(['id', 'offset']);
  });
});
