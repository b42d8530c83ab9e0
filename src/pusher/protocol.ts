// Pusher protocol 7 frames: what a connection sends and how a received frame is read.
// Every frame is a JSON object {event, channel?, data?}; the server's `data` is a JSON string except on
// pusher:error and pusher:subscription_error, where Pusher sends an object.
import { isRecord } from '../core/is-record.js';
import { parseJsonInput } from '../core/json-input.js';

export const PROTOCOL_VERSION = 7;

/** pusher:error codes. 4000–4099: the connection is closed and the client must not reconnect as it was. */
export const ERROR = {
  /** Unknown app key. */
  appUnknown: 4001,
  /** Protocol version not supported. */
  protocol: 4007,
  /** pusher:signin refused, or a terminated user: closed. */
  unauthorized: 4009,
  /** A frame not understood (the connection stays open). */
  badFrame: 4200,
  /** A client event refused (not enabled, wrong channel type, not subscribed, over the rate limit). */
  clientEvent: 4301,
  /** Too many subscriptions on one connection. */
  subscriptionLimit: 4302,
} as const;

/** Client events a connection may send per second, as Pusher allows (more are refused with 4301 and dropped). */
export const CLIENT_EVENTS_PER_SECOND = 10;

/** Pusher's channel names: 1–164 of A–Z a–z 0–9 _ - = @ , . ; (so `<app_id>/<channel>` fits a topic name). */
const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;

export const isChannelName = (name: unknown): name is string => typeof name === 'string' && CHANNEL_NAME.test(name);

export type ChannelKind = 'public' | 'private' | 'presence' | 'encrypted';

export function kindOf(channel: string): ChannelKind {
  if (channel.startsWith('private-encrypted-')) return 'encrypted';
  if (channel.startsWith('private-')) return 'private';
  if (channel.startsWith('presence-')) return 'presence';
  return 'public';
}

/** A frame as the client sent it: `data` is an object or a string (client events may send either). */
export interface ClientFrame {
  event: string;
  channel?: string;
  data: unknown;
}

/**
 * The frame, or why it is not one. JSON nested deeper than `maxDepth` (--max-json-depth) is refused here:
 * it parses, but breaks every later JSON.stringify (a client event's data, a member's user_info).
 */
export function readFrame(text: string, maxDepth: number): ClientFrame | string {
  const parsed = parseJsonInput(text, maxDepth);
  if (!parsed.ok) return parsed.kind === 'malformed' ? 'frame is not JSON' : `frame refused: ${parsed.reason}`;
  const v = parsed.value;
  if (!isRecord(v)) return 'frame is not a JSON object';
  if (typeof v.event !== 'string' || v.event === '') return 'frame has no event name';
  if (v.channel !== undefined && typeof v.channel !== 'string') return 'channel is not a string';
  const frame: ClientFrame = { event: v.event, data: v.data };
  if (typeof v.channel === 'string') frame.channel = v.channel;
  return frame;
}

/** The data of a pusher:* frame as an object: pusher-js sends one; some clients send its JSON text. */
export function dataObject(data: unknown, maxDepth: number): Record<string, unknown> | undefined {
  if (isRecord(data)) return data;
  return typeof data === 'string' ? jsonObject(data, maxDepth) : undefined;
}

/** JSON text from a client (channel_data, user_data, data given as text) as an object, within the depth limit. */
export function jsonObject(text: string, maxDepth: number): Record<string, unknown> | undefined {
  const parsed = parseJsonInput(text, maxDepth);
  return parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
}

/** A frame the server sends; `data` goes as JSON text unless raw (an object, for error frames). */
export function frame(event: string, data: unknown, channel?: string, extra?: Record<string, unknown>): Buffer {
  const out: Record<string, unknown> = { event };
  if (channel !== undefined) out.channel = channel;
  out.data = typeof data === 'string' ? data : JSON.stringify(data);
  if (extra) Object.assign(out, extra);
  return Buffer.from(JSON.stringify(out));
}

export function errorFrame(code: number, message: string): Buffer {
  return Buffer.from(JSON.stringify({ event: 'pusher:error', data: { code, message } }));
}

export function subscriptionError(channel: string, type: string, error: string, status: number): Buffer {
  return Buffer.from(JSON.stringify({ event: 'pusher:subscription_error', channel, data: { type, error, status } }));
}
