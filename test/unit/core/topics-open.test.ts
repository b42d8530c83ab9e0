// Topics.open (replay then live, with a replay cap) and Topics.openLive, on the memory engine: what a
// consumer gets, in which order, and the read-only fan-out view.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { createMetrics } from '../../../src/core/metrics.js';
import type { Gap, Reset, StreamOutput } from '../../../src/core/topic-stream.js';
import { Topics } from '../../../src/core/topics.js';
import { createMemoryStore } from '../../../src/store/memory/index.js';

type Event = ['message', string, number] | ['gap', Gap] | ['reset', Reset] | ['overflow', string];

/** A consumer that notes everything it is told, in order. */
function recorder(): StreamOutput & { events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    message: (m: Message) => events.push(['message', m.topic, m.offset]),
    gap: (g: Gap) => events.push(['gap', g]),
    reset: (r: Reset) => events.push(['reset', r]),
    overflow: (reason: string) => events.push(['overflow', reason]),
  };
}

function topics(): Topics {
  return new Topics(createMemoryStore({ historySize: 100 }).topics, createMetrics());
}

async function publish(t: Topics, topic: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await t.publish(topic, { contentType: 'text/plain', body: Buffer.from(`${i}`) });
}

describe('Topics.open', () => {
  it('replays after the position, then goes live: every offset once, in order', async () => {
    const t = topics();
    await publish(t, 'a', 3);
    const out = recorder();
    const stream = await t.open({ topics: ['a'], since: new Map([['a', { offset: 1 }]]), maxPending: 10 }, out);
    await publish(t, 'a', 1);
    expect(out.events).toEqual([['message', 'a', 2], ['message', 'a', 3], ['message', 'a', 4]]);
    t.close(['a'], stream);
  });

  it('stops a replay at maxReplay (over all topics) and reports the rest as a gap; live messages follow', async () => {
    const t = topics();
    await publish(t, 'a', 5);
    await publish(t, 'b', 2);
    const out = recorder();
    const since = new Map([['a', { offset: 0 }], ['b', { offset: 0 }]]);
    const stream = await t.open({ topics: ['a', 'b'], since, maxPending: 10, maxReplay: 3 }, out);
    await publish(t, 'a', 1);
    expect(out.events).toEqual([
      ['message', 'a', 1], ['message', 'a', 2], ['message', 'a', 3],
      ['gap', { topic: 'a', from: 4, to: 5 }],
      ['gap', { topic: 'b', from: 1, to: 2 }],
      ['message', 'a', 6],
    ]);
    expect(stream.positions.get('a')).toBe(6);
    t.close(['a', 'b'], stream);
  });

  it('maxReplay 0 replays nothing: the whole of what was missed is a gap', async () => {
    const t = topics();
    await publish(t, 'a', 2);
    const out = recorder();
    const stream = await t.open({ topics: ['a'], since: new Map([['a', { offset: 0 }]]), maxPending: 10, maxReplay: 0 }, out);
    expect(out.events).toEqual([['gap', { topic: 'a', from: 1, to: 2 }]]);
    t.close(['a'], stream);
  });
});

describe('Topics.openLive', () => {
  it('gets the messages published from now on, none of the history; counted by the read-only view until closed', async () => {
    const t = topics();
    await publish(t, 'a', 2);
    const out = recorder();
    const stream = t.openLive('a', out);
    expect(t.fanout.count('a')).toBe(1);
    expect(t.fanout.topics()).toEqual(['a']);
    await publish(t, 'a', 2);
    t.close(['a'], stream);
    await publish(t, 'a', 1);
    expect(out.events).toEqual([['message', 'a', 3], ['message', 'a', 4]]);
    expect(t.fanout.count('a')).toBe(0);
    expect(Object.keys(t.fanout)).toEqual(['count', 'topics']);
  });
});
