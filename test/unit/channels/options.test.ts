import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../../../src/channels/callbacks.js';
import { ChannelError } from '../../../src/channels/channel-error.js';
import { applyChannelOptions, applyUserOptions, defaultChannelOptions, defaultUserOptions, moderates, pollingActive } from '../../../src/channels/options.js';
import { parseClientFrame } from '../../../src/channels/protocol.js';

describe('channel options', () => {
  it('has Hookbox defaults', () => {
    expect(defaultChannelOptions()).toMatchObject({
      reflective: true, history_size: 0, presenceful: false, moderated: true, moderated_publish: false,
      moderated_subscribe: false, moderated_unsubscribe: false, anonymous: false, persistent: false, server_presenceful: false,
      server_user_presence: [], polling: { url: '', interval: 5, mode: '', form: {}, originator: '' },
    });
    expect(defaultUserOptions()).toEqual({ reflective: true, moderated_message: true, per_connection_subscriptions: false, global_unsubscriptions: false });
  });

  it('moderated is ORed with each moderated_* (Hookbox): each option is set alone', () => {
    const { options } = applyChannelOptions(defaultChannelOptions(), { moderated: false, moderated_publish: true }, true);
    expect(options).toMatchObject({ moderated: false, moderated_subscribe: false, moderated_unsubscribe: false, moderated_publish: true });
    expect((['publish', 'subscribe', 'unsubscribe'] as const).map((a) => moderates(options, a))).toEqual([true, false, false]);
    const only = applyChannelOptions(defaultChannelOptions(), { moderated_publish: false }, true).options;
    expect((['publish', 'subscribe', 'unsubscribe'] as const).map((a) => moderates(only, a))).toEqual([true, true, true]);
  });

  it('polling is off until a mode is set; server_user_presence is a list of names', () => {
    const url = applyChannelOptions(defaultChannelOptions(), { polling: { url: 'http://x/feed' } }, true).options;
    expect(pollingActive(url)).toBe(false);
    expect(pollingActive(applyChannelOptions(url, { polling: { mode: 'once' } }, true).options)).toBe(true);
    expect(applyChannelOptions(defaultChannelOptions(), { server_user_presence: ['a', 'b', 'a'] }, true).options.server_user_presence).toEqual(['a', 'b']);
    expect(() => applyChannelOptions(defaultChannelOptions(), { server_user_presence: 'a' }, true)).toThrow(/list of user names/);
  });

  it('refuses unknown keys and wrong types when strict; ignores unknown keys otherwise', () => {
    expect(() => applyChannelOptions(defaultChannelOptions(), { colour: 'red' }, true)).toThrow(ChannelError);
    expect(applyChannelOptions(defaultChannelOptions(), { colour: 'red' }, false).options).toEqual(defaultChannelOptions());
    expect(() => applyChannelOptions(defaultChannelOptions(), { history_size: -1 }, true)).toThrow(/history_size/);
    expect(() => applyChannelOptions(defaultChannelOptions(), { history_size: 'lots' }, true)).toThrow(/history_size/);
    expect(() => applyChannelOptions(defaultChannelOptions(), { reflective: 'sometimes' }, true)).toThrow(/reflective must be a boolean/);
    expect(() => applyChannelOptions(defaultChannelOptions(), { state: [1] }, true)).toThrow(/state must be an object/);
    expect(() => applyChannelOptions(defaultChannelOptions(), { history: [['DANCE', {}]] }, true)).toThrow(/history entries/);
    expect(applyChannelOptions(defaultChannelOptions(), { reflective: '0', history_size: '3' }, true).options).toMatchObject({ reflective: false, history_size: 3 });
  });

  it('validates polling', () => {
    const p = applyChannelOptions(defaultChannelOptions(), { polling: { url: 'http://x/feed', interval: 2, mode: 'persistent', form: { a: 1 } } }, true).options.polling;
    expect(p).toEqual({ url: 'http://x/feed', interval: 2, mode: 'persistent', form: { a: '1' }, originator: '' });
    expect(() => applyChannelOptions(defaultChannelOptions(), { polling: { mode: 'sometimes' } }, true)).toThrow(/polling.mode/);
    expect(() => applyChannelOptions(defaultChannelOptions(), { polling: { interval: 0 } }, true)).toThrow(/polling.interval/);
    expect(() => applyChannelOptions(defaultChannelOptions(), { polling: 'http://x' }, true)).toThrow(/polling must be an object/);
  });

  it('user options', () => {
    expect(applyUserOptions(defaultUserOptions(), { reflective: false }, true).reflective).toBe(false);
    expect(() => applyUserOptions(defaultUserOptions(), { loud: true }, true)).toThrow(/unknown user option loud/);
  });
});

