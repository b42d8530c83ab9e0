// Limits on every TCP connection, whatever it carries: how long a request may take to arrive
// (headers, then the whole body: a trickled request ends in 408 and a closed socket) and how many
// sockets may be open at once. Node applies requestTimeout only until a request is fully received,
// so long-lived responses (/stream, /sse, the /ws/sse fallback) and upgraded WebSockets are not cut.
import type { Server, ServerOptions } from 'node:http';

export interface SocketLimits {
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  maxSockets: number;
}

/** Node sweeps for expired requests this often by default (30 s); shorter timeouts need a finer sweep. */
const DEFAULT_SWEEP_MS = 30_000;

/** Options for http.createServer: the header and request timeouts and how often Node checks them. */
export function httpServerOptions(limits: SocketLimits): ServerOptions {
  const timeouts = [limits.headerTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0);
  const sweep = Math.min(DEFAULT_SWEEP_MS, ...timeouts.map((ms) => Math.max(50, Math.floor(ms / 4))));
  return { headersTimeout: limits.headerTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: sweep };
}

/** The cap on open sockets: past it Node closes a new connection at once (0: no cap). */
export function capSockets(server: Server, maxSockets: number): void {
  if (maxSockets > 0) server.maxConnections = maxSockets;
}
