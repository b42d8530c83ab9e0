// The SSRF guard: URL checks at accept time, resolved-address checks at connect time.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { checkTargetUrl, createOutgoingAgent, guardedLookup, isPrivateAddress } from '../../../src/core/target-guard.js';

const servers: Array<{ close: () => void }> = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

describe('target guard', () => {
  it('classifies addresses', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::7f00:1', 'fec0::1', '2002:7f00:1::1']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:808:808']) expect(isPrivateAddress(ip), ip).toBe(false);
    expect(isPrivateAddress('not-an-ip')).toBe(true);
  });

  it('refuses bad schemes, malformed URLs and private literals unless allowed', () => {
    expect(() => checkTargetUrl('not a url', false)).toThrow(/not an absolute URL/);
    expect(() => checkTargetUrl('ftp://example.com/x', false)).toThrow(/http or https/);
    expect(() => checkTargetUrl('file:///etc/passwd', false)).toThrow(/http or https/);
    for (const url of ['http://127.0.0.1/', 'http://localhost:8080/', 'http://localhost./', 'http://LOCALHOST/', 'http://a.localhost/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/', 'http://2130706433/', 'http://169.254.169.254/latest/meta-data']) {
      expect(() => checkTargetUrl(url, false), url).toThrow(/private or loopback/);
      expect(checkTargetUrl(url, true).protocol).toBe('http:');
    }
    expect(checkTargetUrl('https://example.com/hook', false).hostname).toBe('example.com');
  });

  it('guardedLookup refuses a name that resolves to a private address', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guardedLookup('localhost', {}, (e) => resolve(e)));
    expect(err?.code).toBe('EPRIVATETARGET');
    const all = await new Promise<NodeJS.ErrnoException | null>((resolve) => guardedLookup('localhost', { all: true }, (e) => resolve(e)));
    expect(all?.code).toBe('EPRIVATETARGET');
  });

  it('the guarded agent refuses at connect time a host name resolving to loopback; the open agent connects', async () => {
    const server = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    const guarded = createOutgoingAgent({ allowPrivate: false });
    const open = createOutgoingAgent({ allowPrivate: true });
    try {
      const refused = await request(`http://localhost:${port}/`, { dispatcher: guarded }).then(() => null, (e: NodeJS.ErrnoException) => e);
      expect(refused?.code).toBe('EPRIVATETARGET');
      const ok = await request(`http://localhost:${port}/`, { dispatcher: open });
      expect(await ok.body.text()).toBe('reached');
    } finally {
      await guarded.close();
      await open.close();
    }
  });
});
