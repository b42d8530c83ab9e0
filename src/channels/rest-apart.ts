// Hookbox's -w/-W: the web API (REST) on a port of its own, so that it can stay on an inside interface
// while browsers reach /ws on the public one. Requests on that port go through the same Fastify routes
// (the same token check and answers); only the REST methods are reachable there, at /web/<method>,
// /rest/<method> and /<method> (Hookbox served it at / too). The main port then answers REST with 404.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Marks a request that came in on the separate REST port. */
const VIA_REST_PORT = Symbol('hookhub.viaRestPort');

export function cameThroughRestPort(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { [VIA_REST_PORT]?: true })[VIA_REST_PORT] === true;
}

export interface RestApartOptions {
  host: string;
  port: number;
}

/** Listens once the app is ready; stops when the app's close begins. */
export function serveRestApart(app: FastifyInstance, options: RestApartOptions): void {
  let server: Server | undefined;
  app.addHook('onReady', async () => {
    const listening = createServer((req, res) => {
      (req as IncomingMessage & { [VIA_REST_PORT]?: true })[VIA_REST_PORT] = true;
      const url = req.url ?? '/';
      if (!/^\/(web|rest)\//.test(url)) req.url = `/web${url.startsWith('/') ? '' : '/'}${url}`;
      app.routing(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(options.port, options.host, () => resolve());
    });
    server = listening;
    const address = listening.address();
    app.log.info({ address }, 'Hookbox web API (REST) listening on its own port');
  });
  // Before the server's onClose, where the channels close (server.ts): no REST call comes in after them.
  app.addHook('preClose', async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  });
}
