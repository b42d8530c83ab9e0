// The browser client across a server restart (sqlite store, same port), over WebSocket: it reconnects
// by itself, re-CONNECTs and resubscribes, and recovers the messages published while it could not connect.
import { describe, it } from 'vitest';
import { restartScenario } from './chat-page.js';

describe('reconnect in Chromium (WebSocket)', () => {
  it('reconnects after a server restart, resubscribes and recovers the messages it missed', () => restartScenario('websocket'));
});
