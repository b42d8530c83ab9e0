// The SSRF guard on a real server with --allow-private-targets off: literals refused at once,
// a host name resolving to a private address refused when connecting (DNS rebinding).
import { describe, expect, it } from 'vitest';
import { privateHostName } from '../helpers/private-host-name.js';
import { startHub } from '../helpers/server.js';
import { Receiver } from '../helpers/receiver.js';
import { dispatchForm, dispatchJson, listDeliveries, waitForStatus } from '../helpers/dispatch.js';


describe('dispatch: SSRF guard', () => {
  it('refuses loopback and private literals at once, in every spelling', async () => {
    const hub = await startHub({ allowPrivateTargets: false });
    const rx = await Receiver.start();
    const port = new URL(rx.url).port;
    for (const host of ['127.0.0.1', 'localhost', 'localhost.', '[::1]', '[::ffff:127.0.0.1]', '0x7f.0.0.1', '2130706433', '10.0.0.1', '169.254.169.254']) {
      const res = await dispatchForm(hub.url, { _url: `http://${host}:${port}/`, a: '1' });
      expect(res.status, host).toBe(400);
      expect(res.json.error).toMatch(/private or loopback/);
    }
    const errback = await dispatchForm(hub.url, { _url: 'https://example.com/', _errback: `${rx.url}/e`, a: '1' });
    expect(errback.status).toBe(400);
    expect(errback.json.error).toMatch(/_errback points to a private or loopback address/);
    expect((await listDeliveries(hub.url)).json.deliveries).toEqual([]);
    expect(rx.received).toEqual([]);
  });

  it('refuses at connect time a name that resolves to a private address, and does not retry it', async () => {
    const name = await privateHostName();
    const hub = await startHub({ allowPrivateTargets: false, retrySchedule: [0, 20, 20] });
    const rx = await Receiver.start();
    const port = new URL(rx.url).port;
    const { status, json } = await dispatchJson(hub.url, { _url: `http://${name}:${port}/`, a: 1 });
    expect(status).toBe(202);
    const d = await waitForStatus(hub.url, json.id!, 'failed');
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]!.status).toBeNull();
    expect(d.attempts[0]!.error).toMatch(/resolves to private address/);
    expect(rx.received).toEqual([]);
  });

  it('with --allow-private-targets the same name is delivered', async () => {
    const name = await privateHostName();
    const hub = await startHub({ allowPrivateTargets: true });
    const rx = await Receiver.start();
    const port = new URL(rx.url).port;
    const { json } = await dispatchJson(hub.url, { _url: `http://${name}:${port}/`, a: 1 });
    await waitForStatus(hub.url, json.id!, 'succeeded');
    expect(rx.received).toHaveLength(1);
  });
});
