// Where attempts are sent from: this thread's undici agent, or delivery threads (worker-threads.ts).
// The dispatcher sees one interface either way.
import { createOutgoingAgent } from '../../core/target-guard.js';
import { sendAttempt, type AttemptRequest, type AttemptResponse } from './http-request.js';

export interface AttemptSender {
  send(req: AttemptRequest): Promise<AttemptResponse>;
  close(): Promise<void>;
}

export interface SenderOptions {
  allowPrivateTargets: boolean;
  /** Connections kept per origin (the dispatcher's per-host limit). */
  connections: number;
}

/** Attempts sent from the calling thread. */
export function inProcessSender(options: SenderOptions): AttemptSender {
  const agent = createOutgoingAgent({ allowPrivate: options.allowPrivateTargets, connections: options.connections });
  return {
    send: (req) => sendAttempt(agent, req),
    close: () => agent.close().catch(() => {}),
  };
}
