// Operational events: the documented system topic SYSTEM_TOPIC, where the products publish what an operator
// wants to follow (an endpoint opening or being disabled, a delivery failing for good, a browser channel
// occupied or vacated, a member added or removed). One JSON message per event, `{type, …, at}`: any consumer
// of topics follows them (/stream, /sse, a WebSub subscription, the history), and followers registered here
// (the dispatcher's --alert-url webhook) get each one as well. The products share this, never each other.
import type { NewMessage } from './message.js';

/** The documented system topic of operational events. */
export const SYSTEM_TOPIC = 'hookhub.endpoints';

/** What every operational event has: its `type` (`endpoint.opened`, `channel.occupied` …) and when (ISO 8601). */
export interface SystemEvent {
  readonly type: string;
  readonly at: string;
}

/** What publishing needs of the topics (core/topics.ts Topics has it). */
export interface SystemTopicPublisher {
  publish(topic: string, input: NewMessage): Promise<unknown>;
}

/** The event's message body: its JSON, fields in the order the event has them. */
export const systemEventBody = (event: SystemEvent): Buffer => Buffer.from(JSON.stringify(event));

/** Publishes one event to the system topic (committed once this resolves). */
export function publishSystemEvent(topics: SystemTopicPublisher, event: SystemEvent, body = systemEventBody(event)): Promise<unknown> {
  return topics.publish(SYSTEM_TOPIC, { contentType: 'application/json', body });
}

/**
 * Hears each event published through SystemEvents on this node, with its body (the alert webhook). What it
 * starts and returns (a delivery being queued) is waited for by `settled()`; it reports its own failures.
 */
export type SystemEventFollower = (event: SystemEvent, body: Buffer) => Promise<unknown> | void;

/**
 * This node's way to the system topic. The part that made a change emits its event once (on several nodes,
 * the node that made it): it is published, and handed to every follower. Failures are reported to `onError`
 * and never reach the emitter, whose own work is done by then.
 */
export class SystemEvents {
  private readonly followers: SystemEventFollower[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly topics: SystemTopicPublisher,
    private readonly onError: (err: unknown, event: SystemEvent, what: string) => void,
  ) {}

  emit(event: SystemEvent): void {
    const body = systemEventBody(event);
    this.track(publishSystemEvent(this.topics, event, body), event, 'publishing an operational event failed');
    for (const follow of this.followers) {
      try {
        const started = follow(event, body);
        if (started) this.track(started, event, 'an operational event follower failed');
      } catch (err) {
        this.onError(err, event, 'an operational event follower failed');
      }
    }
  }

  private track(work: Promise<unknown>, event: SystemEvent, what: string): void {
    const done: Promise<unknown> = work.catch((err: unknown) => this.onError(err, event, what)).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  follow(fn: SystemEventFollower): void {
    this.followers.push(fn);
  }

  /** Resolves once the events emitted so far are published (or failed): before the store closes. */
  async settled(): Promise<void> {
    for (let rounds = 0; this.inFlight.size > 0 && rounds < 100; rounds++) await Promise.all(this.inFlight);
  }
}
