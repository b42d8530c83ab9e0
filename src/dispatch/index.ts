// The dispatcher product as others see it. server.ts registers `dispatcherPlugin` (the WebhookDispatcher it
// builds, the WebhookQueue other parts deliver through, comes back by `dispatcherOf`); the admin console
// mounts the delivery log and the endpoints through `deliveryLogRoutes` and `endpointRoutes`. Nothing else
// reaches into dispatch/.
import type { FastifyInstance } from 'fastify';
import { deliveriesApi, type DeliveryLog } from './deliveries-api.js';
import { endpointsApi, type EndpointsControl } from './endpoints-api.js';

export { dispatcherOf, dispatcherPlugin, type DispatcherPluginOptions } from './plugin.js';
// createDispatcher alone: a dispatcher without HTTP routes (bench/dispatch-drain.ts).
export { createDispatcher, type DispatchConfig } from './create.js';
export type { DeliveryLog } from './deliveries-api.js';
export type { EndpointsControl } from './endpoints-api.js';
export type { WebhookDispatcher } from './dispatcher.js';
export { SYSTEM_TOPIC } from './events.js';
export type { EndpointEvent } from './events.js';

/**
 * The delivery log routes (list, one, resend, recover) under `prefix`: '' for /api/deliveries (register
 * inside the api-key guarded context), '/admin' for the console's copy.
 */
export function deliveryLogRoutes(app: FastifyInstance, log: DeliveryLog, prefix = ''): void {
  deliveriesApi(app, { dispatcher: log }, prefix);
}

/**
 * The endpoints routes (list, one, settings, disable, enable, replay) under `prefix`: '' for /api/endpoints
 * (inside the api-key guarded context), '/admin' for the console's copy.
 */
export function endpointRoutes(app: FastifyInstance, dispatcher: EndpointsControl, prefix = ''): void {
  endpointsApi(app, dispatcher, prefix);
}
