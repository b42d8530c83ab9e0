// URLs in log lines lose their query strings (callback tokens, signed topic links): a failed
// verification, a denial, a failed topic fetch and the delivery attempts of a WebSub subscription.
import { expect, it } from 'vitest';
import { captureLog } from '../helpers/log-capture.js';
import { testConfig } from '../helpers/config.js';
import { startServer } from '../../src/server.js';
import { until } from '../helpers/wait.js';
import { hubPost, Publisher, Subscriber, subscribeActive } from '../helpers/websub.js';

it('WebSub and dispatcher log lines name callbacks and topics without their query strings', async () => {
  const { logger, lines, raw } = captureLog();
  const config = testConfig({ allowPrivateTargets: true, retrySchedule: [0], websubFetchRetry: [0], websubAllow: ['news', 'http://127.0.0.1:*'] });
  const hub = await startServer(config, { logger });
  const logged = (msg: string): Promise<Record<string, unknown>> =>
    until(() => lines.find((l) => l.msg === msg), `a "${msg}" log line`);
  try {
    // A verification the callback refuses.
    const refusing = await Subscriber.start(() => ({ status: 404, body: '' }));
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${refusing.url}/cb?token=SECRET-VERIFY`, 'hub.topic': 'news' })).status).toBe(202);
    const failed = await logged('websub verification of intent failed');
    expect(failed.callback).toBe(`${refusing.url}/cb?…`);

    // A denial (topic outside --websub-allow).
    const denied = await Subscriber.start();
    expect((await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': `${denied.url}/cb?token=SECRET-DENY`, 'hub.topic': 'other' })).status).toBe(202);
    expect((await logged('websub subscription denied')).callback).toBe(`${denied.url}/cb?…`);

    // A topic fetch that fails, its URL signed in the query string.
    const publisher = await Publisher.start();
    publisher.status = 500;
    expect((await hubPost(hub, { 'hub.mode': 'publish', 'hub.url': `${publisher.topic()}?sig=SECRET-TOPIC` })).status).toBe(202);
    expect((await logged('websub topic fetch failed')).topic).toBe(`${publisher.topic()}?…`);

    // Deliveries to a callback with a token: the dispatcher's attempt line.
    const subscriber = await Subscriber.start();
    await subscribeActive(hub, `${subscriber.url}/cb?token=SECRET-DELIVER`, 'news');
    expect((await fetch(`${hub.url}/api/topics/news/publish`, { method: 'POST', body: 'hi' })).status).toBe(202);
    await subscriber.waitNotifications(1);
    expect((await logged('webhook attempt')).url).toBe(`${subscriber.url}/cb?…`);
    expect((await logged('websub intent verified')).callback).toBe(`${subscriber.url}/cb?…`);

    expect(raw.join('')).not.toContain('SECRET');
  } finally {
    await hub.close();
  }
});
