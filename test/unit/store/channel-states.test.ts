// One contract for every ChannelStates implementation (store/contracts/channel-states.ts).
import { describe, expect, it } from 'vitest';
import type { ChannelStates, StateChange } from '../../../src/store/contracts/channel-states.js';
import { until } from '../../helpers/wait.js';
import { channelEngines, type ChannelEngine } from './channel-engines.js';

type Heard = Array<[string, StateChange]>;

function listen(states: ChannelStates): Heard {
  const heard: Heard = [];
  states.onChange((channel, c) => heard.push([channel, c]));
  return heard;
}

function channelStatesContract(engine: ChannelEngine) {
  describe(`${engine.name} channel states`, () => {
    it('a change resolves once this node\'s listeners applied it, in commit order', async () => {
      const { store } = await engine.open();
      const heard = listen(store.states);
      const changes: StateChange[] = [
        { updates: { a: 1, b: 'two' }, deletes: [] },
        { updates: { c: [3] }, deletes: ['a'] },
        { replace: { z: { deep: true } } },
      ];
      for (const c of changes) {
        await store.states.change('room', c);
        expect(heard.at(-1)).toEqual(['room', c]);
      }
      expect(heard).toEqual(changes.map((c) => ['room', c]));
    });

    it('reads the state the changes made when shared; a single-node store keeps none (the hub\'s copy is the state)', async () => {
      const { store } = await engine.open();
      await store.states.change('room', { updates: { a: 1, b: 2 }, deletes: [] });
      await store.states.change('room', { updates: { c: 3 }, deletes: ['a'] });
      expect(await store.states.read('room')).toEqual(engine.shared ? { b: 2, c: 3 } : {});
      await store.states.change('room', { replace: { only: 'this' } });
      expect(await store.states.read('room')).toEqual(engine.shared ? { only: 'this' } : {});
      expect(await store.states.read('other')).toEqual({});
    });

    it('drop forgets a channel\'s state, unless the channel is persistent', async () => {
      const { store } = await engine.open();
      await store.channels.put({ name: 'kept', options: { persistent: true }, state: {} });
      for (const channel of ['gone', 'kept']) await store.states.change(channel, { updates: { k: channel }, deletes: [] });
      await store.states.drop('gone');
      await store.states.drop('kept');
      expect(await store.states.read('gone')).toEqual({});
      expect(await store.states.read('kept')).toEqual(engine.shared ? { k: 'kept' } : {});
    });

    if (engine.shared) {
      it('every node hears every change once, in one order, and reads the same state', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<typeof a>)();
        const heardA = listen(a.states);
        const heardB = listen(b.states);
        // Both nodes change the same key at once: the copies converge on the commit order.
        await Promise.all([
          a.states.change('room', { updates: { k: 'a1' }, deletes: [] }),
          b.states.change('room', { updates: { k: 'b1' }, deletes: [] }),
          a.states.change('room', { updates: { k: 'a2' }, deletes: [] }),
          b.states.change('room', { updates: { k: 'b2', b: true }, deletes: [] }),
        ]);
        await until(() => heardA.length === 4 && heardB.length === 4, 'both nodes to hear the four changes');
        expect(heardB).toEqual(heardA);
        const last = heardA.at(-1)?.[1] as { updates: Record<string, unknown> };
        expect((await a.states.read('room')).k).toBe(last.updates.k);
        expect(await b.states.read('room')).toEqual(await a.states.read('room'));
      });
    }
  });
}

for (const engine of channelEngines) channelStatesContract(engine);
