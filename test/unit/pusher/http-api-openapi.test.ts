// The Pusher HTTP API's route schemas make a valid OpenAPI 3.1 document (what @fastify/swagger builds from
// them), describing the checks the handlers run.
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { pusherHttpApi } from '../../../src/pusher/http-api.js';
import type { ChannelDirectory } from '../../../src/pusher/contracts.js';

const unused = (): never => {
  throw new Error('not called: no request is made');
};
const directory: ChannelDirectory = { channels: unused, channel: unused, users: unused, terminateUser: unused };

describe('Pusher HTTP API: OpenAPI', () => {
  it('documents every route with its query, body and answers, and the document is valid OpenAPI 3.1', async () => {
    const app = Fastify();
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'hookhub', version: '0' } } });
    await app.register(pusherHttpApi, { apps: [], topics: { publish: unused }, directory });
    await app.ready();
    const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/apps/{appId}/batch_events',
      '/apps/{appId}/channels',
      '/apps/{appId}/channels/{channelName}',
      '/apps/{appId}/channels/{channelName}/users',
      '/apps/{appId}/events',
      '/apps/{appId}/users/{userId}/terminate_connections',
    ]);
    const events = doc.paths['/apps/{appId}/events']!.post!;
    expect(events.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(['auth_key', 'auth_signature', 'auth_timestamp', 'auth_version', 'body_md5']);
    expect(JSON.stringify(events.requestBody)).toContain('"maxItems":100');
    expect(Object.keys(events.responses).sort()).toEqual(['200', '400', '401', '404', '413']);
    const channels = doc.paths['/apps/{appId}/channels']!.get!;
    expect(channels.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['filter_by_prefix', 'info']));
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    await app.close();
  });
});
