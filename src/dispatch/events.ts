// Operational events of the dispatcher, published to the system topic (core/system-events.ts: JSON, one
// message per event) so that any consumer can follow them: /stream, /sse, a WebSub subscription, or the
// alert webhook (--alert-url), which the dispatcher queues like any other delivery.

export { SYSTEM_TOPIC } from '../core/system-events.js';

/** Deliveries of the alert webhook carry this origin kind: their own failures raise no further alerts. */
export const ALERT_ORIGIN = 'alert';

export type EndpointEvent =
  | { type: 'endpoint.opened'; endpoint: string; at: string; reason: string }
  | { type: 'endpoint.half_open'; endpoint: string; at: string }
  | { type: 'endpoint.closed'; endpoint: string; at: string }
  | { type: 'endpoint.disabled'; endpoint: string; at: string; reason: string }
  | { type: 'endpoint.enabled'; endpoint: string; at: string }
  | {
    type: 'delivery.failed';
    endpoint: string;
    at: string;
    delivery: { id: string; url: string; attempts: number; status: number | null; error: string | null };
  };

/** An event before its time is stamped. */
export type EndpointEventBody = EndpointEvent extends infer E ? (E extends EndpointEvent ? Omit<E, 'at'> : never) : never;
