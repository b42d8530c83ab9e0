// Closing a server with live channels: the channels close before the store does. Polling stops (no poll
// left under way), and the work the connections' leaves started — the destroy of a channel left empty
// (after the application's destroy_channel answer), server presence written into a persistent channel's
// state — ends against the open store: nothing is logged as an error, and nothing written is lost.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { startServer, type Hookhub } from '../../src/server.js';
import { ChannelsApp, nameFromPayload } from '../helpers/channels-app.js';
import { testConfig } from '../helpers/config.js';
import { captureLog } from '../helpers/log-capture.js';
import { openRedisStore, REDIS_URL, redisPrefix } from '../helpers/redis.js';
import { restAuth } from '../helpers/rest-key.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub, tempDir } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

async function rest(base: string, method: string, body: Record<string, unknown>): Promise<[boolean, Record<string, any>]> {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...restAuth }, body: JSON.stringify(body) });
  return (await res.json()) as [boolean, Record<string, any>];
}

const storeOf = (kind: 'sqlite' | 'redis'): Partial<Config> =>
  kind === 'sqlite' ? { store: 'sqlite', dataDir: tempDir() } : { store: 'redis', redisUrl: REDIS_URL, redisPrefix: redisPrefix() };

describe.each([['sqlite'], ['redis']] as const)('channels close before the store (%s)', (kind) => {
  it('polling stopped, the leaves’ destroys and state writes done, no error logged', async () => {
    // The application takes a while to answer destroy_channel: the destroy ends after it.
    const app = await ChannelsApp.start((call) =>
      call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : call.action === 'destroy_channel' ? { raw: '[true, {}]', delayMs: 300 } : [true, {}],
    );
    // A polled URL that answers nothing until its request goes away.
    const polled: Array<'open' | 'ended'> = [];
    const source = await Receiver.start((_req, res) => {
      const i = polled.push('open') - 1;
      res.on('close', () => (polled[i] = 'ended'));
    });
    const stored = storeOf(kind);
    const log = captureLog('info');
    const config = testConfig({ allowPrivateTargets: true, apiKey: 'rest-k3y', cbUrl: `${app.url}/hb`, ...stored });
    const hub: Hookhub = await startServer(config, { logger: log.logger });
    // What is still going on when the store closes.
    let atStoreClose: { polls: string[]; roomRecord: boolean } | undefined;
    const closeStore = hub.store.close.bind(hub.store);
    hub.store.close = async () => {
      atStoreClose = { polls: polled.slice(), roomRecord: (await hub.store.registry.get('room')) !== undefined };
      return closeStore();
    };

    expect(await rest(hub.url, 'create_channel', { channel_name: 'kept', persistent: true, server_presenceful: true, server_user_presence: ['alice'] })).toEqual([true, {}]);
    expect(await rest(hub.url, 'create_channel', { channel_name: 'feed', polling: { url: `${source.url}/feed`, interval: 60, mode: 'simple' } })).toEqual([true, {}]);
    await until(() => polled.length === 1, 'the first poll under way');
    for (const name of ['alice', 'bob']) {
      const c = await HookboxClient.connect(hub.url, { payload: { name } });
      c.send('SUBSCRIBE', { channel_name: 'room' });
      await c.frame('SUBSCRIBE', (a) => a.user === name);
    }
    expect((await rest(hub.url, 'get_channel_info', { channel_name: 'kept' }))[1].state).toEqual({ alice: true });

    await hub.close();
    expect(atStoreClose).toEqual({ polls: ['ended'], roomRecord: false });
    expect(app.of('destroy_channel').map((c) => c.fields.channel_name)).toEqual(['room']);
    expect(log.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);

    // What the close wrote is there for the next start.
    const again = await startHub({ apiKey: 'rest-k3y', ...stored });
    expect((await rest(again.url, 'get_channel_info', { channel_name: 'kept' }))[1].state).toEqual({ alice: false });
    if (kind === 'redis') {
      const store = await openRedisStore(100, stored.redisPrefix);
      try {
        expect(await store.registry.get('room')).toBeUndefined();
      } finally {
        await store.close();
      }
    }
  });
});
