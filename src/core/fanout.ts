// Live fan-out: topic → subscribers. Delivery is a synchronous hand-off; subscribers queue and write later,
// or at once when the server is idle (batch-writer's writeThrough).
// Each subscriber is isolated: one that throws is reported and the others still get the message.
import { writeThrough } from './batch-writer.js';
import type { Message } from './message.js';

export interface Subscriber {
  deliver(m: Message): void;
}

export type FanoutErrorHandler = (err: unknown, m: Message) => void;

export class Fanout {
  private readonly byTopic = new Map<string, Set<Subscriber>>();

  constructor(private readonly onError: FanoutErrorHandler = () => {}) {}

  add(topic: string, s: Subscriber): void {
    let set = this.byTopic.get(topic);
    if (!set) this.byTopic.set(topic, (set = new Set()));
    set.add(s);
  }

  remove(topic: string, s: Subscriber): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.byTopic.delete(topic);
  }

  publish(m: Message): void {
    const set = this.byTopic.get(m.topic);
    if (!set) return;
    // On an idle server the consumers are written as the hand-out goes, in the same turn (see writeThrough).
    writeThrough(() => this.deliverAll(set, m));
  }

  private deliverAll(set: Set<Subscriber>, m: Message): void {
    for (const s of set) {
      try {
        s.deliver(m);
      } catch (err) {
        this.onError(err, m);
      }
    }
  }

  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }
}
