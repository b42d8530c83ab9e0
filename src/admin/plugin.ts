// The /admin console: a static single page (src/admin/public, plain HTML/CSS/JS) and its JSON API,
// all behind HTTP Basic auth with --admin-password. Not registered at all when the password is unset (404).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HookhubError } from '../core/errors.js';
import { adminApi, type AdminDeps } from './api.js';
import { requireAdmin } from './auth.js';

export type { AdminDeps } from './api.js';

const PAGE_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'admin.js': 'text/javascript; charset=utf-8',
  'admin.css': 'text/css; charset=utf-8',
} as const;

type PageFile = keyof typeof PAGE_FILES;

// The page lives beside this module in src/; a build in dist/ reads it from src/admin/public too.
function publicDir(): string {
  const candidates = [new URL('./public/', import.meta.url), new URL('../../src/admin/public/', import.meta.url)];
  for (const dir of candidates) if (existsSync(new URL('index.html', dir))) return fileURLToPath(dir);
  throw new Error('admin console: src/admin/public/index.html not found');
}

function loadPage(): Record<PageFile, Buffer> {
  const dir = publicDir();
  const out = {} as Record<PageFile, Buffer>;
  for (const name of Object.keys(PAGE_FILES) as PageFile[]) out[name] = readFileSync(`${dir}/${name}`);
  return out;
}

// The page loads only its own script and style; nothing may frame it.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Registers the console in `app`, which must be its own context (its auth hook covers only it). */
export async function adminConsole(app: FastifyInstance, options: AdminDeps & { password: string; publicUrl?: string | undefined }): Promise<void> {
  const { password, publicUrl, ...deps } = options;
  const files = loadPage();
  // Behind a proxy the browser's Origin is the public address, not the Host the proxy forwards.
  app.addHook('onRequest', requireAdmin(password, publicUrl !== undefined ? [new URL(publicUrl).origin] : []));

  const serve = (name: PageFile) => async (_req: unknown, reply: FastifyReply) =>
    reply.headers(PAGE_HEADERS).type(PAGE_FILES[name]).send(files[name]);
  app.get('/admin', serve('index.html'));
  app.get('/admin/', serve('index.html'));
  app.get('/admin/admin.js', serve('admin.js'));
  app.get('/admin/admin.css', serve('admin.css'));

  adminApi(app, deps);
  // Unknown console paths answer 404 only to an authenticated caller.
  app.all('/admin/*', async (req) => {
    throw new HookhubError('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`);
  });
}
