// Serves the browser client (client/dist/hookbox.js, built by `npm run build:client`, which `npm install`
// runs through `prepare`) at GET /hookbox.js and /static/hookbox.js (Hookbox's path).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** src/channels/ and dist/channels/ both sit two levels below the package root. */
export const CLIENT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../client/dist/hookbox.js');

export function clientRoute(app: FastifyInstance, options: { file?: string } = {}): void {
  const file = options.file ?? CLIENT_SCRIPT;
  const serve = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    let script: Buffer;
    try {
      script = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return reply
        .code(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('hookbox.js is not built: run `npm run build:client` (npm install runs it) and reload\n');
    }
    return reply
      .header('content-type', 'application/javascript')
      .header('cache-control', 'no-cache')
      .header('access-control-allow-origin', '*')
      .send(script);
  };
  app.get('/hookbox.js', serve);
  app.get('/static/hookbox.js', serve);
}
