// Frames for browser-channel users connected to other nodes, told on `<prefix>users`: every other node
// hands the frame to the connections it has of the named users. Requests for one node (REST calls on a
// user connected there) and their answers travel on the same channel, addressed by presence node id.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isRecord } from '../../core/is-record.js';
import type { UserAnswer, UserRelay, UserRequest } from '../contracts/user-relay.js';

type Listener = (users: string[], frame: string, args: Record<string, unknown>) => void;
type Answerer = (request: UserRequest) => Promise<UserAnswer>;


function parseRequest(v: unknown): UserRequest | undefined {
  if (!isRecord(v) || typeof v.user !== 'string') return undefined;
  if (v.op === 'info') return { op: 'info', user: v.user };
  if (v.op === 'set_options' && isRecord(v.options)) return { op: 'set_options', user: v.user, options: v.options };
  if ((v.op === 'subscribe' || v.op === 'unsubscribe') && typeof v.channel === 'string' && typeof v.auth === 'boolean') {
    return { op: v.op, user: v.user, channel: v.channel, auth: v.auth };
  }
  return undefined;
}

function parseAnswer(v: unknown): UserAnswer | undefined {
  if (!isRecord(v)) return undefined;
  if (v.ok === true && isRecord(v.result)) return { ok: true, result: v.result };
  if (v.ok === false && typeof v.msg === 'string') return { ok: false, msg: v.msg };
  return undefined;
}

export class RedisUserRelay implements UserRelay {
  /** Unreadable notes and failed PUBLISHes (a frame lost as if the user had just left). */
  errors = 0;
  lastError: Error | undefined;
  private readonly pubsub: string;
  private readonly listeners: Listener[] = [];
  private answerer: Answerer | undefined;
  /** Requests of this node waiting for their answer, by request id. */
  private readonly waiting = new Map<string, (answer: UserAnswer) => void>();

  /** `node` is this node's presence id: the others address their requests with it. */
  constructor(private readonly client: Redis, private readonly subscriber: Redis, prefix: string, private readonly node: string = randomUUID()) {
    this.pubsub = `${prefix}users`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.pubsub) this.heard(text);
    });
    await this.subscriber.subscribe(this.pubsub);
  }

  send(users: readonly string[], frame: string, args: Record<string, unknown>): void {
    if (users.length === 0) return;
    this.publish({ node: this.node, users, frame, args });
  }

  onFrame(fn: Listener): void {
    this.listeners.push(fn);
  }

  async ask(node: string, request: UserRequest, timeoutMs: number): Promise<UserAnswer | undefined> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<UserAnswer | undefined>((resolve) => {
      this.waiting.set(id, resolve);
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      await this.client.publish(this.pubsub, JSON.stringify({ node: this.node, to: node, id, ask: request }));
      return await answered;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  onAsk(fn: Answerer): void {
    this.answerer = fn;
  }

  private publish(note: Record<string, unknown>): void {
    this.client.publish(this.pubsub, JSON.stringify(note)).catch((err: unknown) => this.noteError(err));
  }

  private heard(text: string): void {
    let v: { node?: unknown; to?: unknown; id?: unknown; ask?: unknown; answer?: unknown; users?: unknown; frame?: unknown; args?: unknown };
    try {
      v = JSON.parse(text) as typeof v;
    } catch (err) {
      return this.noteError(err);
    }
    if (v.node === this.node) return;
    if ('to' in v) {
      if (v.to !== this.node) return;
      if (typeof v.id !== 'string' || typeof v.node !== 'string') return this.noteError(new Error('unreadable user request'));
      return 'ask' in v ? this.answer(v.node, v.id, v.ask) : this.answered(v.id, v.answer);
    }
    const users = Array.isArray(v.users) ? v.users.filter((u): u is string => typeof u === 'string') : [];
    if (typeof v.frame !== 'string' || typeof v.args !== 'object' || v.args === null) return this.noteError(new Error('unreadable user frame'));
    // Each listener on its own: an exception here would escape into ioredis' event handler.
    for (const fn of this.listeners) {
      try {
        fn(users, v.frame, v.args as Record<string, unknown>);
      } catch (err) {
        this.noteError(err);
      }
    }
  }

  private answer(from: string, id: string, raw: unknown): void {
    const request = parseRequest(raw);
    if (!request) return this.noteError(new Error('unreadable user request'));
    const answerer = this.answerer;
    // Asked inside a promise: an answerer that throws at once is a refusal, like one that rejects.
    const answering = answerer
      ? Promise.resolve().then(() => answerer(request))
      : Promise.resolve<UserAnswer>({ ok: false, msg: `no such user: ${request.user}` });
    void answering
      .catch((err: unknown): UserAnswer => {
        this.noteError(err);
        return { ok: false, msg: 'internal error' };
      })
      .then((answer) => this.publish({ node: this.node, to: from, id, answer }));
  }

  private answered(id: string, raw: unknown): void {
    const answer = parseAnswer(raw);
    if (!answer) return this.noteError(new Error('unreadable user answer'));
    this.waiting.get(id)?.(answer);
  }

  private noteError(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err : new Error(String(err));
  }
}
