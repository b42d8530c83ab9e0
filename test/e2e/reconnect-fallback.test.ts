// The same restart scenario with alice's browser lacking WebSocket: the HTTP fallback (/ws/sse +
// /ws/send) reconnects, resubscribes and recovers the missed messages as well.
import { describe, it } from 'vitest';
import { restartScenario } from './chat-page.js';

describe('reconnect in Chromium (HTTP fallback)', () => {
  it('reconnects over the fallback after a server restart and recovers the messages it missed', () => restartScenario('sse'));
});
