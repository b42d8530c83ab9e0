// Every bad hub request gets a 4xx with a plain-text reason and creates nothing; failed verifications
// and denied topics leave no subscription.
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { hubPost, listSubscriptions, Publisher, Subscriber } from '../helpers/websub.js';

describe('WebSub hub: bad requests', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['missing hub.mode', { 'hub.callback': 'http://127.0.0.1:9/cb', 'hub.topic': 't' }, /hub\.mode is required/],
    ['unknown hub.mode', { 'hub.mode': 'subscribe-all', 'hub.callback': 'http://127.0.0.1:9/cb', 'hub.topic': 't' }, /unknown hub\.mode "subscribe-all"/],
    ['missing hub.topic', { 'hub.mode': 'subscribe', 'hub.callback': 'http://127.0.0.1:9/cb' }, /hub\.topic is required/],
    ['missing hub.callback', { 'hub.mode': 'subscribe', 'hub.topic': 't' }, /hub\.callback is required/],
    ['missing hub.callback on unsubscribe', { 'hub.mode': 'unsubscribe', 'hub.topic': 't' }, /hub\.callback is required/],
    ['ftp callback', { 'hub.mode': 'subscribe', 'hub.callback': 'ftp://127.0.0.1/cb', 'hub.topic': 't' }, /hub\.callback must use http or https, not ftp/],
    ['relative callback', { 'hub.mode': 'subscribe', 'hub.callback': '/cb', 'hub.topic': 't' }, /hub\.callback is not an absolute URL/],
    ['javascript callback', { 'hub.mode': 'subscribe', 'hub.callback': 'javascript:alert(1)', 'hub.topic': 't' }, /must use http or https/],
    ['secret of 200 bytes', { 'hub.mode': 'subscribe', 'hub.callback': 'http://127.0.0.1:9/cb', 'hub.topic': 't', 'hub.secret': 'x'.repeat(200) }, /hub\.secret must be shorter than 200 bytes/],
    ['secret of 200 UTF-8 bytes', { 'hub.mode': 'subscribe', 'hub.callback': 'http://127.0.0.1:9/cb', 'hub.topic': 't', 'hub.secret': 'é'.repeat(100) }, /hub\.secret must be shorter than 200 bytes/],
    ['lease not a number', { 'hub.mode': 'subscribe', 'hub.callback': 'http://127.0.0.1:9/cb', 'hub.topic': 't', 'hub.lease_seconds': 'soon' }, /hub\.lease_seconds must be a whole number/],
    ['topic too long', { 'hub.mode': 'subscribe', 'hub.callback': 'http://127.0.0.1:9/cb', 'hub.topic': 'x'.repeat(300) }, /topic longer than 256/],
    ['publish without url', { 'hub.mode': 'publish' }, /hub\.url \(or hub\.topic\) is required/],
    ['publish of a bare topic', { 'hub.mode': 'publish', 'hub.url': 'news' }, /hub\.url is not an absolute URL/],
    ['publish of a non-http url', { 'hub.mode': 'publish', 'hub.url': 'file:///etc/passwd' }, /hub\.url must use http or https/],
  ];

  it.each(cases)('%s → 400 with the reason, nothing created', async (_name, form, reason) => {
    const hub = await startHub();
    for (const path of ['/hub', '/subscribe', '/publish']) {
      const res = await hubPost(hub, form, path);
      expect(res.status).toBe(400);
      expect(res.type).toMatch(/^text\/plain/);
      expect(res.text).toMatch(reason);
    }
    expect(await listSubscriptions(hub)).toEqual([]);
  });

  it('refuses private and loopback callbacks and topic URLs without --allow-private-targets', async () => {
    const hub = await startHub({ allowPrivateTargets: false });
    for (const callback of ['http://127.0.0.1:9/cb', 'http://localhost:9/cb', 'http://10.1.2.3/cb', 'http://169.254.169.254/latest', 'http://[::1]:9/cb']) {
      const res = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': callback, 'hub.topic': 't' });
      expect(res.status, callback).toBe(400);
      expect(res.text).toMatch(/hub\.callback points to a private or loopback address.*--allow-private-targets/);
    }
    const publish = await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': 'http://127.0.0.1:9/feed' });
    expect(publish.status).toBe(400);
    expect(publish.text).toMatch(/hub\.url points to a private or loopback address/);
    expect(await listSubscriptions(hub)).toEqual([]);
  });

  it('refuses a non-form body with 415', async () => {
    const hub = await startHub();
    const res = await fetch(`${hub.url}/hub`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'hub.mode': 'subscribe' }),
    });
    expect(res.status).toBe(415);
    expect(await res.text()).toMatch(/application\/x-www-form-urlencoded/);
  });

  it('with --websub-require-https refuses hub.secret over an http callback, not without a secret', async () => {
    const hub = await startHub({ websubRequireHttps: true });
    const sub = await Subscriber.start();
    const refused = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 't', 'hub.secret': 'shh' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/hub\.secret is only accepted with an https hub\.callback/);
    const plain = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 't' });
    expect(plain.status).toBe(202);
    await until(async () => (await listSubscriptions(hub))[0]?.state === 'active', 'plain subscription active');
  });

  it('accepts a secret of 199 bytes', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    const res = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 't', 'hub.secret': 'x'.repeat(199) });
    expect(res.status).toBe(202);
    const [active] = await until(async () => {
      const rows = await listSubscriptions(hub);
      return rows[0]?.state === 'active' ? rows : undefined;
    }, 'active');
    expect(active?.signed).toBe(true);
  });
});

