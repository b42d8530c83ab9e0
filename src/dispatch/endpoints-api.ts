// The endpoints API: list, one endpoint, its settings (which also define an endpoint by URL prefix),
// disable, enable, and replay of its failed or parked deliveries. Same shapes as /api/deliveries.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HookhubError } from '../core/errors.js';
import { parseJsonInput } from '../core/json-input.js';
import { pageOf, pageQuery } from '../http/paging.js';
import { commonErrors, described, errorReply, inputSchema, pathParam } from '../http/openapi.js';
import { parseInput as parse } from '../http/validate.js';
import type { DeliveryQueue } from '../store/contracts/delivery-queue.js';
import type { EndpointSettings } from '../store/contracts/endpoints.js';
import { time } from './deliveries-api.js';
import { isOrigin, originOf } from './endpoint-id.js';
import type { EndpointControl } from './endpoints.js';
import { failedDeliveries } from './replay.js';

/** What the endpoints API needs of the dispatcher. */
export interface EndpointsControl {
  readonly store: DeliveryQueue;
  readonly endpoints: EndpointControl | undefined;
  retry(id: string): Promise<'queued' | 'in_flight' | 'not_found'>;
  /** store.unpark, told to the pool (what it makes due is older work than new deliveries). */
  unpark: DeliveryQueue['unpark'];
}

const MAX_SETTING = 1_000_000;
const setting = (name: string) =>
  z.number({ message: `${name} must be a number` }).int(`${name} must be a whole number`).min(0, `${name} must be 0 or more`)
    .max(MAX_SETTING, `${name} must be at most ${MAX_SETTING}`).optional();

const settingsBody = z.object({
  concurrency: setting('concurrency'),
  rate: setting('rate'),
  burst: setting('burst'),
}, { message: 'the body must be a JSON object' }).strict();

const replayQuery = z.object({
  status: z.enum(['failed', 'parked'], { message: 'status must be failed or parked' }).default('failed'),
  since: time('since').optional(),
  until: time('until').optional(),
});

/** An endpoint id from the path: an origin, or an http(s) URL prefix. */
function endpointId(raw: string): string {
  const origin = originOf(raw);
  if (!/^https?:\/\//i.test(raw) || origin === '' || origin === 'null') {
    throw new HookhubError('bad_request', 'an endpoint is an http(s) origin (https://host:port) or a URL prefix (https://host/path/)');
  }
  // https://host/ names the origin as well.
  return raw === `${origin}/` ? origin : raw;
}

function jsonBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  const parsed = parseJsonInput(body, 8);
  if (!parsed.ok) throw new HookhubError('bad_request', `the body must be JSON: ${parsed.reason}`);
  return parsed.value;
}

const endpointView = { description: 'An endpoint: its settings, limits in force, circuit and counts', type: 'object' };
const idParam = pathParam('id', 'an http(s) origin (https://host:port) or a URL prefix, URL-encoded');
const noControl = errorReply('Endpoint control is not running');
const describe = (summary: string, extra: Record<string, unknown>, ok: Record<string, unknown> = { 200: endpointView }) =>
  described({ tags: ['endpoints'], summary, params: idParam, ...extra, response: { ...ok, ...commonErrors, 404: errorReply('No such endpoint'), 503: noControl } });
const docs = {
  list: described({
    tags: ['endpoints'],
    summary: 'Endpoints by id, a page at a time',
    querystring: inputSchema(pageQuery),
    response: { 200: { description: 'A page; next_cursor when it is full', type: 'object', properties: { endpoints: { type: 'array', items: endpointView }, next_cursor: { type: 'string' } }, required: ['endpoints'] }, ...commonErrors },
  }),
  one: describe('One endpoint', {}),
  put: describe('Set an endpoint\'s limits (defines a URL-prefix endpoint)', {
    body: { content: { 'application/json': { schema: inputSchema(settingsBody) } } },
  }),
  remove: describe('Forget an endpoint\'s settings', {}, { 204: { description: 'Removed', type: 'null' } }),
  disable: describe('Disable an endpoint: its deliveries are parked', {}),
  enable: describe('Enable an endpoint: parked deliveries go out', {}),
  replay: describe('Resend an endpoint\'s failed (or parked) deliveries', { querystring: inputSchema(replayQuery) }, {
    202: { description: 'Queued again', type: 'object', properties: { queued: { type: 'integer' }, more: { type: 'boolean' } }, required: ['queued'] },
  }),
};