describe('callback answers', () => {
  it('reads [true, {...}] and [false, {msg}] (and Hookbox\'s older error key)', () => {
    expect(parseAnswer('connect', '[true, {"name": "a"}]')).toEqual({ ok: true, options: { name: 'a' } });
    expect(parseAnswer('connect', '[false, {"msg": "no"}]')).toEqual({ ok: false, msg: 'no', refused: true });
    expect(parseAnswer('connect', '[false, {"error": "old"}]')).toEqual({ ok: false, msg: 'old', refused: true });
    expect(parseAnswer('connect', '[false, {}]')).toEqual({ ok: false, msg: 'Unauthorized', refused: true });
  });

  it('calls anything else a malformed answer', () => {
    for (const text of ['', 'nope', '{}', '[true]', '["yes", {}]', '[true, []]', '[true, {}, 3]']) {
      const r = parseAnswer('publish', text);
      expect(r.ok).toBe(false);
      expect(r.ok ? undefined : r.refused).toBeUndefined();
      expect(r.ok ? '' : r.msg).toMatch(/application callback publish answered (malformed JSON|an invalid reply)/);
    }
  });
});

describe('client frames', () => {
  it('parses [id, NAME, args] and reports anything else', () => {
    expect(parseClientFrame('[1, "SUBSCRIBE", {"channel_name": "a"}]')).toEqual({ ok: true, frame: { id: 1, name: 'SUBSCRIBE', args: { channel_name: 'a' } } });
    expect(parseClientFrame('[2, "CONNECT"]')).toEqual({ ok: true, frame: { id: 2, name: 'CONNECT', args: {} } });
    expect(parseClientFrame('{')).toMatchObject({ ok: false, id: null });
    expect(parseClientFrame('"text"')).toMatchObject({ ok: false, id: null });
    expect(parseClientFrame('[3, 4, {}]')).toMatchObject({ ok: false, id: 3 });
    expect(parseClientFrame('[3, "X", {}, 5]')).toMatchObject({ ok: false, id: 3 });
  });
});

describe('PUBLISH frames', () => {
  it('are encoded once per message and shared; other producers appear with user null', async () => {
    const { publishTail } = await import('../../../src/channels/protocol.js');
    const { hookboxTime } = await import('../../../src/channels/hookbox-time.js');
    const m = { topic: 'room', offset: 1, id: 'm1', time: 0, contentType: 'application/x-www-form-urlencoded', body: Buffer.from('a=1') };
    const first = publishTail(m);
    expect(publishTail(m)).toBe(first);
    expect(first.toString()).toBe(`,"PUBLISH",{"channel_name":"room","user":null,"payload":{"a":"1"},"datetime":"${hookboxTime(0)}"}]`);
  });
});

describe('datetime', () => {
  it("is Hookbox's: local time to the second, no zone", async () => {
    const { hookboxTime } = await import('../../../src/channels/hookbox-time.js');
    expect(hookboxTime(new Date(2010, 6, 15, 18, 30, 5, 999).getTime())).toBe('2010-07-15T18:30:05');
    expect(hookboxTime(new Date(2024, 0, 2, 3, 4, 6).getTime())).toBe('2024-01-02T03:04:06');
  });
});
