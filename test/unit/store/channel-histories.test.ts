// One contract for every ChannelHistories implementation (store/contracts/channel-histories.ts).
import { describe, expect, it } from 'vitest';
import type { ChannelHistories, HistoryChange, HistoryItem } from '../../../src/store/contracts/channel-histories.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { until } from '../../helpers/wait.js';
import { channelEngines, type ChannelEngine } from './channel-engines.js';

type Heard = Array<[string, HistoryChange]>;

function listen(histories: ChannelHistories): Heard {
  const heard: Heard = [];
  histories.onChange((channel, c) => heard.push([channel, c]));
  return heard;
}

const item = (id: string): HistoryItem => ({ id, entry: ['PUBLISH', { payload: id, user: 'u' }] });

function channelHistoriesContract(engine: ChannelEngine) {
  describe(`${engine.name} channel histories`, () => {
    it('an append or replace resolves once this node\'s listeners applied it, in commit order', async () => {
      const { store } = await engine.open();
      const heard = listen(store.histories);
      await store.histories.append('room', item('1'), 10);
      expect(heard).toEqual([['room', { append: item('1') }]]);
      await store.histories.append('room', item('2'), 10, 7);
      await store.histories.replace('room', [item('r')]);
      expect(heard).toEqual([['room', { append: item('1') }], ['room', { append: item('2') }], ['room', { replace: [item('r')] }]]);
    });

    it('reads the newest `keep` entries, oldest first, when shared; a single-node store keeps none (the hub\'s copy is the history)', async () => {
      const { store } = await engine.open();
      for (const id of ['1', '2', '3']) await store.histories.append('room', item(id), 2);
      expect(await store.histories.read('room')).toEqual(engine.shared ? [item('2'), item('3')] : []);
      await store.histories.replace('room', [item('a'), item('b')]);
      expect(await store.histories.read('room')).toEqual(engine.shared ? [item('a'), item('b')] : []);
      expect(await store.histories.read('other')).toEqual([]);
    });

    it('drop forgets a channel\'s history, unless the channel is persistent', async () => {
      const { store } = await engine.open();
      await store.channels.put({ name: 'kept', options: { persistent: true }, state: {} });
      for (const channel of ['gone', 'kept']) await store.histories.append(channel, item(channel), 10);
      await store.histories.drop('gone');
      await store.histories.drop('kept');
      expect(await store.histories.read('gone')).toEqual([]);
      expect(await store.histories.read('kept')).toEqual(engine.shared ? [item('kept')] : []);
    });

    if (engine.shared) {
      it('a publish every node records (same offset) is kept once, and heard once by every node', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const heardA = listen(a.histories);
        const heardB = listen(b.histories);
        await Promise.all([a.histories.append('room', item('p5'), 10, 5), b.histories.append('room', item('p5'), 10, 5)]);
        // An earlier offset arriving late is not recorded either.
        await b.histories.append('room', item('p4'), 10, 4);
        await a.histories.append('room', item('p6'), 10, 6);
        await until(() => heardA.length === 2 && heardB.length === 2, 'both nodes to hear the two kept entries');
        const kept = [['room', { append: item('p5') }], ['room', { append: item('p6') }]];
        expect(heardA).toEqual(kept);
        expect(heardB).toEqual(kept);
        expect(await b.histories.read('room')).toEqual([item('p5'), item('p6')]);
      });

      it('a replace on one node is what every node reads and hears', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const heardB = listen(b.histories);
        await a.histories.append('room', item('1'), 10);
        await a.histories.replace('room', [item('x')]);
        await until(() => heardB.length === 2, 'the other node to hear the append and the replace');
        expect(heardB[1]).toEqual(['room', { replace: [item('x')] }]);
        expect(await b.histories.read('room')).toEqual([item('x')]);
      });
    }
  });
}

for (const engine of channelEngines) channelHistoriesContract(engine);
