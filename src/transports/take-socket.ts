// A live response that writes its own bytes to the socket (live-response.ts) needs nothing more of
// Node's HTTP server for that connection, yet the server keeps, for as long as the connection lasts,
// the response, the request it answers, the framework's reply and request, the HTTP parser (whose
// native part alone holds room for 32 header names and values) and the listeners that feed it. An
// idle connection's memory is what bounds how many one process holds, so they are let go here: the
// socket is taken over as Node takes over an upgraded one (_http_server's upgrade path), and the
// client's further bytes are ignored (a live response reads nothing).
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What of Node's http internals this relies on (all public-ish: `_http_common` is requireable). */
interface HttpSocket extends Socket {
  _httpMessage?: unknown;
  parser?: { finish(): unknown } | null;
}

const { freeParser } = createRequire(import.meta.url)('_http_common') as {
  freeParser(parser: unknown, req: IncomingMessage | null, socket: Socket | null): void;
};

/**
 * Stands in for the response on a socket whose response we write ourselves, answering what Node's http
 * server asks of `socket._httpMessage` as an unfinished response whose headers are out would: a request
 * pipelined behind it waits forever and gets nothing written into our stream (`finished` false: not
 * closed as idle either); a client error writes no 400 into it (`_headerSent`); a timeout or a drain
 * reaches no one (`emit`). Shared by every such socket (the server may set `_last` on it: harmless).
 * Needed only when the parser could not be let go (see takeSocket).
 */
const RESPONSE_WRITTEN_PAST_NODE = { finished: false, _headerSent: true, _last: false, emit: (): boolean => false };

/** The listeners Node's http server puts on a connection (by name: bound functions are "bound f"). */
const SERVER_LISTENERS: ReadonlyArray<readonly [event: string, name: string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['error', 'socketOnError'],
  ['timeout', 'socketOnTimeout'],
];

/** Errors on a taken socket end in its 'close', which the live response listens to. */
function ignoreError(): void {}

/** A client that ends its side ends the response, as Node's server did (socketOnEnd without half-open). */
function endOnPeerEnd(this: Socket): void {
  this.end();
}

/**
 * Called once the response's headers are written to the socket by us. Cuts the socket's link to the
 * response (a stand-in takes its place), then, when Node's own listeners are all found where Node puts
 * them, removes them and frees the parser as Node does for an upgrade. Should a Node version name them
 * otherwise, the parser stays (nothing is freed that something could still use), and the stand-in
 * keeps the connection correct.
 */
export function takeSocket(req: IncomingMessage, res: ServerResponse, socket: Socket): void {
  const s = socket as HttpSocket;
  res.detachSocket(socket);
  s._httpMessage = RESPONSE_WRITTEN_PAST_NODE;
  const found = SERVER_LISTENERS.map(([event, name]) => [event, socket.listeners(event).find((f) => f.name === name)] as const);
  if (!s.parser || found.some(([, f]) => f === undefined)) return;
  for (const [event, f] of found) socket.removeListener(event, f as (...args: unknown[]) => void);
  socket.on('error', ignoreError);
  socket.on('end', endOnPeerEnd);
  const parser = s.parser;
  parser.finish();
  freeParser(parser, req, socket);
}
