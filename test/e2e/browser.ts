// Debian's Chromium driven by playwright-core (never a downloaded browser), closed after each file.
import { existsSync } from 'node:fs';
import { afterAll, afterEach, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CLIENT_SCRIPT } from '../../src/channels/client-route.js';

// The pages load /hookbox.js from the hub, which serves client/dist (built by `npm test`'s pretest).
if (!existsSync(CLIENT_SCRIPT)) throw new Error(`${CLIENT_SCRIPT} is missing: run \`npm run build:client\` first (npm test does)`);

export const CHROMIUM = process.env.HOOKHUB_CHROMIUM ?? '/usr/bin/chromium';

let browser: Browser | undefined;
const contexts = new Set<BrowserContext>();
// Pages go before the servers they talk to (this file is imported after test/helpers/server.ts, so
// its afterEach runs first), so that no page is left reconnecting to a closing server.
afterEach(async () => {
  await Promise.all([...contexts].map((c) => c.close().catch(() => {})));
  contexts.clear();
});
afterAll(async () => {
  await browser?.close();
  browser = undefined;
});

export async function launch(): Promise<Browser> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return browser;
}

/** A fresh browser profile (own cookies) with one page; page errors are collected, console too. */
export async function newPage(): Promise<{ context: BrowserContext; page: Page; errors: string[]; console: string[] }> {
  const context = await (await launch()).newContext();
  contexts.add(context);
  const page = await context.newPage();
  const errors: string[] = [];
  const console: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => console.push(`${msg.type()}: ${msg.text()}`));
  return { context, page, errors, console };
}

/** expect.poll with a timeout fit for a loaded machine (vitest's default is 1 s). */
export const eventually = <T>(probe: () => T | Promise<T>, timeout = 10_000) => expect.poll(probe, { timeout, interval: 50 });
