import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, pusherAppsOf, readConfigFile, readEnv, resolveConfig } from '../../src/config.js';
import { tempDir } from '../helpers/server.js';

describe('config: Pusher apps', () => {
  it('has none by default', () => {
    expect(pusherAppsOf(resolveConfig())).toEqual([]);
  });

  it('takes one app from the HOOKHUB_PUSHER_* environment', () => {
    const env = readEnv({
      HOOKHUB_PUSHER_APP_ID: '42', HOOKHUB_PUSHER_KEY: 'app-key', HOOKHUB_PUSHER_SECRET: 's3cret',
      HOOKHUB_PUSHER_CLIENT_EVENTS: '1', HOOKHUB_PUSHER_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', HOOKHUB_PUSHER_SUBSCRIPTION_COUNT: '1',
    });
    expect(pusherAppsOf(resolveConfig(env))).toEqual([
      { id: '42', key: 'app-key', secret: 's3cret', clientEvents: true, webhookUrl: 'http://127.0.0.1:9/hooks', subscriptionCount: true },
    ]);
  });

  it('takes several apps from the config file, after the one of the options', () => {
    const file = join(tempDir(), 'hookhub.yaml');
    writeFileSync(file, [
      'pusherApps:',
      '  - {id: a1, key: k1, secret: s1}',
      '  - {id: a2, key: k2, secret: s2, clientEvents: true, webhookUrl: "http://127.0.0.1:9/w", subscriptionCount: true}',
    ].join('\n'));
    const c = resolveConfig(readConfigFile(file), { 'pusher-app-id': '1', 'pusher-key': 'k0', 'pusher-secret': 's0' });
    expect(pusherAppsOf(c).map((a) => [a.id, a.key, a.clientEvents, a.webhookUrl, a.subscriptionCount === true])).toEqual([
      ['1', 'k0', false, undefined, false], ['a1', 'k1', false, undefined, false], ['a2', 'k2', true, 'http://127.0.0.1:9/w', true],
    ]);
  });

  it.each([
    [{ 'pusher-app-id': '1' }, /--pusher-app-id.*go together/],
    [{ 'pusher-app-id': '1', 'pusher-key': 'k', 'pusher-secret': '' }, /go together/],
    [{ 'pusher-apps': '[{"id":"a","key":"k"}]' }, /--pusher-apps/],
    [{ 'pusher-apps': 'not json' }, /--pusher-apps.*JSON list/],
    [{ 'pusher-apps': '[{"id":"a/b","key":"k","secret":"s"}]' }, /--pusher-apps.*app id/],
    [{ 'pusher-apps': '[{"id":"a","key":"k","secret":"s"},{"id":"a","key":"k2","secret":"s"}]' }, /two apps have the id a/],
    [{ 'pusher-apps': '[{"id":"a","key":"k","secret":"s","extra":1}]' }, /--pusher-apps/],
  ])('refuses %j', (flags, message) => {
    expect(() => pusherAppsOf(resolveConfig(flags))).toThrow(ConfigError);
    expect(() => pusherAppsOf(resolveConfig(flags))).toThrow(message);
  });
});
