// GET /hookbox.js and /static/hookbox.js serve the built client; a missing build answers 503 clearly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCRIPT, clientRoute } from '../../src/channels/client-route.js';
import { startHub, tempDir } from '../helpers/server.js';

describe('client route', () => {
  it('serves the built plain script at /hookbox.js and /static/hookbox.js', async () => {
    const hub = await startHub();
    const onDisk = readFileSync(CLIENT_SCRIPT, 'utf8'); // built by `npm run build:client` (pretest)
    for (const path of ['/hookbox.js', '/static/hookbox.js']) {
      const res = await fetch(hub.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/javascript');
      const body = await res.text();
      expect(body).toBe(onDisk);
      // The plain script defines the global `hookbox` with connect().
      const scope: { hookbox?: { connect?: unknown } } = {};
      new Function('self', `${body}; self.hookbox = hookbox;`)(scope);
      expect(typeof scope.hookbox?.connect).toBe('function');
    }
  });

  it('answers 503 with what to do when the client is not built', async () => {
    const app = Fastify();
    clientRoute(app, { file: join(tempDir(), 'missing/hookbox.js') });
    const res = await app.inject({ method: 'GET', url: '/hookbox.js' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:client');
    await app.close();
  });
});
