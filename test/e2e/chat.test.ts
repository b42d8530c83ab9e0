// The chat example (examples/chat) in Chromium against a real Hookhub: two people see each other's
// messages and presence, one of them over the HTTP fallback; history for late comers, reflection,
// the application's rewrite and refusal of publishes, private messages, leaving.
import { describe, expect, it } from 'vitest';
import { startChatApp } from '../../examples/chat/server.mjs';
import { startHub } from '../helpers/server.js';
import { eventually, newPage } from './browser.js';
import { enter, lines, presence, say } from './chat-page.js';

const SECRET = 'e2e-chat-secret';

async function chatSetup() {
  const app = await startChatApp({ port: 0, secret: SECRET });
  const hub = await startHub({ cbUrl: `${app.url}/hookbox`, cbSecret: SECRET, allowedOrigins: [app.url] });
  app.setHubUrl(hub.url);
  return { app, hub };
}

describe('chat example in Chromium', () => {
  it('two people see each other: presence, messages (WebSocket and HTTP fallback), history, private messages', async () => {
    const { app } = await chatSetup();
    const alice = await enter(app.url, 'alice');
    expect(await alice.page.textContent('#status')).toBe('connected as alice (websocket)');
    const bob = await enter(app.url, 'bob', { noWebSocket: true });
    expect(await bob.page.textContent('#status')).toBe('connected as bob (sse)');

    // Presence, both ways; alice sees bob join.
    await eventually(() => presence(alice.page)).toEqual(['alice (you)', 'bob']);
    await eventually(() => presence(bob.page)).toEqual(['alice', 'bob (you)']);
    expect(await lines(alice.page, 'presence')).toEqual(['bob joined']);

    // A message reaches both (reflection: the sender sees it too).
    await say(alice.page, 'hello from alice');
    await eventually(() => lines(bob.page, 'publish')).toEqual(['alice: hello from alice']);
    await eventually(() => lines(alice.page, 'publish')).toEqual(['alice: hello from alice']);

    // The application rewrites (trims) what bob says over the fallback, and refuses an empty message.
    await say(bob.page, '   hi alice   ');
    await eventually(() => lines(alice.page, 'publish')).toEqual(['alice: hello from alice', 'bob: hi alice']);
    await eventually(() => lines(bob.page, 'publish')).toEqual(['alice: hello from alice', 'bob: hi alice']);
    await say(bob.page, '    ');
    await eventually(() => lines(bob.page, 'error')).toEqual(['error: empty message']);

    // Private messages reach the recipient, and the sender's own connections.
    await say(alice.page, '/msg bob psst');
    await eventually(() => lines(bob.page, 'private')).toEqual(['(private) alice → you: psst']);
    await eventually(() => lines(alice.page, 'private')).toEqual(['(private) you → bob: psst']);

    // A late comer gets the history first, then live messages.
    const carol = await enter(app.url, 'carol');
    await eventually(() => lines(carol.page, 'publish')).toEqual(['alice: hello from alice', 'bob: hi alice']);
    expect(await lines(carol.page, 'history')).toEqual(['alice joined', 'bob joined']);
    await eventually(() => presence(carol.page)).toEqual(['alice', 'bob', 'carol (you)']);

    // Leaving: bob's page goes away; the others see him leave.
    await bob.context.close();
    await eventually(() => presence(alice.page)).toEqual(['alice (you)', 'carol']);
    await eventually(() => lines(carol.page, 'presence')).toEqual(['bob left']);

    // The application saw the whole story through its callbacks.
    const actions = new Set(app.calls.map((c) => c.action));
    for (const a of ['connect', 'create_channel', 'subscribe', 'publish', 'message', 'disconnect']) expect(actions).toContain(a);
    expect(app.calls.filter((c) => c.action === 'create_channel')).toHaveLength(1);
    expect(alice.errors).toEqual([]);
    expect(carol.errors).toEqual([]);
  });

  it('without a name the application refuses the connection and the page says why', async () => {
    const { app } = await chatSetup();
    const p = await newPage();
    await p.page.goto(app.url);
    // Skip the form: connect with no chat_user cookie.
    await p.page.evaluate(() => (globalThis as unknown as { start(): void }).start());
    await eventually(() => lines(p.page, 'error')).toEqual(['error: pick a name first (chat_user cookie)']);
    await eventually(() => p.page.textContent('#status')).toBe('disconnected');
  });
});
