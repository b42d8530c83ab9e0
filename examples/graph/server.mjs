#!/usr/bin/env node
// Live time-series graph fed by channel polling — Hookbox's graph pattern on Hookhub.
//
//   node examples/graph/server.mjs         # app on :8090 + a Hookhub on :8080 calling it back
//   open http://127.0.0.1:8090/
//
// Nobody publishes from a browser here: when the first viewer subscribes, Hookhub asks the application
// to create the channel (create_channel), the answer tells Hookhub to poll GET /poll every second and
// publish what it returns, and to keep the last 30 points as history so a new viewer sees a full graph
// at once. Browsers may subscribe but not publish (the publish callback refuses).
import { loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, runExample, send, startApp } from '../shared/app.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const CHANNEL = 'graph';

/**
 * Starts the graph application. `interval` is the polling period in seconds; `points` the history kept.
 * Each poll answers a JSON point {t, value}: a sine wave plus the machine's load, so the line moves.
 */
export async function startGraphApp({ port = 8090, host = '127.0.0.1', hubUrl = 'http://127.0.0.1:8080', secret = 'graph-example-secret', interval = 1, points = 30 } = {}) {
  let hub = hubUrl;
  let n = 0;
  const served = [];
  let self = '';
  const callbacks = {
    connect: () => [true, { name: `viewer-${Math.random().toString(36).slice(2, 8)}` }],
    disconnect: () => [true, {}],
    create_channel: (fields) =>
      fields.channel_name === CHANNEL
        ? [true, { history_size: points, reflective: false, presenceful: false, polling: { url: `${self}/poll`, interval, mode: 'simple' } }]
        : [false, { msg: `no such graph: ${fields.channel_name}` }],
    // Destroying the channel when the last viewer leaves also stops the polling.
    destroy_channel: () => [true, {}],
    subscribe: () => [true, {}],
    unsubscribe: () => [true, {}],
    publish: () => [false, { msg: 'this channel is fed by polling only' }],
  };
  const app = await startApp({
    port,
    host,
    secret,
    callbacks,
    route: async (req, res, url) => {
      if (req.method === 'GET' && url.pathname === '/poll') {
        n++;
        const point = { t: Date.now(), value: Math.round((50 + 40 * Math.sin(n / 4) + loadavg()[0]) * 100) / 100 };
        served.push(point);
        return send(res, 200, 'application/json', JSON.stringify(point));
      }
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
        const page = await readFile(join(here, 'index.html'), 'utf8');
        return send(res, 200, 'text/html; charset=utf-8', page.replaceAll('__HOOKHUB_URL__', hub).replaceAll('__POINTS__', String(points)));
      }
      send(res, 404, 'text/plain', 'not found');
    },
  });
  self = app.url;
  return { ...app, served, setHubUrl: (url) => (hub = url) };
}

if (isMain(import.meta.url)) await runExample('graph', startGraphApp);