describe('WebSub hub: failed verification of intent', () => {
  const refusals: Array<[string, (challenge: string) => { status: number; body: string }]> = [
    ['answers 404', (c) => ({ status: 404, body: c })],
    ['answers 500 with the challenge', (c) => ({ status: 500, body: c })],
    ['echoes a wrong challenge', (c) => ({ status: 200, body: `${c}x` })],
    ['answers 200 with an empty body', () => ({ status: 200, body: '' })],
    ['answers a redirect', () => ({ status: 302, body: '' })],
  ];

  it.each(refusals)('callback that %s → subscription not created', async (_name, answer) => {
    const hub = await startHub();
    const sub = await Subscriber.start((q) => answer(q.get('hub.challenge') ?? ''));
    const res = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news' });
    expect(res.status).toBe(202);
    const [get] = await sub.waitGets(1);
    expect(get!.query.get('hub.mode')).toBe('subscribe');
    await until(async () => (await listSubscriptions(hub)).length === 0, 'pending subscription removed');
  });

  it('an unreachable callback → subscription not created', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    const url = sub.url;
    await sub.receiver.close();
    const res = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${url}/cb`, 'hub.topic': 'news' });
    expect(res.status).toBe(202);
    await until(async () => {
      const text = await (await fetch(`${hub.url}/metrics`)).text();
      return /hookhub_websub_verifications_total\{mode="subscribe",outcome="error"\} 1/.test(text);
    }, 'verification error counted');
    expect(await listSubscriptions(hub)).toEqual([]);
  });

  it('a failed resubscription leaves the active subscription as it was', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news', 'hub.lease_seconds': '600' });
    const [before] = await until(async () => {
      const rows = await listSubscriptions(hub);
      return rows[0]?.state === 'active' ? rows : undefined;
    }, 'active');
    sub.verifier = () => ({ status: 404, body: '' });
    await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': 'news', 'hub.lease_seconds': '900' });
    await sub.waitGets(2);
    const [after] = await until(async () => {
      const rows = await listSubscriptions(hub);
      return rows[0]?.pendingRequest === null ? rows : undefined;
    }, 'intent dropped');
    expect(after).toEqual(before);
  });
});

describe('WebSub hub: --websub-allow', () => {
  it('answers 202 then sends the denial GET for a refused topic; allowed patterns subscribe', async () => {
    const hub = await startHub({ websubAllow: ['https://example.com/*', 'news-*'] });
    const sub = await Subscriber.start();
    const denied = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb?who=me`, 'hub.topic': 'https://other.example/feed' });
    expect(denied.status).toBe(202);
    const [get] = await sub.waitGets(1);
    expect(get!.path).toBe('/cb');
    expect(get!.query.get('who')).toBe('me');
    expect(get!.query.get('hub.mode')).toBe('denied');
    expect(get!.query.get('hub.topic')).toBe('https://other.example/feed');
    expect(get!.query.get('hub.reason')).toMatch(/not allowed/);
    expect(get!.query.get('hub.challenge')).toBeNull();
    expect(await listSubscriptions(hub)).toEqual([]);

    for (const topic of ['news-sport', 'https://example.com/a/b']) {
      expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${sub.url}/cb`, 'hub.topic': topic })).status).toBe(202);
    }
    await until(async () => (await listSubscriptions(hub)).filter((s) => s.state === 'active').length === 2, 'two active');
    expect(sub.gets.filter((g) => g.query.get('hub.mode') === 'denied')).toHaveLength(1);

    const publish = await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': 'http://127.0.0.1:9/elsewhere' });
    expect(publish.status).toBe(403);
    expect(publish.text).toMatch(/topic not allowed/);
  });
});

describe('WebSub hub: publish fetch failures', () => {
  it('a topic URL answering 500 is retried, logged, and nothing is published', async () => {
    const hub = await startHub({ websubFetchRetry: [0, 50, 50] });
    const publisher = await Publisher.start();
    publisher.status = 500;
    const res = await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': publisher.topic() });
    expect(res.status).toBe(202);
    await until(() => publisher.fetches.length >= 3, 'three fetch attempts');
    await until(async () => {
      const text = await (await fetch(`${hub.url}/metrics`)).text();
      return /hookhub_websub_fetches_total\{outcome="failed"\} 3/.test(text);
    }, 'three failures counted');
    const history = await (await fetch(`${hub.url}/api/topics/${encodeURIComponent(publisher.topic())}/history`)).json();
    expect(history).toEqual({ messages: [] });
    expect(publisher.fetches).toHaveLength(3);
  });

  it('a fetch that times out is retried and then succeeds with the whole body', async () => {
    const hub = await startHub({ websubFetchRetry: [0, 50], deliveryTimeout: 300 });
    const publisher = await Publisher.start();
    let calls = 0;
    publisher.receiver.respond = (_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      if (calls === 1) res.write('half of it'); // then hangs: the body never completes
      else res.end('all of it');
    };
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': publisher.topic() })).status).toBe(202);
    const url = `${hub.url}/api/topics/${encodeURIComponent(publisher.topic())}/history`;
    const { messages } = await until(async () => {
      const body = (await (await fetch(url)).json()) as { messages: Array<{ data: unknown }> };
      return body.messages.length > 0 ? body : undefined;
    }, 'published after the retry');
    expect(messages.map((m) => m.data)).toEqual(['all of it']);
    expect(calls).toBe(2);
  });

  it('a body over --max-body is not published', async () => {
    const hub = await startHub({ websubFetchRetry: [0, 50], maxBody: 1024 });
    const publisher = await Publisher.start();
    publisher.body = Buffer.alloc(4096, 'a');
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': publisher.topic() })).status).toBe(202);
    await until(async () => {
      const text = await (await fetch(`${hub.url}/metrics`)).text();
      return /hookhub_websub_fetches_total\{outcome="failed"\} 1/.test(text);
    }, 'failure counted');
    const history = await (await fetch(`${hub.url}/api/topics/${encodeURIComponent(publisher.topic())}/history`)).json();
    expect(history).toEqual({ messages: [] });
    expect(publisher.fetches).toHaveLength(1); // too large is final: not retried
  });
});
