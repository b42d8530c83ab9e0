// What the parts of the Pusher front door agree on: an app, how a Pusher event sits in a topic message,
// what the HTTP API asks of the connections (on every node), and the events its webhooks report.
//   socket.ts … the WebSocket side (/app/<key>): implements ChannelDirectory, emits PusherLifecycleEvent
//   http-api.ts … the HTTP API (/apps/<app_id>/…): publishes through Topics, asks a ChannelDirectory
//   webhooks.ts … the PusherWebhooks sink: batches, delays and sends events through the dispatcher
import type { Message, NewMessage } from '../core/message.js';

/** One Pusher app (--pusher-app-id/-key/-secret…, or one entry of `pusherApps` in the config file). */
export interface PusherApp {
  id: string;
  key: string;
  secret: string;
  /** client-* events from connections on private and presence channels. */
  clientEvents: boolean;
  /** Where this app's webhooks go (none when unset). */
  webhookUrl?: string;
  /** pusher_internal:subscription_count to the subscribers of public and private channels when their count changes. */
  subscriptionCount?: boolean;
}

/** A Pusher channel is the topic `<app_id>/<channel>`: each app reaches only the topics under its own prefix. */
export const topicOf = (app: PusherApp, channel: string): string => `${app.id}/${channel}`;

/** The channel a topic is to an app, or undefined when the topic is not under the app's prefix. */
export function channelOf(app: PusherApp, topic: string): string | undefined {
  const prefix = `${app.id}/`;
  return topic.startsWith(prefix) && topic.length > prefix.length ? topic.slice(prefix.length) : undefined;
}

/** A Pusher event as a topic message carries it (see envelope): `data` is Pusher's data string. */
export interface PusherEvent {
  event: string;
  data: string;
  /** The connection the event leaves out (HTTP API `socket_id`, or a client event's sender), on every node. */
  socketId?: string;
  /** The sender's user_id: client events on presence channels. */
  userId?: string;
}

/** The content type of a message that is a Pusher event (its JSON body: {event, data, socket_id?, user_id?}). */
export const PUSHER_EVENT_TYPE = 'application/json';

/**
 * The topic message of a Pusher event: JSON `{"event": …, "data": …}` (plus `socket_id`, `user_id` when set), so
 * /stream, /sse, WebSub and Hookbox consumers of the topic see the event name and its data.
 */
export function envelope(e: PusherEvent): NewMessage {
  const body: Record<string, string> = { event: e.event, data: e.data };
  if (e.socketId !== undefined) body.socket_id = e.socketId;
  if (e.userId !== undefined) body.user_id = e.userId;
  return { contentType: PUSHER_EVENT_TYPE, body: Buffer.from(JSON.stringify(body)) };
}

/**
 * The Pusher event a topic message is, whoever published it: a JSON object with a string `event` is an
 * event (its `data` kept as a string, a non-string value as its JSON text); any other message (a /topics
 * publish, a Hookbox PUBLISH) is the event `message` whose data is the body as text.
 */
export function eventOf(m: Message): PusherEvent {
  const text = m.body.toString('utf8');
  if (/json/i.test(m.contentType)) {
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (typeof o.event === 'string' && o.event !== '') {
          const e: PusherEvent = { event: o.event, data: typeof o.data === 'string' ? o.data : JSON.stringify(o.data ?? null) };
          if (typeof o.socket_id === 'string') e.socketId = o.socket_id;
          if (typeof o.user_id === 'string') e.userId = o.user_id;
          return e;
        }
      }
    } catch {
      // not JSON after all: the text below
    }
  }
  return { event: 'message', data: text };
}

/** A channel as the HTTP API reports it, counted over every node. */
export interface ChannelCounts {
  name: string;
  /** Connections subscribed. */
  subscriptionCount: number;
  /** Distinct users: presence channels only. */
  userCount?: number;
}

/** What the HTTP API asks of an app's connections, across every node of a cluster. */
export interface ChannelDirectory {
  /** Occupied channels of the app, optionally only those starting with `prefix`. */
  channels(app: PusherApp, prefix?: string): Promise<ChannelCounts[]>;
  /** One channel; subscriptionCount 0 when nobody is subscribed. */
  channel(app: PusherApp, name: string): Promise<ChannelCounts>;
  /** The user ids of a presence channel's members. */
  users(app: PusherApp, channel: string): Promise<string[]>;
  /** Closes every connection signed in as `userId` (pusher:signin), on every node. */
  terminateUser(app: PusherApp, userId: string): Promise<void>;
}

/** What a Pusher webhook reports (Pusher's event names and fields). */
export type PusherLifecycleEvent =
  | { name: 'channel_occupied'; channel: string }
  | { name: 'channel_vacated'; channel: string }
  | { name: 'member_added'; channel: string; user_id: string }
  | { name: 'member_removed'; channel: string; user_id: string }
  | { name: 'client_event'; channel: string; event: string; data: string; socket_id: string; user_id?: string };

/**
 * Where the WebSocket side reports lifecycle events, once per cluster-wide change (the first
 * subscription anywhere occupies a channel, the last one anywhere vacates it). The sink delays
 * channel_vacated and member_removed and drops them when the channel or member comes back in time.
 */
export interface PusherWebhookSink {
  emit(app: PusherApp, event: PusherLifecycleEvent): void;
}
