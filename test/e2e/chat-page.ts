// The chat page as the e2e tests drive it, and the restart scenario both transports go through.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { startChatApp } from '../../examples/chat/server.mjs';
import { startHub, stopHub, tempDir } from '../helpers/server.js';
import { eventually, newPage } from './browser.js';

/** Opens the chat page in a fresh browser profile and enters as `name` (optionally with no WebSocket). */
export async function enter(url: string, name: string, options: { noWebSocket?: boolean } = {}) {
  const p = await newPage();
  if (options.noWebSocket) await p.page.addInitScript(() => Object.defineProperty(globalThis, 'WebSocket', { value: undefined }));
  await p.page.goto(url);
  await p.page.fill('#name', name);
  await p.page.click('#enter');
  await eventually(() => p.page.textContent('#status')).toMatch(new RegExp(`^connected as ${name} `));
  return p;
}

export const lines = (page: Page, kind?: string) =>
  page.$$eval(`#messages li${kind ? `[data-kind="${kind}"]` : ''}`, (els) => els.map((e) => e.textContent));
export const presence = (page: Page) => page.$$eval('#presence li', (els) => els.map((e) => e.textContent));

export async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.click('#send');
}

const SECRET = 'e2e-reconnect-secret';

/**
 * alice (over `transport`) and bob chat; alice's network goes away and the server restarts (sqlite
 * store, same port); bob comes back by himself and talks; alice's network returns: she reconnects,
 * resubscribes and gets what she missed, once.
 */
export async function restartScenario(transport: 'websocket' | 'sse'): Promise<void> {
  const app = await startChatApp({ port: 0, secret: SECRET });
  const dataDir = tempDir();
  const options = { store: 'sqlite' as const, dataDir, cbUrl: `${app.url}/hookbox`, cbSecret: SECRET, allowedOrigins: [app.url] };
  const first = await startHub(options);
  const port = Number(new URL(first.url).port);
  app.setHubUrl(first.url);

  const alice = await enter(app.url, 'alice', { noWebSocket: transport === 'sse' });
  const bob = await enter(app.url, 'bob');
  await say(alice.page, 'before the restart');
  await eventually(() => lines(bob.page, 'publish')).toEqual(['alice: before the restart']);
  await eventually(() => lines(alice.page, 'publish')).toEqual(['alice: before the restart']);

  // alice's network goes away, and the server restarts on the same port and data directory.
  await alice.context.setOffline(true);
  const connects = app.calls.filter((c) => c.action === 'connect').length;
  await stopHub(first);
  await eventually(() => bob.page.textContent('#status')).toBe('connection lost, reconnecting…');
  await eventually(() => alice.page.textContent('#status')).toBe('connection lost, reconnecting…');
  const second = await startHub({ ...options, port });

  // bob is back by himself (backoff), in the room again, and talks while alice cannot connect.
  // (A WebSocket attempt that fails just before the server is back may land on the HTTP fallback.)
  await eventually(() => bob.page.textContent('#status'), 15_000).toMatch(/^connected as bob \((websocket|sse)\)$/);
  await eventually(() => presence(bob.page)).toEqual(['bob (you)']);
  await say(bob.page, 'missed one');
  await say(bob.page, 'missed two');
  await eventually(() => lines(bob.page, 'publish')).toEqual(['alice: before the restart', 'bob: missed one', 'bob: missed two']);
  expect(await alice.page.textContent('#status')).toBe('connection lost, reconnecting…');
  expect(await lines(alice.page, 'publish')).toEqual(['alice: before the restart']);

  // alice's network returns: she reconnects, resubscribes and gets what she missed, once.
  await alice.context.setOffline(false);
  await eventually(() => alice.page.textContent('#status'), 20_000).toMatch(transport === 'sse' ? /^connected as alice \(sse\)$/ : /^connected as alice \((websocket|sse)\)$/);
  await eventually(() => lines(alice.page, 'publish')).toEqual(['alice: before the restart', 'bob: missed one', 'bob: missed two']);
  await eventually(() => presence(alice.page)).toEqual(['alice (you)', 'bob']);
  // Each page connected again through the application's connect callback.
  expect(app.calls.filter((c) => c.action === 'connect').length).toBeGreaterThanOrEqual(connects + 2);

  // Live again both ways after the recovery, with no duplicate.
  await say(alice.page, 'back');
  await eventually(() => lines(bob.page, 'publish')).toEqual(['alice: before the restart', 'bob: missed one', 'bob: missed two', 'alice: back']);
  await eventually(() => lines(alice.page, 'publish')).toEqual(['alice: before the restart', 'bob: missed one', 'bob: missed two', 'alice: back']);
  expect(second.url).toBe(first.url);
  expect(alice.errors).toEqual([]);
  expect(bob.errors).toEqual([]);
}
