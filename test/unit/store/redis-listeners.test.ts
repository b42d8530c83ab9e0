// A listener of a Redis pub/sub feed that throws must not escape into ioredis' event handler (the
// process would exit) nor keep the other listeners from hearing: the channel registry and the user relay.
import { describe, expect, it } from 'vitest';
import type { ChannelRecordChange } from '../../../src/store/contracts/channel-registry.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { openRedisStore, redisPrefix } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

async function twoNodes(): Promise<[Store, Store]> {
  const prefix = redisPrefix();
  return [await openRedisStore(10, prefix), await openRedisStore(10, prefix)];
}

describe('redis pub/sub listeners are isolated', () => {
  it('a registry listener that throws: the next listener still hears every change, the process stays up', async () => {
    const [a, b] = await twoNodes();
    try {
      const heard: Array<[string, ChannelRecordChange]> = [];
      b.registry.onChange(() => {
        throw new Error('broken listener');
      });
      b.registry.onChange((channel, c) => heard.push([channel, c]));
      await a.registry.create('one', {});
      await a.registry.create('two', {});
      await until(() => heard.length === 2, 'node B heard both changes');
      expect(heard.map(([channel]) => channel)).toEqual(['one', 'two']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a relay frame listener that throws: the next listener still gets the frames', async () => {
    const [a, b] = await twoNodes();
    try {
      const frames: string[] = [];
      b.relay.onFrame(() => {
        throw new Error('broken listener');
      });
      b.relay.onFrame((_users, frame) => frames.push(frame));
      a.relay.send(['ann'], 'MESSAGE', { payload: 1 });
      a.relay.send(['ann'], 'MESSAGE', { payload: 2 });
      await until(() => frames.length === 2, 'node B got both frames');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
