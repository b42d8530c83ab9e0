// One contract for every UserRelay implementation (store/contracts/user-relay.ts).
import { describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/contracts/store.js';
import type { UserRequest } from '../../../src/store/contracts/user-relay.js';
import { until } from '../../helpers/wait.js';
import { channelEngines, type ChannelEngine } from './channel-engines.js';

type Frame = [string[], string, Record<string, unknown>];

function listen(store: Store): Frame[] {
  const frames: Frame[] = [];
  store.relay.onFrame((users, frame, args) => frames.push([users, frame, args]));
  return frames;
}

/** The other node's presence id for a user connected there (what UserRelay.ask addresses). */
async function nodeOf(asker: Store, user: string): Promise<string> {
  return (await until(() => asker.presence.userNodes(user)[0], `the node of ${user}`));
}

function userRelayContract(engine: ChannelEngine) {
  describe(`${engine.name} user relay`, () => {
    it('asking a node that is not there answers nothing', async () => {
      const { store } = await engine.open();
      store.relay.onAsk(async () => ({ ok: true, result: {} }));
      expect(await store.relay.ask('no-such-node', { op: 'info', user: 'ann' }, 200)).toBeUndefined();
    });

    if (engine.shared) {
      it('frames reach the other nodes with their users and arguments, never the sending node', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        const heardA = listen(a);
        const heardB = listen(b);
        b.presence.addUser('bob');
        b.relay.onAsk(async (request) => ({ ok: true, result: { user: request.user } }));
        const nodeB = await nodeOf(a, 'bob');
        a.relay.send(['bob', 'cid'], 'MESSAGE', { user: 'ann', payload: { n: 1 } });
        a.relay.send([], 'MESSAGE', { nobody: true });
        // The answer is published after the frame: once it is back, node a has heard whatever it would.
        expect(await a.relay.ask(nodeB, { op: 'info', user: 'bob' }, 5000)).toEqual({ ok: true, result: { user: 'bob' } });
        await until(() => heardB.length > 0, 'the frame on the other node');
        expect(heardB).toEqual([[['bob', 'cid'], 'MESSAGE', { user: 'ann', payload: { n: 1 } }]]);
        expect(heardA).toEqual([]);
      });

      it('a request reaches the node named, whose one handler answers it (or refuses, or fails)', async () => {
        const { store: a, join } = await engine.open();
        const b = await (join as () => Promise<Store>)();
        b.presence.addUser('bob');
        const nodeB = await nodeOf(a, 'bob');
        // No handler yet: the user is not there.
        expect(await a.relay.ask(nodeB, { op: 'info', user: 'bob' }, 5000)).toEqual({ ok: false, msg: 'no such user: bob' });
        const asked: UserRequest[] = [];
        b.relay.onAsk(async (request) => {
          asked.push(request);
          if (request.op === 'unsubscribe') throw new Error('boom');
          return request.op === 'subscribe' ? { ok: false, msg: 'not allowed' } : { ok: true, result: { done: request.op } };
        });
        const requests: UserRequest[] = [
          { op: 'set_options', user: 'bob', options: { reflective: false } },
          { op: 'subscribe', user: 'bob', channel: 'room', auth: true },
          { op: 'unsubscribe', user: 'bob', channel: 'room', auth: false },
        ];
        const answers = [];
        for (const r of requests) answers.push(await a.relay.ask(nodeB, r, 5000));
        expect(asked).toEqual(requests);
        expect(answers).toEqual([{ ok: true, result: { done: 'set_options' } }, { ok: false, msg: 'not allowed' }, { ok: false, msg: 'internal error' }]);
      });
    }
  });
}

for (const engine of channelEngines) userRelayContract(engine);
