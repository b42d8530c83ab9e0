// Hookbox's authorization rule, on every path that asks the application: a channel's `moderated`
// (true by default) is ORed with the action's own moderated_* option (false by default). An option
// set alone to false therefore skips nothing while `moderated` is on.
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload } from '../helpers/channels-app.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';

type Action = 'publish' | 'subscribe' | 'unsubscribe';

/** Each path, driven by a browser; resolves once the hub has handled it (allowed by the app). */
const paths: Record<string, { action: Action; run: (c: HookboxClient, channel: string) => Promise<void> }> = {
  'PUBLISH frame': {
    action: 'publish',
    run: async (c, channel) => {
      c.send('PUBLISH', { channel_name: channel, payload: 'hi' });
      await c.frame('PUBLISH');
    },
  },
  'SUBSCRIBE frame': { action: 'subscribe', run: async () => {} },
  'UNSUBSCRIBE frame': {
    action: 'unsubscribe',
    run: async (c, channel) => {
      c.send('UNSUBSCRIBE', { channel_name: channel });
      await c.frame('UNSUBSCRIBE');
    },
  },
  'last connection closing': {
    action: 'unsubscribe',
    run: async (c) => {
      c.close();
    },
  },
};

/** Channel options given by create_channel → whether each action is asked. */
const cases: Array<[Record<string, boolean>, Record<Action, boolean>]> = [
  [{}, { publish: true, subscribe: true, unsubscribe: true }],
  [{ moderated_publish: false }, { publish: true, subscribe: true, unsubscribe: true }],
  [{ moderated_subscribe: false }, { publish: true, subscribe: true, unsubscribe: true }],
  [{ moderated_unsubscribe: false }, { publish: true, subscribe: true, unsubscribe: true }],
  [{ moderated: false }, { publish: false, subscribe: false, unsubscribe: false }],
  [{ moderated: false, moderated_publish: true }, { publish: true, subscribe: false, unsubscribe: false }],
  [{ moderated: false, moderated_subscribe: true }, { publish: false, subscribe: true, unsubscribe: false }],
  [{ moderated: false, moderated_unsubscribe: true }, { publish: false, subscribe: false, unsubscribe: true }],
];

describe('moderated ORed with moderated_* (Hookbox), on every path', () => {
  for (const [pathName, path] of Object.entries(paths)) {
    for (const [options, asked] of cases) {
      it(`${pathName}, channel options ${JSON.stringify(options)}: ${path.action} ${asked[path.action] ? 'is' : 'is not'} asked`, async () => {
        const app = await ChannelsApp.start((call) => {
          if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
          if (call.action === 'create_channel') return [true, options];
          return [true, {}];
        });
        const hub = await startHub({ cbUrl: app.url });
        const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
        c.send('SUBSCRIBE', { channel_name: 'room' });
        await c.frame('SUBSCRIBE');
        await path.run(c, 'room');
        // Every path ends with the channel emptied or the user gone: wait for the last call the hub makes.
        if (pathName === 'last connection closing') await until(() => app.of('disconnect').length === 1, 'disconnect');
        else {
          c.close();
          await until(() => app.of('disconnect').length === 1, 'disconnect');
        }
        const calls = () => app.of(path.action).filter((call) => call.fields.channel_name === 'room');
        // A call made at a close is not awaited by anything the browser sees: wait for it when it is due.
        if (asked[path.action]) await until(() => calls().length > 0, `${path.action} callback`);
        expect(calls()).toHaveLength(asked[path.action] ? 1 : 0);
        if (asked[path.action]) expect(calls()[0]!.fields).toMatchObject({ channel_name: 'room', user: 'ann' });
      });
    }
  }

  it('a refusal on each moderated path is an ERROR only because moderated is on (moderated_* false alone)', async () => {
    const app = await ChannelsApp.start((call) => {
      if (call.action === 'connect') return [true, { name: nameFromPayload(call) }];
      if (call.action === 'create_channel') return [true, { moderated_publish: false, moderated_unsubscribe: false }];
      if (call.action === 'publish' || call.action === 'unsubscribe') return [false, { msg: `no ${call.action}` }];
      return [true, {}];
    });
    const hub = await startHub({ cbUrl: app.url });
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE');
    c.send('PUBLISH', { channel_name: 'room', payload: 'x' });
    expect((await c.frame('ERROR'))[2].msg).toBe('no publish');
    c.send('UNSUBSCRIBE', { channel_name: 'room' });
    expect((await c.frame('ERROR', (e) => e.msg === 'no unsubscribe'))[2].msg).toBe('no unsubscribe');
    expect(c.all('PUBLISH')).toHaveLength(0);
    expect(c.all('UNSUBSCRIBE')).toHaveLength(0);
  });
});
