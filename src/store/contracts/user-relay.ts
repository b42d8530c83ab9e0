// Frames and requests for browser-channel users connected to other nodes.

/** What one node asks another to do for a user connected there (REST calls on users). */
export type UserRequest =
  | { op: 'info'; user: string }
  | { op: 'set_options'; user: string; options: Record<string, unknown> }
  | { op: 'subscribe' | 'unsubscribe'; user: string; channel: string; auth: boolean };

/** A node's answer: the result, or why it refused (Hookbox's msg). */
export type UserAnswer = { ok: true; result: Record<string, unknown> } | { ok: false; msg: string };

/** Frames for browser-channel users connected to other nodes (private MESSAGEs, kicks), and requests for them. */
export interface UserRelay {
  /** Hands a frame to the connections the named users have on the other nodes (none on single-node stores). */
  send(users: readonly string[], frame: string, args: Record<string, unknown>): void;
  onFrame(fn: (users: string[], frame: string, args: Record<string, unknown>) => void): void;
  /** Asks one other node (its presence id); undefined when it does not answer within `timeoutMs` (gone). */
  ask(node: string, request: UserRequest, timeoutMs: number): Promise<UserAnswer | undefined>;
  /** Answers the other nodes' requests (one handler). */
  onAsk(fn: (request: UserRequest) => Promise<UserAnswer>): void;
}
