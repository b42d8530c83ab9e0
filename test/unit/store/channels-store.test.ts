// One contract for every ChannelStore implementation; sqlite is tested on disk.
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/server.js';
import type { ChannelStore } from '../../../src/store/contracts/channel-store.js';
import { MemoryChannelStore } from '../../../src/store/memory/channel-store.js';
import { SqliteChannelStore } from '../../../src/store/sqlite/channel-store.js';
import { openSqlite } from '../../../src/store/sqlite/index.js';
import { RedisChannelStore } from '../../../src/store/redis/channel-store.js';
import { redisPrefix, testRedis } from '../../helpers/redis.js';

function contract(name: string, make: () => ChannelStore) {
  describe(`${name} channel store`, () => {
    it('puts, replaces, lists and deletes records', async () => {
      const store = make();
      expect(await store.list()).toEqual([]);
      await store.put({ name: 'b', options: { persistent: true }, state: { k: 1 } });
      await store.put({ name: 'a', options: { persistent: true, history_size: 3 }, state: {} });
      await store.put({ name: 'b', options: { persistent: true }, state: { k: 2 } });
      expect((await store.list()).sort((x, y) => x.name.localeCompare(y.name))).toEqual([
        { name: 'a', options: { persistent: true, history_size: 3 }, state: {} },
        { name: 'b', options: { persistent: true }, state: { k: 2 } },
      ]);
      await store.delete('a');
      await store.delete('missing');
      expect((await store.list()).map((r) => r.name)).toEqual(['b']);
    });
  });
}

contract('memory', () => new MemoryChannelStore());
contract('sqlite', () => new SqliteChannelStore(openSqlite(tempDir())));
contract('redis', () => new RedisChannelStore(testRedis(), redisPrefix()));

describe('sqlite channel store on disk', () => {
  it('keeps records across reopening', async () => {
    const dir = tempDir();
    const db = openSqlite(dir);
    await new SqliteChannelStore(db).put({ name: 'x', options: { persistent: true }, state: { deep: { a: [1] } } });
    db.close();
    const again = openSqlite(dir);
    expect(await new SqliteChannelStore(again).list()).toEqual([{ name: 'x', options: { persistent: true }, state: { deep: { a: [1] } } }]);
    again.close();
  });
});
