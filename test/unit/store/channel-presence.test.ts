// One contract for every ChannelPresence implementation (store/contracts/channel-presence.ts).
import { describe, expect, it } from 'vitest';
import type { ChannelPresence, MembershipChange } from '../../../src/store/contracts/channel-presence.js';
import type { Store } from '../../../src/store/contracts/store.js';
import { until } from '../../helpers/wait.js';
import { channelEngines, closeNode, type ChannelEngine } from './channel-engines.js';

type Heard = Array<[string, string, boolean, boolean]>;

function listen(presence: ChannelPresence): Heard {
  const heard: Heard = [];
  presence.onChange((channel, user, present, nodeLost) => heard.push([channel, user, present, nodeLost]));
  return heard;
}

/** The membership changes a node tells, as `kind channel [user]` lines. */
function told(presence: ChannelPresence, into: string[] = []): string[] {
  const line = (c: MembershipChange): string => ('user' in c ? `${c.kind} ${c.channel} ${c.user}` : `${c.kind} ${c.channel}`);
  presence.onMembership((c) => into.push(line(c)));
  return into;
}

const count = (lines: readonly string[], line: string): number => lines.filter((l) => l === line).length;

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

    it('membership changes are told once each, in order: occupied, members added and removed, vacated', async () => {
      const { store } = await engine.open();
      const lines = told(store.presence);
      store.presence.add('room', 'ann');
      store.presence.add('room', 'bob');
      store.presence.add('room', 'ann');
      store.presence.add('hall', 'ann');
      // Connected users are no channel's members.
      store.presence.addUser('ann');
      await store.presence.flush();
      expect(lines).toEqual(['occupied room', 'member_added room ann', 'member_added room bob', 'occupied hall', 'member_added hall ann']);
      lines.length = 0;
      store.presence.remove('room', 'ann');
      store.presence.remove('room', 'ann');
      store.presence.remove('room', 'bob');
      store.presence.removeUser('ann');
      await store.presence.flush();
      expect(lines).toEqual(['member_removed room ann', 'member_removed room bob', 'vacated room']);
      // A channel vacated can be occupied again.
      lines.length = 0;
      store.presence.add('room', 'cyd');
      await store.presence.flush();
      expect(lines).toEqual(['occupied room', 'member_added room cyd']);
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

      it('a user on two nodes is one member: added by the first node to hold it, removed by the last', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const [toldA, toldB] = [told(a.presence), told(b.presence)];
        a.presence.add('room', 'ann');
        await a.presence.flush();
        b.presence.add('room', 'ann');
        b.presence.add('room', 'bob');
        await b.presence.flush();
        expect(toldA).toEqual(['occupied room', 'member_added room ann']);
        expect(toldB).toEqual(['member_added room bob']);
        a.presence.remove('room', 'ann');
        await a.presence.flush();
        expect(toldA).toEqual(['occupied room', 'member_added room ann']);
        b.presence.remove('room', 'ann');
        b.presence.remove('room', 'bob');
        await b.presence.flush();
        expect(toldB).toEqual(['member_added room bob', 'member_removed room ann', 'member_removed room bob', 'vacated room']);
      });

      it('nodes racing for the same members: each change is told exactly once in the cluster', async () => {
        const { store: a, join } = await engine.open();
        const nodes = [a, await (join as () => Promise<Store>)(), await (join as () => Promise<Store>)()];
        const lines: string[] = [];
        for (const n of nodes) told(n.presence, lines);
        const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
        for (const u of users) for (const n of nodes) n.presence.add('race', u);
        await Promise.all(nodes.map((n) => n.presence.flush()));
        expect(count(lines, 'occupied race')).toBe(1);
        for (const u of users) expect(count(lines, `member_added race ${u}`)).toBe(1);
        expect(lines).toHaveLength(21);
        lines.length = 0;
        for (const u of users) for (const n of nodes) n.presence.remove('race', u);
        await Promise.all(nodes.map((n) => n.presence.flush()));
        for (const u of users) expect(count(lines, `member_removed race ${u}`)).toBe(1);
        expect(count(lines, 'vacated race')).toBe(1);
        // (In which order the nodes hear their answers is theirs: each one's own changes come in order.)
        expect(lines).toHaveLength(21);
      });

      it('a node that stops holding members: they leave once, told by one survivor', async () => {
        const { store: a, join } = await engine.open();
        const [b, c] = [await (join as () => Promise<Store>)(), await (join as () => Promise<Store>)()];
        a.presence.add('room', 'ann');
        a.presence.add('room', 'bob');
        a.presence.add('hall', 'cyd');
        await a.presence.flush();
        c.presence.add('hall', 'cyd');
        await c.presence.flush();
        await until(() => b.presence.remote('room').size === 2 && c.presence.remote('room').size === 2, 'both survivors to see the members');
        const lines: string[] = [];
        const [toldB, toldC] = [told(b.presence), told(c.presence)];
        await closeNode(a);
        // Each survivor drops the stopped node from its mirror and tries to take its members out in the same step.
        await until(() => b.presence.remote('room').size === 0 && c.presence.remote('room').size === 0, 'the survivors to hear the node is gone');
        await Promise.all([b.presence.flush(), c.presence.flush()]);
        lines.push(...toldB, ...toldC);
        expect(lines.sort()).toEqual(['member_removed room ann', 'member_removed room bob', 'vacated room']);
        // One survivor told it all; cyd is still in the hall through c.
        expect([toldB.length, toldC.length].sort()).toEqual([0, 3]);
        c.presence.remove('hall', 'cyd');
        await c.presence.flush();
        expect(toldC.slice(-2)).toEqual(['member_removed hall cyd', 'vacated hall']);
      });
    }
  });
}

for (const engine of channelEngines) channelPresenceContract(engine);
