// One contract for every PusherRoster (store/contracts/pusher-roster.ts): memory and sqlite (store/local)
// and Redis, where two stores on one prefix are two nodes.
import { describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/contracts/store.js';
import type { RosterChange } from '../../../src/store/contracts/pusher-roster.js';
import { until } from '../../helpers/wait.js';
import { channelEngines, closeNode, type ChannelEngine } from './channel-engines.js';

function listen(store: Store): Array<[RosterChange, boolean]> {
  const heard: Array<[RosterChange, boolean]> = [];
  store.pusher.onChange((change, mine) => heard.push([change, mine]));
  return heard;
}

function rosterContract(engine: ChannelEngine) {
  describe(`${engine.name} pusher roster`, () => {
    it('counts subscriptions; occupied on the first, vacated after the last, each once', async () => {
      const { store } = await engine.open();
      const heard = listen(store);
      await store.pusher.count('1/news', 1);
      await store.pusher.count('1/news', 1);
      await store.pusher.count('1/presence-x', 1);
      expect(await store.pusher.subscriptions('1/news')).toBe(2);
      expect(await store.pusher.occupied('1/')).toEqual(['1/news', '1/presence-x']);
      expect(await store.pusher.occupied('1/pre')).toEqual(['1/presence-x']);
      expect(await store.pusher.occupied('2/')).toEqual([]);
      await store.pusher.count('1/news', -1);
      await store.pusher.count('1/news', -1);
      expect(await store.pusher.subscriptions('1/news')).toBe(0);
      await until(() => heard.length === 3, 'three changes');
      expect(heard).toEqual([
        [{ kind: 'occupied', topic: '1/news' }, true],
        [{ kind: 'occupied', topic: '1/presence-x' }, true],
        [{ kind: 'vacated', topic: '1/news' }, true],
      ]);
    });

    it('occupiedCounts: every occupied topic under a prefix with its subscriptions and members, over every node', async () => {
      const { store, join } = await engine.open();
      const other = join ? await join() : store;
      await store.pusher.count('1/news', 1);
      await other.pusher.count('1/news', 1);
      await store.pusher.count('1/presence-r', 1);
      await other.pusher.count('1/presence-r', 1);
      await store.pusher.join('1/presence-r', 'ann', 'null');
      await other.pusher.join('1/presence-r', 'bob', 'null');
      await other.pusher.count('10/news', 1);
      expect(await store.pusher.occupiedCounts('1/')).toEqual([
        { topic: '1/news', subscriptions: 2, members: 0 },
        { topic: '1/presence-r', subscriptions: 2, members: 2 },
      ]);
      expect(await other.pusher.occupiedCounts('1/pre')).toEqual([{ topic: '1/presence-r', subscriptions: 2, members: 2 }]);
      await store.pusher.count('1/news', -1);
      await other.pusher.count('1/news', -1);
      expect(await store.pusher.occupiedCounts('1/n')).toEqual([]);
    });

    it('handOver: a node alone (or a single-node store) keeps its entries and goes on telling its changes', async () => {
      const { store } = await engine.open();
      const heard = listen(store);
      await store.pusher.count('1/solo', 1);
      expect(await store.pusher.handOver()).toBe(false);
      await store.pusher.count('1/solo', -1);
      await until(() => heard.length === 2, 'occupied, then vacated');
      expect(heard.map(([c, mine]) => [c.kind, mine])).toEqual([['occupied', true], ['vacated', true]]);
    });

    it('presence: a user is added on its first join and removed on its last leave, changes numbered', async () => {
      const { store } = await engine.open();
      const heard = listen(store);
      const a = await store.pusher.join('1/presence-r', 'ann', '{"n":1}');
      expect([...a.users]).toEqual([['ann', '{"n":1}']]);
      const b = await store.pusher.join('1/presence-r', 'bob', 'null');
      expect(b.seq).toBeGreaterThan(a.seq);
      expect(new Map(b.users)).toEqual(new Map([['ann', '{"n":1}'], ['bob', 'null']]));
      await store.pusher.leave('1/presence-r', 'ann');
      const after = await store.pusher.members('1/presence-r');
      expect([...after.users.keys()]).toEqual(['bob']);
      await until(() => heard.length === 3, 'three changes');
      expect(heard.map(([c]) => c.kind)).toEqual(['member_added', 'member_added', 'member_removed']);
      expect(heard[2]?.[0]).toEqual({ kind: 'member_removed', topic: '1/presence-r', user: 'ann', seq: after.seq });
    });

    it('signals reach every node, this one included', async () => {
      const { store, join } = await engine.open();
      const other = join ? await join() : undefined;
      const got: string[] = [];
      store.pusher.onSignal((n) => got.push(`a:${n}`));
      other?.pusher.onSignal((n) => got.push(`b:${n}`));
      await store.pusher.signal('hello');
      await until(() => got.length === (other ? 2 : 1), 'the signal');
      expect(got.sort()).toEqual(other ? ['a:hello', 'b:hello'] : ['a:hello']);
    });

    if (engine.shared) {
      it('two nodes: counts and members add up; each change is told once and is one node\'s own', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const heardA = listen(a);
        const heardB = listen(b);
        await a.pusher.count('1/news', 1);
        await b.pusher.count('1/news', 1);
        expect(await a.pusher.subscriptions('1/news')).toBe(2);
        await a.pusher.join('1/presence-r', 'ann', 'null');
        const seen = await b.pusher.join('1/presence-r', 'ann', 'null');
        expect([...seen.users.keys()]).toEqual(['ann']);
        await b.pusher.leave('1/presence-r', 'ann');
        expect([...(await a.pusher.members('1/presence-r')).users.keys()]).toEqual(['ann']);
        await until(() => heardA.length === 2 && heardB.length === 2, 'occupied and member_added on both');
        expect(heardA).toEqual([
          [{ kind: 'occupied', topic: '1/news' }, true],
          [{ kind: 'member_added', topic: '1/presence-r', user: 'ann', info: 'null', seq: 1 }, true],
        ]);
        expect(heardB.map(([c, mine]) => [c.kind, mine])).toEqual([['occupied', false], ['member_added', false]]);
      });

      it('a node that closes takes its subscriptions and members with it, reaped (and told) by a live node', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const heardA = listen(a);
        await b.pusher.count('1/presence-r', 1);
        await b.pusher.join('1/presence-r', 'bob', 'null');
        await a.pusher.count('1/news', 1);
        await closeNode(b);
        await until(() => heardA.some(([c]) => c.kind === 'vacated'), 'vacated');
        expect(heardA.filter(([c]) => c.kind !== 'occupied' && c.kind !== 'member_added')).toEqual([
          [{ kind: 'vacated', topic: '1/presence-r' }, true],
          [{ kind: 'member_removed', topic: '1/presence-r', user: 'bob', seq: 2 }, true],
        ]);
        expect(await a.pusher.occupied('1/')).toEqual(['1/news']);
        expect((await a.pusher.members('1/presence-r')).users.size).toBe(0);
      });

      it('handOver: a stopping node\'s entries go to the live node, which removes and tells them; its later writes change nothing', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const c = await (join as () => Promise<Store>)();
        const heardB = listen(b);
        await c.pusher.count('1/news', 1);
        await c.pusher.join('1/presence-r', 'cat', 'null');
        await b.pusher.count('1/shared', 1);
        await c.pusher.count('1/shared', 1);
        expect(await c.pusher.handOver()).toBe(true);
        await c.pusher.count('1/news', -1);
        await c.pusher.leave('1/presence-r', 'cat');
        expect(await b.pusher.subscriptions('1/news')).toBe(1);
        await until(() => heardB.some(([ch]) => ch.kind === 'vacated'), 'vacated, told by a live node');
        expect(heardB.filter(([ch]) => ch.kind === 'vacated' || ch.kind === 'member_removed' || ch.kind === 'recounted').map(([ch]) => [ch.kind, ch.topic]))
          .toEqual(expect.arrayContaining([['vacated', '1/news'], ['member_removed', '1/presence-r'], ['recounted', '1/shared']]));
        expect(await b.pusher.occupied('1/')).toEqual(['1/shared']);
        expect(await b.pusher.subscriptions('1/shared')).toBe(1);
      });
    }
  });
}

for (const engine of channelEngines) rosterContract(engine);
