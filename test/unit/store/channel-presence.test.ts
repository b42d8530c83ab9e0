// One contract for every ChannelPresence implementation (store/contracts/channel-presence.ts).
import { describe, expect, it } from 'vitest';
import type { ChannelPresence } from '../../../src/store/contracts/channel-presence.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { until } from '../../helpers/wait.js';
import { channelEngines, closeNode, type ChannelEngine } from './channel-engines.js';

type Heard = Array<[string, string, boolean, boolean]>;

function listen(presence: ChannelPresence): Heard {
  const heard: Heard = [];
  presence.onChange((channel, user, present, nodeLost) => heard.push([channel, user, present, nodeLost]));
  return heard;
}

function channelPresenceContract(engine: ChannelEngine) {
  describe(`${engine.name} channel presence`, () => {
    it('a node\'s own members and users are never remote to it', async () => {
      const { store } = await engine.open();
      const heard = listen(store.presence);
      store.presence.add('room', 'ann');
      store.presence.addUser('ann');
      // othersAlive is a round trip to the store: whatever the node told it is through by then.
      expect(await store.presence.othersAlive()).toBe(false);
      expect([...store.presence.remote('room')]).toEqual([]);
      expect(store.presence.hasRemoteUser('ann')).toBe(false);
      expect(store.presence.userNodes('ann')).toEqual([]);
      store.presence.remove('room', 'ann');
      store.presence.removeUser('ann');
      expect(await store.presence.othersAlive()).toBe(false);
      expect(heard).toEqual([]);
    });

    if (engine.shared) {
      it('a member on another node is remote while it stays, and its leaving is told (not as a lost node)', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const heard = listen(b.presence);
        a.presence.add('room', 'ann');
        await until(() => b.presence.remote('room').has('ann'), 'the other node to see ann');
        expect(heard).toEqual([['room', 'ann', true, false]]);
        expect([...a.presence.remote('room')]).toEqual([]);
        a.presence.remove('room', 'ann');
        await until(() => !b.presence.remote('room').has('ann'), 'the other node to see ann leave');
        expect(heard).toEqual([['room', 'ann', true, false], ['room', 'ann', false, false]]);
      });

      it('a user connected through another node is known there, by that node, and every node sees the others alive', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        expect(await a.presence.othersAlive()).toBe(true);
        expect(await b.presence.othersAlive()).toBe(true);
        a.presence.addUser('ann');
        await until(() => b.presence.hasRemoteUser('ann'), 'the other node to see ann connected');
        expect(b.presence.userNodes('ann')).toHaveLength(1);
        expect(a.presence.hasRemoteUser('ann')).toBe(false);
        a.presence.removeUser('ann');
        await until(() => !b.presence.hasRemoteUser('ann'), 'the other node to see ann gone');
        expect(b.presence.userNodes('ann')).toEqual([]);
      });

      it('a node that joins later sees the members already there; a node that stops takes its members along (node lost)', async () => {
        const { store: a, join } = await engine.open();
        a.presence.add('room', 'ann');
        a.presence.add('room', 'bob');
        // A round trip after the adds: they are in the store before the next node reads it.
        await a.presence.othersAlive();
        const b = await (join as () => Promise<Store>)();
        await until(() => b.presence.remote('room').size === 2, 'the new node to see both members');
        const heard = listen(b.presence);
        await closeNode(a);
        await until(() => b.presence.remote('room').size === 0, 'the members of the stopped node gone');
        expect(heard.sort()).toEqual([['room', 'ann', false, true], ['room', 'bob', false, true]]);
        expect(await b.presence.othersAlive()).toBe(false);
      });
    }
  });
}

for (const engine of channelEngines) channelPresenceContract(engine);
