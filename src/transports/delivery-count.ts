// hookhub_messages_delivered_total, counted per flush of every consumer: prom-client's inc() hashes its
// labels and allocates on every call, which per consumer per flush was a cost of the delivery itself.
// Flushes add to a plain number; the counter gets the sum once, when the code that flushed is done.
import type { Metrics } from '../core/metrics.js';

export class DeliveryCount {
  private pending = 0;
  private queued = false;
  private readonly commit = (): void => {
    this.queued = false;
    const n = this.pending;
    this.pending = 0;
    if (n > 0) this.counter.inc(n);
  };

  constructor(private readonly counter: { inc(n: number): void }) {}

  add(n: number): void {
    this.pending += n;
    if (this.queued) return;
    this.queued = true;
    // A microtask: committed before the event loop takes any other request (e.g. a scrape of /metrics).
    queueMicrotask(this.commit);
  }
}

const counts = new WeakMap<Metrics, Map<string, DeliveryCount>>();

/** The delivery count of a transport, one per metrics registry. */
export function deliveryCount(metrics: Metrics, transport: string): DeliveryCount {
  let byTransport = counts.get(metrics);
  if (!byTransport) counts.set(metrics, (byTransport = new Map()));
  let count = byTransport.get(transport);
  if (!count) byTransport.set(transport, (count = new DeliveryCount(metrics.delivered.labels(transport))));
  return count;
}
