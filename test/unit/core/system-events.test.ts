// SystemEvents: one JSON message per event on the system topic, the same body to every follower, and
// failures (the topic's, a follower's) reported, never thrown at the part that made the change.
import { describe, expect, it } from 'vitest';
import { SYSTEM_TOPIC, SystemEvents, publishSystemEvent, type SystemEvent } from '../../../src/core/system-events.js';
import type { NewMessage } from '../../../src/core/message.js';

function fakeTopics(fail?: Error) {
  const published: Array<{ topic: string; input: NewMessage }> = [];
  let release: (() => void) | undefined;
  const gate = new Promise<void>((r) => (release = r));
  return {
    published,
    open: () => release?.(),
    publish: async (topic: string, input: NewMessage) => {
      published.push({ topic, input });
      await gate;
      if (fail) throw fail;
      return {};
    },
  };
}

const occupied = { type: 'channel.occupied', channel: 'lobby', at: '2026-05-04T10:00:00.000Z' };

describe('system events', () => {
  it('publishSystemEvent: the event as JSON on hookhub.endpoints, its fields in order', async () => {
    const topics = fakeTopics();
    topics.open();
    await publishSystemEvent(topics, occupied);
    expect(SYSTEM_TOPIC).toBe('hookhub.endpoints');
    expect(topics.published).toHaveLength(1);
    expect(topics.published[0]!.topic).toBe('hookhub.endpoints');
    expect(topics.published[0]!.input.contentType).toBe('application/json');
    expect(topics.published[0]!.input.body.toString()).toBe('{"type":"channel.occupied","channel":"lobby","at":"2026-05-04T10:00:00.000Z"}');
  });

  it('emit publishes once and hands every follower the same body; settled waits for both', async () => {
    const topics = fakeTopics();
    const errors: string[] = [];
    const events = new SystemEvents(topics, (_err, _e, what) => errors.push(what));
    const followed: Array<[SystemEvent, string]> = [];
    let queued = false;
    events.follow((e, body) => {
      followed.push([e, body.toString()]);
      return new Promise<void>((r) => setImmediate(() => r())).then(() => (queued = true));
    });
    events.emit(occupied);
    expect(followed).toEqual([[occupied, JSON.stringify(occupied)]]);
    let settled = false;
    const done = events.settled().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    topics.open();
    await done;
    expect(queued).toBe(true);
    expect(topics.published).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('a failed publish and a failing follower are reported, not thrown; the other followers still hear', async () => {
    const topics = fakeTopics(new Error('store down'));
    const errors: Array<[string, string, string]> = [];
    const events = new SystemEvents(topics, (err, e, what) => errors.push([(err as Error).message, e.type, what]));
    const heard: string[] = [];
    events.follow(() => {
      throw new Error('follower broke');
    });
    events.follow((e) => void heard.push(e.type));
    expect(() => events.emit(occupied)).not.toThrow();
    topics.open();
    await events.settled();
    expect(heard).toEqual(['channel.occupied']);
    expect(errors.sort()).toEqual([
      ['follower broke', 'channel.occupied', 'an operational event follower failed'],
      ['store down', 'channel.occupied', 'publishing an operational event failed'],
    ]);
  });
});
