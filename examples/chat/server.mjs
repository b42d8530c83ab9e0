#!/usr/bin/env node
// Chat room with presence, history and reflection — Hookbox's chat pattern on Hookhub.
//
//   node examples/chat/server.mjs          # app on :8090 + a Hookhub on :8080 calling it back
//   open http://127.0.0.1:8090/ in two windows, pick two names, talk.
//
// The application decides everything through callbacks: who you are (connect reads the chat_user
// cookie the page set), which channels exist and how they behave (create_channel: history, presence,
// reflection), and what may be said (publish trims the text and refuses empty messages).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, runExample, send, startApp, jsonField } from '../shared/app.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const NAME = /^[A-Za-z0-9_.-]{1,32}$/;

/** Starts the chat application. `hubUrl` is where browsers reach Hookhub (the page loads /hookbox.js from it). */
export async function startChatApp({ port = 8090, host = '127.0.0.1', hubUrl = 'http://127.0.0.1:8080', secret = 'chat-example-secret', historySize = 20 } = {}) {
  let hub = hubUrl;
  const callbacks = {
    connect: (_fields, cookies) => {
      const name = cookies.chat_user;
      return name && NAME.test(name) ? [true, { name }] : [false, { msg: 'pick a name first (chat_user cookie)' }];
    },
    disconnect: () => [true, {}],
    create_channel: (fields) =>
      fields.channel_name === 'lobby' || fields.channel_name.startsWith('room.')
        ? [true, { history_size: historySize, presenceful: true, reflective: true, moderated: true }]
        : [false, { msg: `no such room: ${fields.channel_name}` }],
    destroy_channel: () => [true, {}],
    subscribe: () => [true, {}],
    unsubscribe: () => [true, {}],
    publish: (fields) => {
      const payload = jsonField(fields.payload);
      const text = String(typeof payload === 'object' && payload !== null ? (payload.text ?? '') : (payload ?? '')).trim().slice(0, 500);
      if (text === '') return [false, { msg: 'empty message' }];
      // The application may rewrite what is published: here, only the trimmed text goes out.
      return [true, { override_payload: { text } }];
    },
    message: (fields) => {
      const payload = jsonField(fields.payload);
      return typeof payload === 'object' && payload !== null && String(payload.text ?? '').trim() !== '' ? [true, {}] : [false, { msg: 'empty message' }];
    },
  };
  const app = await startApp({
    port,
    host,
    secret,
    callbacks,
    route: async (req, res, url) => {
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
        const page = await readFile(join(here, 'index.html'), 'utf8');
        return send(res, 200, 'text/html; charset=utf-8', page.replaceAll('__HOOKHUB_URL__', hub));
      }
      send(res, 404, 'text/plain', 'not found');
    },
  });
  return { ...app, setHubUrl: (url) => (hub = url) };
}

if (isMain(import.meta.url)) await runExample('chat', startChatApp);
