// The graph example (examples/graph) in Chromium against a real Hookhub: the channel is fed by the
// hub polling the application; viewers receive every polled point, late viewers get the history.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startGraphApp } from '../../examples/graph/server.mjs';
import { startHub } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { eventually, newPage } from './browser.js';

const SECRET = 'e2e-graph-secret';

interface GraphPage {
  live: Array<{ t: number; value: number }>;
  points: Array<{ t: number; value: number }>;
}
const state = (page: Page) => page.evaluate(() => ({ live: (globalThis as unknown as GraphPage).live, points: (globalThis as unknown as GraphPage).points }));

describe('graph example in Chromium', () => {
  it('viewers receive the points the hub polls from the application', async () => {
    const app = await startGraphApp({ port: 0, secret: SECRET, interval: 0.2, points: 30 });
    const hub = await startHub({ cbUrl: `${app.url}/hookbox`, cbSecret: SECRET, allowedOrigins: [app.url] });
    app.setHubUrl(hub.url);

    const first = await newPage();
    await first.page.goto(app.url);
    await eventually(() => first.page.textContent('#status')).toBe('live (websocket)');
    // The first viewer made the hub create the channel, with polling, through create_channel.
    expect(app.calls.filter((c) => c.action === 'create_channel').map((c) => c.fields.channel_name)).toEqual(['graph']);

    const got = await until(async () => ((await state(first.page)).live.length >= 5 ? state(first.page) : undefined), 'five polled points', 15_000);
    // Every point the page received is one the application served, in order, none skipped.
    const served = app.served.map((p) => JSON.stringify(p));
    const start = served.indexOf(JSON.stringify(got.live[0]));
    expect(start).toBeGreaterThanOrEqual(0);
    expect(got.live.map((p) => JSON.stringify(p))).toEqual(served.slice(start, start + got.live.length));
    expect(Number(await first.page.textContent('#count'))).toBeGreaterThanOrEqual(5);
    const polyline = await first.page.getAttribute('#line', 'points');
    expect(polyline?.split(' ').length).toBeGreaterThanOrEqual(5);

    // A later viewer sees the graph at once from the channel history, then live points.
    const second = await newPage();
    await second.page.goto(app.url);
    await eventually(() => second.page.textContent('#status')).toBe('live (websocket)');
    const initial = (await state(second.page)).points.length;
    expect(initial).toBeGreaterThanOrEqual(5);
    await until(async () => (await state(second.page)).live.length >= 2, 'live points on the second page', 10_000);
    // The history-then-live sequence is a run of what was served, without a hole or a repeat.
    const run = (await state(second.page)).points.map((p) => JSON.stringify(p));
    const all = app.served.map((p) => JSON.stringify(p));
    const at = all.indexOf(run[0]!);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(run).toEqual(all.slice(at, at + run.length));

    // Browsers may not publish on this channel: the application's publish callback refuses.
    await second.page.evaluate(() => (globalThis as unknown as { conn: { publish(c: string, p: unknown): void } }).conn.publish('graph', 1));
    await eventually(() => second.page.textContent('#status')).toBe('error: this channel is fed by polling only');
    expect(first.errors).toEqual([]);
  });
});
