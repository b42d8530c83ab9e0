// Pages written for Hookbox 0.3.3 and 0.3.4, loading /static/hookbox.js from a real Hookhub in
// Chromium: both connect signatures, hookbox.logging, the datetime they format themselves, string
// payloads shown as sent, publishing without subscribing, onOpen/onSubscribed arguments, and
// onConnectionLost on a lost connection (the client reconnects) versus onClose when it is over.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHub, stopHub } from '../helpers/server.js';
import type { Hookhub } from '../../src/server.js';
import { eventually, newPage } from './browser.js';
import { chatPage, startPageApp } from './hookbox-pages.js';

const SECRET = 'e2e-pages-secret';
const lines = (page: Page) => page.$$eval('#history .line', (els) => els.map((e) => e.textContent ?? ''));
const global = <T>(page: Page, name: string) => page.evaluate((n) => (globalThis as unknown as Record<string, unknown>)[n], name) as Promise<T>;
/** "h:mm:ss user: payload", the time as the page formats it. */
const TIMED = (user: string, payload: string) => new RegExp(`^\\d{1,2}:\\d\\d:\\d\\d ${user}: ${payload.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

describe('Hookbox pages in Chromium', () => {
  it('0.3.3 and 0.3.4 connect calls, logging, datetime, string payloads, publishing without subscribing', async () => {
    let hub: Hookhub | undefined;
    const app = await startPageApp(() => hub!.url, {
      // Hookbox 0.3.3: connect(url, cookieString); frame logging turned on as php_graph does.
      alice: chatPage(`hookbox.connect('{{HUB}}', 'user=alice')`, true, true),
      // Hookbox 0.3.4: connect(url, connectPayload, cookieString); this page never subscribes.
      bob: chatPage(`hookbox.connect('{{HUB}}', { name: 'bob' }, 'user=bob; lang=en')`, false),
    }, 'seen=1; Path=/');
    hub = await startHub({ cbUrl: `${app.url}/hb`, cbSecret: SECRET, allowedOrigins: [app.url] });

    const alice = await newPage();
    await alice.page.goto(`${app.url}/alice`);
    await eventually(() => alice.page.textContent('#status')).toBe('open as alice');
    await eventually(() => global<{ history_size: number } | null>(alice.page, 'subscribedArgs')).toMatchObject({ channel_name: 'chat', user: 'alice', history_size: 10, presence: ['alice'] });
    // The 0.3.3 cookie string reached the application's connect callback.
    expect(app.calls.find((c) => c.action === 'connect')).toMatchObject({ cookie: 'user=alice', fields: { payload: 'null' } });

    const bob = await newPage();
    await bob.page.goto(`${app.url}/bob`);
    await eventually(() => bob.page.textContent('#status')).toBe('open as bob');
    // 0.3.4: the payload and the cookie string both arrived; onOpen got CONNECTED's arguments.
    expect(app.calls.filter((c) => c.action === 'connect')[1]).toMatchObject({ cookie: 'user=bob; lang=en', fields: { payload: '{"name":"bob"}' } });
    expect(await global<unknown[]>(bob.page, 'opened')).toEqual([{ name: 'bob', payload: { name: 'bob' } }]);

    // Strings go out and come back as strings, the time formatted by the page from the frame's datetime.
    await alice.page.evaluate(() => (globalThis as unknown as { conn: { publish(c: string, p: unknown): void } }).conn.publish('chat', 'hello from alice'));
    await eventually(() => lines(alice.page)).toHaveLength(1);
    expect((await lines(alice.page))[0]).toMatch(TIMED('alice', 'hello from alice'));
    // bob publishes where he is not subscribed (Hookbox allows it), and hears nothing himself.
    await bob.page.evaluate(() => (globalThis as unknown as { conn: { publish(c: string, p: unknown): void } }).conn.publish('chat', 'bob says "hi"'));
    await eventually(() => lines(alice.page)).toHaveLength(2);
    expect((await lines(alice.page))[1]).toMatch(TIMED('bob', 'bob says "hi"'));
    expect(await lines(bob.page)).toEqual([]);
    expect(app.calls.filter((c) => c.action === 'publish').map((c) => c.fields.payload)).toEqual(['"hello from alice"', '"bob says \\"hi\\""']);

    // hookbox.logging: alice's page asked for frame logs at DEBUG; bob's did not.
    expect(alice.console.some((l) => l.includes('net.protocols.rtjp') && l.includes('frameReceived'))).toBe(true);
    expect(bob.console.some((l) => l.includes('net.protocols.rtjp'))).toBe(false);
    expect(await bob.page.evaluate(() => {
      const h = (globalThis as unknown as { hookbox: { logging: { DEBUG: number; LOG: number; INFO: number; WARN: number; ERROR: number } } }).hookbox;
      return [h.logging.DEBUG, h.logging.LOG, h.logging.INFO, h.logging.WARN, h.logging.ERROR];
    })).toEqual([1, 2, 3, 4, 5]);

    // The application's Set-Cookie reached both pages (SET_COOKIE) without an error.
    expect(await bob.page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toContain('seen=1');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });

  it('onConnectionLost when the server goes (then onOpen again), onClose only when the connection is over', async () => {
    let hub: Hookhub | undefined = undefined;
    const app = await startPageApp(() => hub!.url, { carol: chatPage(`hookbox.connect('{{HUB}}', { name: 'carol' })`, true) });
    hub = await startHub({ cbUrl: `${app.url}/hb`, cbSecret: SECRET, allowedOrigins: [app.url] });
    const port = Number(new URL(hub.url).port);
    const carol = await newPage();
    await carol.page.goto(`${app.url}/carol`);
    await eventually(() => carol.page.textContent('#status')).toBe('open as carol');
    // The SUBSCRIBE answer follows CONNECTED (after the app's create_channel and subscribe callbacks).
    await eventually(() => global<unknown>(carol.page, 'subscribedArgs')).toMatchObject({ channel_name: 'chat', user: 'carol' });

    await stopHub(hub);
    await eventually(() => global<string[]>(carol.page, 'lost')).toEqual(['ServerClosedConnection']);
    expect(await global<number>(carol.page, 'closes')).toBe(0);

    hub = await startHub({ port, cbUrl: `${app.url}/hb`, cbSecret: SECRET, allowedOrigins: [app.url] });
    await eventually(() => global<unknown[]>(carol.page, 'opened').then((o) => o.length), 20_000).toBe(2);
    expect(await global<number>(carol.page, 'closes')).toBe(0);

    await carol.page.evaluate(() => (globalThis as unknown as { conn: { disconnect(): void } }).conn.disconnect());
    await eventually(() => global<number>(carol.page, 'closes')).toBe(1);
    expect(await global<string[]>(carol.page, 'lost')).toEqual(['ServerClosedConnection']);
    expect(carol.errors).toEqual([]);
  });
});
