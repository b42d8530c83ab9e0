// The cluster's channel records: one per channel whichever node makes it, every change heard by every
// node (the changing one too), one node at a time deciding whether an empty channel goes.
import { describe, expect, it } from 'vitest';
import type { ChannelRecordChange } from '../../../src/store/contracts/channel-registry.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { openRedisStore, redisPrefix } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

async function twoNodes(): Promise<[Store, Store]> {
  const prefix = redisPrefix();
  return [await openRedisStore(10, prefix), await openRedisStore(10, prefix)];
}

function heard(store: Store): Array<[string, ChannelRecordChange]> {
  const seen: Array<[string, ChannelRecordChange]> = [];
  store.registry.onChange((channel, c) => seen.push([channel, c]));
  return seen;
}

describe('redis channel registry', () => {
  it('the first create wins: a later one on another node gets its options; updates and removal reach both nodes', async () => {
    const [a, b] = await twoNodes();
    try {
      const onA = heard(a);
      const onB = heard(b);
      expect(await a.registry.get('room')).toBeUndefined();
      expect(await a.registry.create('room', { presenceful: true })).toEqual({ created: true, options: { presenceful: true } });
      expect(await b.registry.create('room', { presenceful: false })).toEqual({ created: false, options: { presenceful: true } });
      expect(await b.registry.get('room')).toEqual({ presenceful: true });
      expect(await b.registry.update('room', { history_size: 3 })).toBe(true);
      expect(await a.registry.get('room')).toEqual({ history_size: 3 });
      expect(await a.registry.remove('room')).toBe(true);
      expect(await b.registry.remove('room')).toBe(false);
      expect(await b.registry.update('room', { history_size: 4 })).toBe(false);
      const expected = [['room', { set: { presenceful: true } }], ['room', { set: { history_size: 3 } }], ['room', { destroyed: true }]];
      // The changing node has heard its change when the call resolves; the other one soon after.
      expect(onA).toEqual(expected);
      await until(() => onB.length === 3, 'node B heard the three changes');
      expect(onB).toEqual(expected);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('one node at a time has the turn to destroy an empty channel', async () => {
    const [a, b] = await twoNodes();
    try {
      expect(await a.registry.takeTurn('room')).toBe(true);
      expect(await b.registry.takeTurn('room')).toBe(false);
      // Ending another node's turn does nothing.
      await b.registry.endTurn('room');
      expect(await b.registry.takeTurn('room')).toBe(false);
      await a.registry.endTurn('room');
      expect(await b.registry.takeTurn('room')).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