/** The routes under `prefix` ('' for /api/endpoints; the admin console mounts the same under /admin). */
export function endpointsApi(app: FastifyInstance, dispatcher: EndpointsControl, prefix = ''): void {
  const control = (): EndpointControl => {
    if (!dispatcher.endpoints) throw new HookhubError('unavailable', 'endpoint control is not running');
    return dispatcher.endpoints;
  };
  const known = (id: string): string => {
    if (!control().ids().includes(id)) throw new HookhubError('not_found', `no endpoint ${id} (none stored, no attempts here recently)`);
    return id;
  };

  app.get(`${prefix}/api/endpoints`, docs.list, async (req) => {
    const q = parse(pageQuery, req.query);
    const c = control();
    const page = pageOf(c.ids(), (id) => id, q);
    return { endpoints: page.items.map((id) => c.view(id)), ...(page.nextCursor !== undefined ? { next_cursor: page.nextCursor } : {}) };
  });

  app.get<{ Params: { id: string } }>(`${prefix}/api/endpoints/:id`, docs.one, async (req) => {
    await control().refresh();
    return control().view(known(endpointId(req.params.id)));
  });

  // Settings: an override of the defaults; for a URL prefix, the endpoint's definition as well.
  app.put<{ Params: { id: string } }>(`${prefix}/api/endpoints/:id`, docs.put, async (req) => {
    const id = endpointId(req.params.id);
    const body = parse(settingsBody, jsonBody(req.body));
    const settings: EndpointSettings = {};
    for (const key of ['concurrency', 'rate', 'burst'] as const) if (body[key] !== undefined) settings[key] = body[key];
    await control().setSettings(id, settings);
    return control().view(id);
  });

  app.delete<{ Params: { id: string } }>(`${prefix}/api/endpoints/:id`, docs.remove, async (req, reply) => {
    await control().remove(endpointId(req.params.id));
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>(`${prefix}/api/endpoints/:id/disable`, docs.disable, async (req) => {
    const id = endpointId(req.params.id);
    await control().disable(id);
    return control().view(id);
  });

  app.post<{ Params: { id: string } }>(`${prefix}/api/endpoints/:id/enable`, docs.enable, async (req) => {
    const id = endpointId(req.params.id);
    await control().enable(id);
    return control().view(id);
  });

  // Replay (within since/until by creation): failed deliveries of the endpoint get one more attempt; parked ones go
  // out now whatever the endpoint's state (they are parked again if it is still open or disabled).
  app.post<{ Params: { id: string } }>(`${prefix}/api/endpoints/:id/replay`, docs.replay, async (req, reply) => {
    const id = endpointId(req.params.id);
    const q = parse(replayQuery, req.query);
    const c = control();
    const inRange = (createdAt: number): boolean =>
      (q.since === undefined || createdAt >= q.since) && (q.until === undefined || createdAt <= q.until);
    if (q.status === 'parked') {
      const queued = await dispatcher.unpark((d) => c.endpointOf(d.url) === id && inRange(d.createdAt), Date.now());
      if (queued > 0) c.unparked();
      return reply.code(202).send({ queued });
    }
    const target = isOrigin(id) ? new URL(id).host : id;
    const { ids, more } = await failedDeliveries(dispatcher.store, {
      since: q.since ?? 0,
      until: q.until,
      target,
      accept: (d) => c.endpointOf(d.url) === id && inRange(d.createdAt),
    });
    let queued = 0;
    for (const deliveryId of ids) if ((await dispatcher.retry(deliveryId)) === 'queued') queued++;
    return reply.code(202).send({ queued, ...(more ? { more: true } : {}) });
  });
}
