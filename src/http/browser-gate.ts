// The onRequest hook in front of the browser endpoints (/ws, /ws/sse, /ws/send): a foreign Origin is
// refused with 403, and so is every request while the endpoints are closed (keys are set and no
// application authorizes browsers). Runs before the WebSocket handshake, so a refusal is an HTTP answer.
import type { FastifyRequest } from 'fastify';
import { HookhubError } from '../core/errors.js';
import type { OriginPolicy } from './origins.js';

export interface BrowserGateOptions {
  origins: OriginPolicy;
  /** Why the browser endpoints are closed, or undefined when they are open. */
  closed?: string | undefined;
}

export type BrowserGate = (req: FastifyRequest) => Promise<void>;

export function browserGate(options: BrowserGateOptions): BrowserGate {
  return async (req) => {
    if (options.closed !== undefined) throw new HookhubError('forbidden', options.closed);
    const origin = req.headers.origin;
    if (!options.origins.allows(origin, req.headers.host)) {
      throw new HookhubError('forbidden', `origin ${String(origin).slice(0, 200)} is not allowed here (--allowed-origins)`);
    }
  };
}

/** The reason /ws and its fallback are closed, or undefined. */
export function browsersClosedBecause(o: { keysSet: boolean; appCallbacks: boolean; channelsOpen: boolean }): string | undefined {
  if (!o.keysSet || o.appCallbacks || o.channelsOpen) return undefined;
  return 'browser channels are closed: keys are set and no application callbacks (--cb-url) authorize browsers (--channels-open opens them for development)';
}
