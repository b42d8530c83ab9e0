// The SSRF guard on every path that sends requests: /dispatch (_url, _errback, _callback), WebSub
// (hub.callback, hub.url) and channel polling, for an address in each special-purpose range of
// core/special-addresses.ts, with --allow-private-targets off. Also a name resolving to a private
// address through WebSub's verification (checked again when connecting).
import { describe, expect, it } from 'vitest';
import { SPECIAL_IPV4, SPECIAL_IPV6 } from '../../src/core/special-addresses.js';
import { dispatchForm, listDeliveries } from '../helpers/dispatch.js';
import { privateHostName } from '../helpers/private-host-name.js';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { hubPost, Subscriber } from '../helpers/websub.js';

const KEY = 'api-k3y';
const auth = { authorization: `Bearer ${KEY}` };

/** One address inside each range (the network address + 1), and the forms that carry an IPv4 inside. */
const samples: string[] = [
  ...SPECIAL_IPV4.map((r) => r.net.replace(/\d+$/, (n) => String(Number(n) + 1))),
  ...SPECIAL_IPV6.map((r) => `[${r.net}1]`),
  '[::ffff:10.0.0.1]', '[::ffff:a9fe:a9fe]', '[64:ff9b::7f00:1]', '[64:ff9b::a9fe:a9fe]', '[::ffff:0:7f00:1]', '[64:ff9b:1::808:808]',
];

const rest = async (base: string, method: string, body: Record<string, unknown>): Promise<[boolean, Record<string, any>]> => {
  const res = await fetch(`${base}/rest/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
  return (await res.json()) as [boolean, Record<string, any>];
};

describe('SSRF guard on every outgoing path', () => {
  it('refuses an address of every special-purpose range through /dispatch, WebSub and polling', async () => {
    const hub = await startHub({ allowPrivateTargets: false, apiKey: KEY });
    expect(await rest(hub.url, 'create_channel', { channel_name: 'feed' })).toEqual([true, {}]);
    for (const host of samples) {
      const url = `http://${host}:8080/x`;
      for (const field of ['_url', '_errback', '_callback']) {
        const fields = field === '_url' ? { _url: url } : { _url: 'https://example.com/', [field]: url };
        const res = await dispatchForm(hub.url, { ...fields, a: '1' }, auth);
        expect(res.status, `${field} ${host}`).toBe(400);
        expect(res.json.error).toMatch(/private or loopback/);
      }
      const sub = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': url, 'hub.topic': 'news' }, '/hub', auth);
      expect(sub.status, `hub.callback ${host}`).toBe(400);
      expect(sub.text).toMatch(/hub\.callback points to a private or loopback address/);
      const ping = await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': url }, '/hub', auth);
      expect(ping.status, `hub.url ${host}`).toBe(400);
      expect(ping.text).toMatch(/hub\.url points to a private or loopback address/);
      const [ok, answer] = await rest(hub.url, 'set_channel_options', { channel_name: 'feed', polling: { url, interval: 60, mode: 'simple' } });
      expect(ok, `polling ${host}`).toBe(false);
      expect(answer.msg).toMatch(/private or loopback/);
    }
    expect((await listDeliveries(hub.url, '', auth)).json.deliveries).toEqual([]);
    expect(await hub.store.subscriptions.list()).toEqual([]);
    expect(hub.channels.node.channels.get('feed')?.options.polling.url).toBe('');
  });

  it('WebSub: a callback whose name resolves to a private address is refused when connecting (verification fails, nothing reaches it)', async () => {
    const name = await privateHostName();
    const hub = await startHub({ allowPrivateTargets: false });
    const sub = await Subscriber.start();
    const callback = `http://${name}:${new URL(sub.url).port}/cb`;
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': callback, 'hub.topic': 'news' })).status).toBe(202);
    await until(async () => ((await hub.metrics.registry.getSingleMetricAsString('hookhub_websub_verifications_total')).includes('outcome="error"} 1') ? true : undefined), 'verification failed');
    expect(sub.receiver.received).toEqual([]);
    expect((await hub.store.subscriptions.list()).filter((s) => s.state === 'active')).toEqual([]);
  });
});

