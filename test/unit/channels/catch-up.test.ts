// A tracking connection's recovery (catch-up.ts) on core's replay-then-live: what the SUBSCRIBE frame
// says and which PUBLISH frames follow it, from a memory-engine topic log.
import { describe, expect, it } from 'vitest';
import { CatchingUp } from '../../../src/channels/catch-up.js';
import { Channel, type ChannelOwner } from '../../../src/channels/model.js';
import { defaultChannelOptions } from '../../../src/channels/options.js';
import { createMetrics } from '../../../src/core/metrics.js';
import { Topics } from '../../../src/core/topics.js';
import { createMemoryStore } from '../../../src/store/memory/index.js';

const owner: ChannelOwner = { delivered: () => {}, remoteUsers: () => new Set() };

function setup(historySize = 100): { topics: Topics; ch: Channel } {
  const topics = new Topics(createMemoryStore({ historySize }).topics, createMetrics());
  return { topics, ch: new Channel('room', defaultChannelOptions(), owner) };
}

async function publish(topics: Topics, n: number, author?: string): Promise<void> {
  for (let i = 0; i < n; i++) await topics.publish('room', { contentType: 'application/json', body: Buffer.from(`{"i":${i}}`), ...(author ? { author } : {}) });
}

/** The offsets of the PUBLISH frames (`[<id>,"PUBLISH",{... "offset": n}]` tails). */
const offsets = (frames: Buffer[]): number[] => frames.map((f) => (JSON.parse(`[0${f.toString()}`)[2] as { offset: number }).offset);

describe('CatchingUp', () => {
  it('since: the missed publishes, then those made before the join, once each; recovered', async () => {
    const { topics, ch } = setup();
    await publish(topics, 3);
    const c = await CatchingUp.open(topics, 'room', { offset: 1 });
    await publish(topics, 1);
    const { args, frames } = c.take(ch, 'alice');
    expect(offsets(frames)).toEqual([2, 3, 4]);
    expect(args).toMatchObject({ offset: 4, recovered: true, replayed: 3 });
    expect(typeof args.epoch).toBe('string');
    expect(topics.fanout.count('room')).toBe(0);
  });

  it('a first subscription: no replay, no recovery fields, only what came after it was opened', async () => {
    const { topics, ch } = setup();
    await publish(topics, 2);
    const c = await CatchingUp.open(topics, 'room', undefined);
    await publish(topics, 1);
    const { args, frames } = c.take(ch, 'alice');
    expect(offsets(frames)).toEqual([3]);
    expect(args.offset).toBe(3);
    expect(args).not.toHaveProperty('recovered');
  });

  it('past the replay cap: recovered false, the first publishes and then the live ones', async () => {
    const { topics, ch } = setup();
    await publish(topics, 5);
    const c = await CatchingUp.open(topics, 'room', { offset: 0 }, 2);
    await publish(topics, 1);
    const { args, frames } = c.take(ch, 'alice');
    expect(offsets(frames)).toEqual([1, 2, 6]);
    expect(args).toMatchObject({ offset: 6, recovered: false, replayed: 3 });
  });

  it('history shorter than what was missed: recovered false', async () => {
    const { topics, ch } = setup(2);
    await publish(topics, 5);
    const { args, frames } = (await CatchingUp.open(topics, 'room', { offset: 1 })).take(ch, 'alice');
    expect(offsets(frames)).toEqual([4, 5]);
    expect(args).toMatchObject({ offset: 5, recovered: false });
  });

  it('a non-reflective channel leaves out the subscriber\'s own publishes (the position still counts them)', async () => {
    const { topics, ch } = setup();
    ch.options.reflective = false;
    await publish(topics, 1, 'alice');
    await publish(topics, 1, 'bob');
    const { args, frames } = (await CatchingUp.open(topics, 'room', { offset: 0 })).take(ch, 'alice');
    expect(offsets(frames)).toEqual([2]);
    expect(args).toMatchObject({ offset: 2, replayed: 1 });
  });
});
