import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfigFile, readEnv, resolveConfig } from '../../src/config.js';
import { tempDir } from '../helpers/server.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = resolveConfig();
    expect(c).toMatchObject({
      port: 8080, host: '127.0.0.1', store: 'sqlite', dataDir: './data', redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'hookhub:', allowPrivateTargets: false, historySize: 100, maxBody: 1024 * 1024, heartbeat: 15_000,
      leaseDefault: 10 * 86_400_000, leaseMin: 60_000, leaseMax: 30 * 86_400_000, cbTimeout: 5000, deliveryTimeout: 15_000,
    });
    expect(c.retrySchedule).toBeUndefined();
  });

  it('layers file < env < flags', () => {
    const dir = tempDir();
    const file = join(dir, 'hookhub.yaml');
    writeFileSync(file, 'port: 1111\nhost: 0.0.0.0\nhistory-size: 7\nallowPrivateTargets: true\n');
    const env = readEnv({ HOOKHUB_PORT: '2222', HOOKHUB_HISTORY_SIZE: '9', HOOKHUB_ALLOW_PRIVATE_TARGETS: '0' });
    const c = resolveConfig(readConfigFile(file), env, { port: '3333' });
    expect(c.port).toBe(3333);
    expect(c.historySize).toBe(9);
    expect(c.host).toBe('0.0.0.0');
    expect(c.allowPrivateTargets).toBe(false);
  });

  it('reads JSON files and parses units', () => {
    const file = join(tempDir(), 'c.json');
    writeFileSync(file, JSON.stringify({ 'max-body': '2mb', heartbeat: '500ms', 'retry-schedule': '0s,5s,5m' }));
    const c = resolveConfig(readConfigFile(file));
    expect(c.maxBody).toBe(2 * 1024 * 1024);
    expect(c.heartbeat).toBe(500);
    expect(c.retrySchedule).toEqual([0, 5000, 300_000]);
  });

  it.each([
    [{ port: 'eighty' }, '--port'],
    [{ port: '70000' }, '--port'],
    [{ store: 'mongo' }, '--store'],
    [{ 'max-body': 'huge' }, '--max-body'],
    [{ 'retry-schedule': '1s,soon' }, '--retry-schedule'],
    [{ 'allow-private-targets': 'maybe' }, '--allow-private-targets'],
    [{ 'lease-min': '40d' }, '--lease-min'],
    [{ 'redis-url': 'not a url' }, '--redis-url'],
    [{ 'delivery-threads': '17' }, '--delivery-threads'],
    [{ 'header-timeout': '40s', 'request-timeout': '30s' }, '--header-timeout'],
    [{ 'idle-timeout': '0' }, '--idle-timeout'],
    [{ 'max-subscriptions': '0' }, '--max-subscriptions'],
    [{ 'websub-pending-per-host': '0' }, '--websub-pending-per-host'],
    [{ 'history-max-bytes': 'lots' }, '--history-max-bytes'],
    [{ 'max-json-depth': '0' }, '--max-json-depth'],
    [{ 'max-json-depth': '1001' }, '--max-json-depth'],
  ])('names the option of a bad value %j', (layer, option) => {
    expect(() => resolveConfig(layer)).toThrow(ConfigError);
    expect(() => resolveConfig(layer)).toThrow(option);
  });

  it('refuses an unknown key in the file, naming it', () => {
    const file = join(tempDir(), 'c.json');
    writeFileSync(file, JSON.stringify({ port: 1, colour: 'blue' }));
    expect(() => readConfigFile(file)).toThrow(/unknown option "colour"/);
  });
});
