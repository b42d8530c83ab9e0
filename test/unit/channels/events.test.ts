// The channel lifecycle events' shape: {type, channel, user (members only), at}, as the endpoint events
// have {type, endpoint, …, at}; and every membership change the store tells becomes one emitted event.
import { describe, expect, it } from 'vitest';
import { channelEventOf, publishChannelEvents } from '../../../src/channels/events.js';
import { SystemEvents } from '../../../src/core/system-events.js';
import { LocalPresence } from '../../../src/store/local/presence.js';

const at = new Date('2026-05-04T10:00:00.000Z');

describe('channel events', () => {
  it('a membership change becomes channel.<kind>, with its user for members and the time of the change', () => {
    expect(JSON.stringify(channelEventOf({ kind: 'occupied', channel: 'lobby' }, at))).toBe('{"type":"channel.occupied","channel":"lobby","at":"2026-05-04T10:00:00.000Z"}');
    expect(JSON.stringify(channelEventOf({ kind: 'member_added', channel: 'lobby', user: 'ann' }, at))).toBe(
      '{"type":"channel.member_added","channel":"lobby","user":"ann","at":"2026-05-04T10:00:00.000Z"}',
    );
    expect(channelEventOf({ kind: 'member_removed', channel: 'lobby', user: 'ann' }, at).type).toBe('channel.member_removed');
    expect(channelEventOf({ kind: 'vacated', channel: 'lobby' }, at)).toEqual({ type: 'channel.vacated', channel: 'lobby', at: at.toISOString() });
  });

  it('each change the presence tells is published once to the system topic', async () => {
    const bodies: string[] = [];
    const events = new SystemEvents({ publish: async (_topic, input) => bodies.push(input.body.toString()) }, (err) => {
      throw err;
    });
    const presence = new LocalPresence();
    publishChannelEvents(presence, events);
    presence.add('lobby', 'ann');
    presence.remove('lobby', 'ann');
    await events.settled();
    expect(bodies.map((b) => (JSON.parse(b) as { type: string }).type)).toEqual(['channel.occupied', 'channel.member_added', 'channel.member_removed', 'channel.vacated']);
  });
});
