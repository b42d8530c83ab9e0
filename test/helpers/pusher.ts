// The Pusher ecosystem's own libraries against a running Hookhub: pusher-js clients (Node build) and the
// `pusher` server SDK (channel authorization, user authentication, triggers).
import PusherJs from 'pusher-js';
import PusherServer from 'pusher';
import type { Hookhub } from '../../src/server.js';
import { until } from './wait.js';

// pusher-js is CommonJS: at run time its default import is the class; its types describe an ES module.
export const Pusher = PusherJs as unknown as typeof PusherJs.default;
export type Pusher = InstanceType<typeof PusherJs.default>;

export const APP = { id: '1001', key: 'app-key', secret: 'app-secret' };

/** Options giving a hub the test app (client events on unless said). */
export function pusherOptions(app: { id: string; key: string; secret: string; clientEvents?: boolean } = APP): Record<string, unknown> {
  return { pusherAppId: app.id, pusherKey: app.key, pusherSecret: app.secret, pusherClientEvents: app.clientEvents ?? true };
}

/** A hub in this process or a spawned one: only its URL matters. */
export type HubAddress = Pick<Hookhub, 'url'>;

const portOf = (hub: HubAddress): number => Number(new URL(hub.url).port);

/** The server SDK pointed at the hub (its HTTP API) and signing with the app's secret. */
export function serverSdk(hub: HubAddress, app = APP): PusherServer {
  return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(portOf(hub)), useTLS: false });
}

const opened: Pusher[] = [];

/** Disconnects every client a test opened. */
export function disconnectAll(): void {
  for (const p of opened.splice(0)) p.disconnect();
}

/**
 * A pusher-js client as an app builds it, authorizing channels (and signin) with the server SDK as the
 * app's backend would; `user` is the presence member (channel_data) and the signed-in user.
 */
export function client(hub: HubAddress, options: { app?: typeof APP; user?: { id: string; info?: Record<string, unknown> }; key?: string } = {}): Pusher {
  const app = options.app ?? APP;
  const sdk = new PusherServer({ appId: app.id, key: app.key, secret: app.secret, cluster: 'mt1' });
  const user = options.user;
  const p = new Pusher(options.key ?? app.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: portOf(hub),
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      endpoint: 'unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) => {
        const presence = channelName.startsWith('presence-') && user ? { user_id: user.id, user_info: user.info ?? {} } : undefined;
        callback(null, sdk.authorizeChannel(socketId, channelName, presence));
      },
    },
    userAuthentication: {
      endpoint: 'unused',
      transport: 'ajax',
      customHandler: ({ socketId }, callback) => {
        callback(null, sdk.authenticateUser(socketId, { id: user?.id ?? 'anonymous', ...(user?.info ?? {}) }));
      },
    },
  });
  opened.push(p);
  return p;
}

/** Resolves once the client is connected (its socket_id known). */
export async function connected(p: Pusher): Promise<string> {
  await until(() => p.connection.state === 'connected', 'pusher-js connected');
  return p.connection.socket_id;
}

/** Subscribes and resolves with subscription_succeeded's data (rejects on subscription_error). */
export function subscribed(p: Pusher, channel: string): Promise<unknown> {
  const ch = p.subscribe(channel);
  return new Promise((resolve, reject) => {
    ch.bind('pusher:subscription_succeeded', (data: unknown) => resolve(data));
    ch.bind('pusher:subscription_error', (err: unknown) => reject(Object.assign(new Error('subscription_error'), { data: err })));
  });
}

/** Collects the events a channel gets (all of them, bind_global), in order. */
export function collect(p: Pusher, channel: string): Array<{ event: string; data: unknown }> {
  const got: Array<{ event: string; data: unknown }> = [];
  p.channel(channel)?.bind_global((event: string, data: unknown) => {
    if (!event.startsWith('pusher:')) got.push({ event, data });
  });
  return got;
}
