// Every engine's channel registry tells its own node's listeners of each change before the call
// resolves: one node takes the same path as many (store/local keeps no records, but still tells).
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
  });
}

for (const engine of channelEngines) channelRegistryContract(engine);
