// Every engine's channel registry answers the same questions (which channels exist, who made one first,
// whose turn it is to destroy it) and tells its own node's listeners of each change before the call
// resolves: one node (store/local) is a cluster of one, and the channels take the same path on both.
import { describe, expect, it } from 'vitest';
import type { ChannelRecordChange } from '../../../src/store/contracts/channel-registry.js';
import { channelEngines, type ChannelEngine } from './channel-engines.js';

function channelRegistryContract(engine: ChannelEngine) {
  describe(`${engine.name} channel registry`, () => {
    it('create, update and remove reach this node\'s listeners once each, before they resolve', async () => {
      const { store } = await engine.open();
      const heard: Array<[string, ChannelRecordChange]> = [];
      store.registry.onChange((channel, c) => heard.push([channel, c]));
      expect((await store.registry.create('room', { presenceful: true })).created).toBe(true);
      expect(heard).toEqual([['room', { set: { presenceful: true } }]]);
      expect(await store.registry.update('room', { history_size: 3 })).toBe(true);
      expect(heard.slice(1)).toEqual([['room', { set: { history_size: 3 } }]]);
      expect(await store.registry.remove('room')).toBe(true);
      expect(heard.slice(2)).toEqual([['room', { destroyed: true }]]);
    });

    it('keeps one record per channel: the first create wins, and get, list, update and remove follow it', async () => {
      const { store } = await engine.open();
      const heard: Array<[string, ChannelRecordChange]> = [];
      store.registry.onChange((channel, c) => heard.push([channel, c]));
      expect(await store.registry.get('room')).toBeUndefined();
      expect(await store.registry.list()).toEqual([]);
      expect(await store.registry.create('room', { presenceful: true })).toEqual({ created: true, options: { presenceful: true } });
      // A second create (another call, or another node) gets the first one's options and tells nobody.
      expect(await store.registry.create('room', { presenceful: false })).toEqual({ created: false, options: { presenceful: true } });
      expect(heard).toHaveLength(1);
      expect(await store.registry.get('room')).toEqual({ presenceful: true });
      expect(await store.registry.list()).toEqual([{ name: 'room', options: { presenceful: true } }]);
      expect(await store.registry.update('room', { history_size: 3 })).toBe(true);
      expect(await store.registry.get('room')).toEqual({ history_size: 3 });
      expect(await store.registry.remove('room')).toBe(true);
      expect(await store.registry.get('room')).toBeUndefined();
      // On a channel that exists nowhere: nothing changes, nobody is told.
      expect(await store.registry.remove('room')).toBe(false);
      expect(await store.registry.update('room', { history_size: 4 })).toBe(false);
      expect(heard).toHaveLength(3);
      expect(await store.registry.list()).toEqual([]);
    });

    it('a record is the registry\'s own: changing the options given or got back does not change it', async () => {
      const { store } = await engine.open();
      const given = { server_user_presence: ['ann'] };
      await store.registry.create('room', given);
      given.server_user_presence.push('bob');
      const got = await store.registry.get('room');
      (got?.server_user_presence as string[]).push('cy');
      expect(await store.registry.get('room')).toEqual({ server_user_presence: ['ann'] });
    });

    it('one caller at a time has the turn to destroy an empty channel, per channel', async () => {
      const { store, join } = await engine.open();
      // Another node when the engine has them, else another caller on this one: the registry decides alike.
      const other = join ? (await join()).registry : store.registry;
      expect(await store.registry.takeTurn('room')).toBe(true);
      expect(await other.takeTurn('room')).toBe(false);
      expect(await other.takeTurn('hall')).toBe(true);
      await store.registry.endTurn('room');
      expect(await other.takeTurn('room')).toBe(true);
      await other.endTurn('room');
      await other.endTurn('hall');
    });
  });
}

for (const engine of channelEngines) channelRegistryContract(engine);
