import { describe, expect, it } from 'vitest';
import { captureLog } from '../../helpers/log-capture.js';
import { testConfig } from '../../helpers/config.js';
import { exposureWarning, isLoopbackHost } from '../../../src/http/exposure.js';
import { startServer } from '../../../src/server.js';

describe('exposure warning', () => {
  it.each(['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', 'api.localhost', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])(
    '%s is loopback',
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  it.each(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1', '::ffff:10.0.0.1', '::2'])('%s is not loopback', (host) =>
    expect(isLoopbackHost(host)).toBe(false),
  );

  it('warns only for a bind beyond loopback without --api-key', () => {
    expect(exposureWarning('127.0.0.1', undefined)).toBeUndefined();
    expect(exposureWarning('0.0.0.0', 'k')).toBeUndefined();
    expect(exposureWarning('0.0.0.0', undefined)).toMatch(/^listening on 0\.0\.0\.0 with no --api-key/);
  });

  it('a server bound to 0.0.0.0 with no key logs the warning once, and serves', async () => {
    const { logger, lines } = captureLog('warn');
    const hub = await startServer(testConfig({ host: '0.0.0.0' }), { logger });
    try {
      const port = new URL(hub.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(lines.filter((l) => String(l.msg).startsWith('listening on 0.0.0.0 with no --api-key'))).toHaveLength(1);
    } finally {
      await hub.close();
    }
  });
});
