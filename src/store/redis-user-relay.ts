// Frames for browser-channel users connected to other nodes, told on `<prefix>users`: every other node
// hands the frame to the connections it has of the named users.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UserRelay } from './interface.js';

type Listener = (users: string[], frame: string, args: Record<string, unknown>) => void;

export class RedisUserRelay implements UserRelay {
  /** Unreadable notes and failed PUBLISHes (a frame lost as if the user had just left). */
  errors = 0;
  lastError: Error | undefined;
  private readonly node = randomUUID();
  private readonly pubsub: string;
  private readonly listeners: Listener[] = [];

  constructor(private readonly client: Redis, private readonly subscriber: Redis, prefix: string) {
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
    this.client.publish(this.pubsub, JSON.stringify({ node: this.node, users, frame, args })).catch((err: unknown) => this.noteError(err));
  }

  onFrame(fn: Listener): void {
    this.listeners.push(fn);
  }

  private heard(text: string): void {
    let v: { node?: unknown; users?: unknown; frame?: unknown; args?: unknown };
    try {
      v = JSON.parse(text) as typeof v;
    } catch (err) {
      return this.noteError(err);
    }
    if (v.node === this.node) return;
    const users = Array.isArray(v.users) ? v.users.filter((u): u is string => typeof u === 'string') : [];
    if (typeof v.frame !== 'string' || typeof v.args !== 'object' || v.args === null) return this.noteError(new Error('unreadable user frame'));
    for (const fn of this.listeners) fn(users, v.frame, v.args as Record<string, unknown>);
  }

  private noteError(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err : new Error(String(err));
  }
}
