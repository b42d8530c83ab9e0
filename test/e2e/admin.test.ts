// The /admin console in Debian's Chromium against a real Hookhub: sign in with Basic credentials,
// read the live overview, publish from the form and find the message in the topic's history, kick a user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { Receiver } from '../helpers/receiver.js';

const PASSWORD = 'e2e-admin-password';

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
});

const text = (page: Page, selector: string) => page.textContent(selector).then((t) => t?.trim() ?? '');
const stat = (page: Page, key: string) => text(page, `.card[data-stat="${key}"] .value`);
/** Polls the page until `probe` returns the expected value (the page refreshes on its own). */
const eventually = (probe: () => Promise<string>, expected: string | RegExp, what: string) =>
  until(async () => {
    const value = await probe().catch(() => '');
    return typeof expected === 'string' ? value === expected : expected.test(value);
  }, what, 10_000, 50);

describe('admin console in Chromium', () => {
  it('overview, publish from the form, the message in the topic history, channel options editor, kick a user', async () => {
    const hub = await startHub({ adminPassword: PASSWORD });
    for (const n of [1, 2]) {
      const res = await fetch(`${hub.url}/api/topics/warmup/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
      expect(res.status).toBe(202);
    }
    const dora = await HookboxClient.connect(hub.url, { payload: { name: 'dora' } });
    dora.send('SUBSCRIBE', { channel_name: 'lobby' });
    await dora.frame('SUBSCRIBE');

    // Without credentials the browser gets the 401 challenge, not the page (headless Chromium fails the navigation).
    const anonymous = await browser.newContext();
    await expect((await anonymous.newPage()).goto(`${hub.url}/admin`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();

    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORD }, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('dialog', (dialog) => void dialog.accept());
    expect((await page.goto(`${hub.url}/admin`))?.status()).toBe(200);

    // 2 on warmup, and dora joining lobby puts channel.occupied and channel.member_added on hookhub.endpoints.
    await eventually(() => stat(page, 'published'), '4', 'overview: 4 messages published');
    expect(await stat(page, 'topics')).toBe('2');
    expect(await stat(page, 'users')).toBe('1');
    expect(await stat(page, 'connections')).toBe('1');
    expect(await stat(page, 'store')).toBe('memory');

    // Publish from the form; the page links to the topic's history, which shows the message.
    await page.click('button[data-tab="publish"]');
    await page.fill('#publish-topic', 'e2e-news');
    await page.fill('#publish-type', 'application/json');
    await page.fill('#publish-body', '{"headline": "<b>from the browser</b>"}');
    await page.click('#publish-submit');
    await eventually(() => text(page, '#publish-result'), /^Published to e2e-news at offset 1\./, 'publish result');
    await page.click('#publish-view');
    await eventually(() => text(page, '#topic-detail h3'), 'Topic e2e-news', 'topic detail');
    expect(await text(page, '#topic-detail')).not.toMatch(/null|undefined/);
    await eventually(() => text(page, '#topic-detail tr.message'), /"headline": "<b>from the browser<\/b>"/, 'the message in the history');
    // Rendered as text, not markup.
    expect(await page.$$eval('#topic-detail b', (els) => els.length)).toBe(0);
    await eventually(() => text(page, '#topics-list'), /e2e-news/, 'topic listed');
    const history = (await (await fetch(`${hub.url}/api/topics/e2e-news/history`)).json()) as { messages: Array<{ data: unknown }> };
    expect(history.messages.map((m) => m.data)).toEqual([{ headline: '<b>from the browser</b>' }]);
    await page.screenshot({ path: '/tmp/admin.png', fullPage: true });

    // The overview keeps itself up to date (every 2 s).
    await page.click('button[data-tab="overview"]');
    await eventually(() => stat(page, 'published'), '5', 'overview refreshed to 5 messages');

    // Edit a channel's options in the JSON editor.
    await page.click('button[data-tab="channels"]');
    await page.click('#channels-list tbody tr');
    await eventually(() => page.inputValue('#channel-options'), /"history_size": 0/, 'options editor');
    const options = JSON.parse(await page.inputValue('#channel-options')) as Record<string, unknown>;
    await page.fill('#channel-options', JSON.stringify({ ...options, history_size: 7 }, null, 2));
    await page.click('#channel-save');
    await eventually(() => text(page, '#channel-detail .status'), 'saved', 'options saved');
    expect(hub.channels.node.channels.get('lobby')?.options.history_size).toBe(7);
    await page.fill('#channel-options', '{"history_size": "lots"}');
    await page.click('#channel-save');
    await eventually(() => text(page, '#channel-detail .status'), /history_size must be a number/, 'refusal shown');

    // Kick the WebSocket user from the users tab.
    await page.click('button[data-tab="users"]');
    await eventually(() => text(page, '#users-list'), /dora/, 'dora listed');
    await page.click('#users-list button.danger');
    expect((await dora.closed()).code).toBe(1008);
    await eventually(() => text(page, '#users-list'), 'No connected users.', 'dora gone');
    await page.screenshot({ path: '/tmp/admin-users.png' });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the Endpoints tab: an endpoint with its state and success rate, disable and enable, a prefix defined from the form', async () => {
    const hub = await startHub({ adminPassword: PASSWORD, retrySchedule: [0] });
    const receiver = await Receiver.start();
    const sent = await fetch(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_url=${encodeURIComponent(`${receiver.url}/hook`)}` });
    expect(sent.status).toBe(202);
    await receiver.waitFor(1);
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORD }, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${hub.url}/admin#endpoints`);
    const row = `#endpoints-list tr[data-endpoint="${receiver.url}"]`;
    await eventually(() => text(page, row), /closed.*100%/, 'the endpoint listed, closed, 100% success');
    await page.click(`${row} button.disable`);
    await eventually(() => text(page, row), /disabled\s*manual/, 'the endpoint disabled');
    await page.click(`${row} button.enable`);
    await eventually(() => text(page, row), /closed/, 'the endpoint enabled');
    // Disabled, a delivery parks; the replay form releases it (status parked, since an hour ago): it is
    // parked again (still disabled), and goes once enabled.
    await page.click(`${row} button.disable`);
    await eventually(() => text(page, row), /disabled/, 'disabled again');
    const parked = await fetch(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_url=${encodeURIComponent(`${receiver.url}/p`)}` });
    const parkedId = ((await parked.json()) as { id: string }).id;
    await until(async () => ((await (await fetch(`${hub.url}/api/deliveries/${parkedId}`)).json()) as { parked?: boolean }).parked === true || undefined, 'the delivery parked');
    await page.click(`${row} button:has-text("Edit")`);
    await page.selectOption('#replay-status', 'parked');
    await page.fill('#replay-since', new Date(Date.now() - 3_600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 19));
    await page.click('#replay-submit');
    await eventually(() => text(page, '#notice'), 'deliveries queued again: 1', 'the replay done');
    await page.click(`${row} button.enable`);
    await receiver.waitFor(2);
    await page.fill('#endpoint-id', `${receiver.url}/slow/`);
    await page.fill('#endpoint-concurrency', '2');
    await page.click('#endpoint-save');
    await eventually(() => text(page, `#endpoints-list tr[data-endpoint="${receiver.url}/slow/"]`), /prefix.*2 at once/, 'the prefix endpoint listed');
    await page.screenshot({ path: '/tmp/admin-endpoints.png', fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the Deliveries tab pages past the newest 100 and searches by id and endpoint', async () => {
    const hub = await startHub({ adminPassword: PASSWORD, retrySchedule: [0] });
    const a = await Receiver.start();
    const b = await Receiver.start();
    const batch = (url: string, n: number) => fetch(`${hub.url}/dispatch`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ _url: url, i }))),
    }).then(async (r) => ((await r.json()) as { ids: string[] }).ids);
    const first = await batch(`${a.url}/a`, 101);
    const [onB] = await batch(`${b.url}/b`, 1);
    await a.waitFor(101);
    await b.waitFor(1);
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORD }, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${hub.url}/admin#deliveries`);
    const rows = () => page.$$eval('#deliveries-list tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-id') ?? ''));
    await until(async () => (await rows()).length === 100 || undefined, 'the newest 100 deliveries');
    await page.click('#deliveries-older');
    await until(async () => {
      const older = await rows();
      return older.length === 2 && older[0] === first[1] && older[1] === first[0] ? true : undefined;
    }, 'the 2 older deliveries');
    await page.click('#deliveries-newest');
    await page.fill('#delivery-endpoint', b.url);
    await page.click('#delivery-search-submit');
    await until(async () => JSON.stringify(await rows()) === JSON.stringify([onB]) || undefined, 'the endpoint search');
    await page.fill('#delivery-endpoint', '');
    await page.fill('#delivery-id', first[50] as string);
    await page.click('#delivery-search-submit');
    await until(async () => JSON.stringify(await rows()) === JSON.stringify([first[50]]) || undefined, 'the id search');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('tabs follow the #fragment and Back, every tab refreshes by itself, times carry their zone, deliveries readable at 420 px, a favicon', async () => {
    const hub = await startHub({ adminPassword: PASSWORD, retrySchedule: [0] });
    const receiver = await Receiver.start();
    const dispatch = () => fetch(`${hub.url}/dispatch`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_url=${encodeURIComponent(`${receiver.url}/a-rather-long/path/to/the/receiver/of/this/hook`)}&n=1` });
    expect((await dispatch()).status).toBe(202);
    await receiver.waitFor(1);

    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 420, height: 800 },
      timezoneId: 'Asia/Kolkata', // UTC+05:30 all year: a zone no time could be mistaken in
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${hub.url}/admin#deliveries`);
    const visible = () => page.$$eval('main > section', (els) => els.filter((e) => !e.hasAttribute('hidden')).map((e) => e.id).join(','));
    await eventually(visible, 'deliveries', 'the tab of the #fragment');
    const row = '#deliveries-list tbody tr';
    await eventually(() => text(page, `${row} td:first-child`), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30$/, 'the time with its offset');

    // 420 px: the table scrolls sideways in its box; the URL column keeps a readable width (not a letter per line).
    const url = await page.$eval(`${row} td.url`, (td) => ({ width: td.getBoundingClientRect().width, height: td.getBoundingClientRect().height }));
    expect(url.width).toBeGreaterThan(200);
    expect(url.height).toBeLessThan(120);
    const wrap = await page.$eval('#deliveries-list .table-wrap', (d) => ({ client: d.clientWidth, scroll: d.scrollWidth }));
    expect(wrap.client).toBeLessThanOrEqual(420);
    expect(wrap.scroll).toBeGreaterThan(wrap.client);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(420);
    await page.screenshot({ path: '/tmp/admin-deliveries-420.png', fullPage: true });

    // The deliveries tab refreshes by itself: a new delivery appears without a click.
    expect((await dispatch()).status).toBe(202);
    await until(async () => (await page.$$(row)).length === 2 || undefined, 'the new delivery listed by the refresh');
    // So does the topics tab.
    await page.click('button[data-tab="topics"]');
    await eventually(visible, 'topics', 'the topics tab');
    expect(await page.evaluate<string>('location.hash')).toBe('#topics');
    await fetch(`${hub.url}/api/topics/appeared-later/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    await eventually(() => text(page, '#topics-list'), /appeared-later/, 'the new topic listed by the refresh');

    // Tabs are history entries: Back returns to the previous tab; a changed #fragment selects its tab.
    await page.click('button[data-tab="endpoints"]');
    await eventually(visible, 'endpoints', 'the endpoints tab');
    await page.goBack();
    await eventually(visible, 'topics', 'Back: the topics tab');
    expect(await text(page, '#tabs button.active')).toBe('Topics');
    await page.goBack();
    await eventually(visible, 'deliveries', 'Back again: the deliveries tab');
    await page.goForward();
    await eventually(visible, 'topics', 'Forward: the topics tab');
    await page.evaluate("location.hash = '#users'");
    await eventually(visible, 'users', 'a #fragment set by hand');
    await page.evaluate("location.hash = '#no-such-tab'");
    await eventually(visible, 'overview', 'an unknown #fragment: the overview');

    // A channel's history carries Hookbox's zone-less server time: shown as server time, not shifted.
    await hub.channels.node.createChannel('news', { history_size: 5 });
    const ada = await HookboxClient.connect(hub.url, { payload: { name: 'ada' } });
    ada.send('SUBSCRIBE', { channel_name: 'news' });
    await ada.frame('SUBSCRIBE');
    ada.send('PUBLISH', { channel_name: 'news', payload: { text: 'hi' } });
    await ada.frame('PUBLISH');
    await page.click('button[data-tab="channels"]');
    await page.click('#channels-list tbody tr:has-text("news")');
    await eventually(() => text(page, '#channel-detail tbody tr:has-text("PUBLISH") td:nth-child(3)'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(server time\)$/, 'the history time as server time');
    ada.close();

    // A favicon the browser decodes (no 404 in the console).
    const favicon = await fetch(`${hub.url}/favicon.ico`);
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get('content-type')).toBe('image/x-icon');
    const decoded = "(async () => { const img = new Image(); img.src = '/favicon.ico'; await img.decode(); return img.naturalWidth + 'x' + img.naturalHeight; })()";
    expect(await page.evaluate<string>(decoded)).toBe('16x16');
    expect(errors).toEqual([]);
    await context.close();
  });
});
