// Signatures a connection presents: channel authorization (private-, presence-, private-encrypted-) and
// user authentication (pusher:signin), each `<key>:<hex HMAC-SHA256(secret, string)>`, compared in constant time.
import { createHmac } from 'node:crypto';
import { secretEquals } from '../http/auth.js';
import type { PusherApp } from './contracts.js';

export function sign(app: PusherApp, text: string): string {
  return `${app.key}:${createHmac('sha256', app.secret).update(text).digest('hex')}`;
}

/** The `auth` of a subscription: over `socket_id:channel`, plus `:channel_data` for presence channels. */
export function channelAuthValid(app: PusherApp, socketId: string, channel: string, auth: unknown, channelData?: string): boolean {
  if (typeof auth !== 'string') return false;
  const text = channelData !== undefined ? `${socketId}:${channel}:${channelData}` : `${socketId}:${channel}`;
  return secretEquals(auth, sign(app, text));
}

/** The `auth` of pusher:signin: over `socket_id::user::user_data`. */
export function userAuthValid(app: PusherApp, socketId: string, userData: string, auth: unknown): boolean {
  return typeof auth === 'string' && secretEquals(auth, sign(app, `${socketId}::user::${userData}`));
}
