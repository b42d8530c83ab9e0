// The channels' background work: waited for at close (what settling work starts too), failures logged,
// nothing started once closed, and a close that a hung store cannot hold.
import { describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { Background } from '../../../src/channels/background.js';
import { captureLog } from '../../helpers/log-capture.js';

const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('channels background work', () => {
  it('close waits for what was started, and for what that starts; then nothing starts', async () => {
    const log = captureLog('debug');
    const background = new Background(log.logger as unknown as FastifyBaseLogger);
    const done: string[] = [];
    background.run('first failed', {}, async () => {
      await later(30);
      done.push('first');
      background.run('second failed', {}, async () => {
        await later(30);
        done.push('second');
      });
    });
    background.run('third failed', { channel: 'c' }, async () => {
      throw new Error('boom');
    });
    await background.close(5000);
    expect(done).toEqual(['first', 'second']);
    expect(log.lines.filter((l) => l.level === 50).map((l) => [l.msg, l.channel])).toEqual([['third failed', 'c']]);
    let ran = false;
    background.run('late failed', {}, async () => void (ran = true));
    expect(ran).toBe(false);
  });

  it('a close is not held past its bound by work that never ends', async () => {
    const log = captureLog('debug');
    const background = new Background(log.logger as unknown as FastifyBaseLogger);
    background.run('hung', {}, () => new Promise(() => {}));
    // Resolves (the work never does), and says what is left.
    await background.close(50);
    expect(log.lines.some((l) => l.msg === 'channel work still under way at close')).toBe(true);
  });
});
