// What the Pusher HTTP API accepts, once: zod schemas that check requests (first problem → a clear 400),
// and the JSON Schemas the routes declare for OpenAPI, derived from them so the two cannot drift.
// Limits are Pusher's: channel names of 1–164 of A-Z a-z 0-9 _ - = @ , . ;, event names up to 200
// characters, up to 100 channels per event and 10 events per batch, data up to 10 KB (a 413 past it).
import { z } from 'zod';
import { HookhubError } from '../core/errors.js';

export const MAX_CHANNEL_NAME = 164;
export const MAX_EVENT_NAME = 200;
export const MAX_CHANNELS_PER_EVENT = 100;
export const MAX_BATCH_EVENTS = 10;
/** Pusher's limit on one event's data: 10 KB. */
export const MAX_EVENT_DATA_BYTES = 10_240;
export const MAX_USER_ID = 200;

const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;
export const PRESENCE_PREFIX = 'presence-';

export const isPresence = (channel: string): boolean => channel.startsWith(PRESENCE_PREFIX);

const channelName = z.string({ message: 'a channel name must be a string' })
  .min(1, 'a channel name must not be empty')
  .max(MAX_CHANNEL_NAME, `a channel name is at most ${MAX_CHANNEL_NAME} characters`)
  .regex(CHANNEL_NAME, 'a channel name is made of A-Z a-z 0-9 _ - = @ , . ;');

const eventName = z.string({ message: 'name must be a string' })
  .min(1, 'name must not be empty')
  .max(MAX_EVENT_NAME, `name is at most ${MAX_EVENT_NAME} characters`)
  .refine((n) => !n.startsWith('pusher:') && !n.startsWith('pusher_internal:'), 'event names starting with pusher: or pusher_internal: are reserved');

const socketId = z.string({ message: 'socket_id must be a string' }).regex(/^\d{1,20}\.\d{1,20}$/, 'socket_id must look like 1234.5678');

/** `info`: a comma list of attributes to report for the channels an event went to. */
const infoList = z.string({ message: 'info must be a comma-separated string' })
  .transform((s, ctx) => {
    const items = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
    for (const item of items) {
      if (item !== 'subscription_count' && item !== 'user_count') {
        ctx.addIssue({ code: 'custom', message: `info: unknown attribute ${item} (subscription_count, user_count)` });
        return z.NEVER;
      }
    }
    return [...new Set(items)] as Array<'subscription_count' | 'user_count'>;
  });

const data = z.string({ message: 'data must be a string (JSON-encode objects first, as the Pusher SDKs do)' });

export const triggerBody = z.object({
  name: eventName,
  data,
  channels: z.array(channelName, { message: 'channels must be a list of channel names' })
    .min(1, 'channels must name at least one channel')
    .max(MAX_CHANNELS_PER_EVENT, `an event goes to at most ${MAX_CHANNELS_PER_EVENT} channels`)
    .optional(),
  channel: channelName.optional(),
  socket_id: socketId.optional(),
  info: infoList.optional(),
}).refine((b) => (b.channels === undefined) !== (b.channel === undefined), 'give either channels or channel');

export const batchBody = z.object({
  batch: z.array(z.object({
    name: eventName,
    data,
    channel: channelName,
    socket_id: socketId.optional(),
    info: infoList.optional(),
  }), { message: 'batch must be a list of events' })
    .min(1, 'batch must hold at least one event')
    .max(MAX_BATCH_EVENTS, `a batch holds at most ${MAX_BATCH_EVENTS} events`),
});

export const channelsQuery = z.object({
  filter_by_prefix: z.string().optional(),
  info: infoList.optional(),
});

export const channelQuery = z.object({ info: infoList.optional() });

export const channelParams = z.object({ appId: z.string(), channelName });

export const userParams = z.object({
  appId: z.string(),
  userId: z.string().min(1, 'a user id must not be empty').max(MAX_USER_ID, `a user id is at most ${MAX_USER_ID} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'a user id contains control characters'),
});

/** Refuses an event whose data is larger than Pusher's 10 KB (413, as Pusher answers). */
export function checkDataSize(d: string, where = ''): void {
  const bytes = Buffer.byteLength(d, 'utf8');
  if (bytes > MAX_EVENT_DATA_BYTES) {
    throw new HookhubError('too_large', `${where}data is ${bytes} bytes; an event's data is at most ${MAX_EVENT_DATA_BYTES} bytes (10 KB)`);
  }
}

/** The signature parameters every request carries (documented on each route; checked in request-signature.ts). */
const authQuery = z.object({
  auth_key: z.string().describe('the app key'),
  auth_timestamp: z.string().describe('seconds since the epoch, within 600 s of the server clock'),
  auth_version: z.literal('1.0').optional(),
  auth_signature: z.string().describe('hex HMAC-SHA256 (app secret) of METHOD\\npath\\nsorted query'),
  body_md5: z.string().optional().describe('hex MD5 of the body (POST)'),
});

/** A JSON Schema for a route, as Fastify and OpenAPI take it (no $schema key). */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** A route's querystring: its own parameters and the signature ones. */
export const querySchema = (own?: z.ZodObject): Record<string, unknown> => jsonSchema(own ? authQuery.extend(own.shape) : authQuery);

const countsSchema = z.object({ subscription_count: z.number().int().optional(), user_count: z.number().int().optional() });
const errorSchema = z.object({ error: z.string(), code: z.string().optional() });

/** Response schemas: 200 as documented by Pusher; errors as Hookhub answers them. */
export const responses = {
  trigger: z.object({ channels: z.record(z.string(), countsSchema).optional() }),
  batch: z.object({ batch: z.array(countsSchema).optional() }),
  channels: z.object({ channels: z.record(z.string(), countsSchema) }),
  channel: z.object({ occupied: z.boolean(), subscription_count: z.number().int().optional(), user_count: z.number().int().optional() }),
  users: z.object({ users: z.array(z.object({ id: z.string() })) }),
  empty: z.object({}),
  error: errorSchema,
};
