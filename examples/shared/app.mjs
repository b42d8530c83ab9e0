// What both examples share: a tiny node:http application that answers Hookhub's callbacks
// (form-encoded POST to <cb-url>/<action>, or one URL with action= in the body) and serves a page,
// plus `runExample`, which starts the app and, unless --hub/HOOKHUB_URL names a running Hookhub,
// a Hookhub configured to call it back. No dependencies beyond Node.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Reads a request body as text (bounded). */
export function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Cookie header → { name: value }. */
export function parseCookies(header) {
  const out = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** JSON text of a form field (payloads arrive as JSON text); the raw text when it is not JSON. */
export function jsonField(text) {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const send = (res, status, type, body) => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
};

/**
 * An HTTP server whose POST /hookbox/<action> (and POST /hookbox with action= in the body) calls
 * `callbacks[action](fields, cookies)` → [true, {...}] | [false, {msg}], after checking `secret`.
 * Every other request goes to `route(req, res)`. Resolves once listening.
 */
export async function startApp({ port, host, secret, callbacks, route }) {
  const calls = [];
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://app');
      if (req.method === 'POST' && (url.pathname === '/hookbox' || url.pathname.startsWith('/hookbox/'))) {
        const fields = Object.fromEntries(new URLSearchParams(await readBody(req)));
        const action = url.pathname === '/hookbox' ? fields.action : url.pathname.slice('/hookbox/'.length);
        calls.push({ action, fields, at: Date.now() });
        let answer;
        if (fields.secret !== secret) answer = [false, { msg: 'bad secret' }];
        else if (!callbacks[action]) answer = [false, { msg: `action ${action} not allowed` }];
        else answer = await callbacks[action](fields, parseCookies(req.headers.cookie));
        return send(res, 200, 'application/json', JSON.stringify(answer));
      }
      await route(req, res, url);
    } catch (err) {
      send(res, 500, 'text/plain', String(err?.message ?? err));
    }
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    url: `http://${host}:${address.port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits until GET url answers 200 (a just-started Hookhub). */
async function waitReady(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no answer from ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The command line of an example: `node examples/<name>/server.mjs [--port 8090] [--hub-port 8080]
 * [--hub http://host:port]`. Starts the app with `start({ port, hubUrl, secret })` and, without --hub,
 * a Hookhub (memory store) whose callbacks point at the app.
 */
export async function runExample(name, start) {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, hub: { type: 'string' }, 'hub-port': { type: 'string' }, secret: { type: 'string' } },
  });
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port ?? process.env.PORT ?? 8090);
  const secret = values.secret ?? process.env.HOOKHUB_CB_SECRET ?? `${name}-example-secret`;
  const external = values.hub ?? process.env.HOOKHUB_URL;
  const hubUrl = external ?? `http://127.0.0.1:${values['hub-port'] ?? 8080}`;
  const app = await start({ port, host, hubUrl, secret });
  let hub;
  if (external === undefined) {
    // The TypeScript source through tsx in a checkout; the built dist/cli.js in an installed package.
    const tsx = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
    const cli = existsSync(tsx) ? [tsx, join(ROOT, 'src/cli.ts')] : [join(ROOT, 'dist/cli.js')];
    // The page loads /hookbox.js from the hub: in a fresh checkout, bundle it first (a package ships it built).
    if (!existsSync(join(ROOT, 'client/dist/hookbox.js')) && existsSync(join(ROOT, 'client/build.mjs'))) {
      await new Promise((resolve, reject) => spawn(process.execPath, [join(ROOT, 'client/build.mjs')], { stdio: 'inherit' })
        .on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`client/build.mjs exited ${code}`)))));
    }
    const args = [...cli, 'serve', '--store', 'memory', '--port', new URL(hubUrl).port, '--cb-url', `${app.url}/hookbox`, '--cb-secret', secret, '--allow-private-targets', '--allowed-origins', app.url];
    console.log(`starting Hookhub: hookhub ${args.slice(cli.length).join(' ')}`);
    hub = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
    hub.on('exit', (code) => {
      if (code !== null && code !== 0) {
        console.error(`Hookhub exited with code ${code}`);
        process.exit(1);
      }
    });
    await waitReady(`${hubUrl}/healthz`);
  } else {
    console.log(`using the Hookhub at ${hubUrl}; it must run with --cb-url ${app.url}/hookbox --cb-secret ${secret} --allow-private-targets --allowed-origins ${app.url}`);
  }
  console.log(`${name} example: open ${app.url}/ in two browser windows (Ctrl-C stops)`);
  const stop = async () => {
    hub?.kill('SIGTERM');
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export const isMain = (metaUrl) => process.argv[1] !== undefined && fileURLToPath(metaUrl) === process.argv[1];
