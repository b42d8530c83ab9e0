// Topics.publish's `local` option: this node's fan-out sees it while it hands the message on; the stored
// message keeps nothing of it, and other nodes (one Redis) get the message without it.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { createMetrics } from '../../../src/core/metrics.js';
import { Topics } from '../../../src/core/topics.js';
import type { Store } from '../../../src/store/index.js';
import { createMemoryStore } from '../../../src/store/memory/index.js';
import { deleteKeysUnder, openRedisStore, redisPrefix } from '../../helpers/redis.js';
import { until } from '../../helpers/wait.js';

/** A live consumer that notes, at delivery, the local part each message carried. */
function watch(topics: Topics, topic: string): Array<object | undefined> {
  const seen: Array<object | undefined> = [];
  topics.openLive(topic, { message: (m: Message) => seen.push(m.local), gap() {}, reset() {}, overflow() {} });
  return seen;
}

describe('Topics.publish local option', () => {
  const stores: Store[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(prefixes.splice(0).map((p) => deleteKeysUnder(p)));
  });

  it('reaches this node\'s fan-out and is not kept with the stored message', async () => {
    const store = createMemoryStore({ historySize: 10 });
    stores.push(store);
    const topics = new Topics(store.topics, createMetrics());
    const seen = watch(topics, 't');
    const local = { who: 'alice' };
    const m = await topics.publish('t', { contentType: 'text/plain', body: Buffer.from('x') }, { local });
    await topics.publish('t', { contentType: 'text/plain', body: Buffer.from('y') });
    expect(seen).toEqual([local, undefined]);
    expect(m.local).toBeUndefined();
    const [stored] = await topics.history('t', 0, 1);
    expect(stored?.local).toBeUndefined();
  });

  it('stays on the publishing node with a shared store', async () => {
    const prefix = redisPrefix();
    prefixes.push(prefix);
    const [a, b] = await Promise.all([openRedisStore(10, prefix), openRedisStore(10, prefix)]);
    stores.push(a as Store, b as Store);
    const here = new Topics((a as Store).topics, createMetrics());
    const there = new Topics((b as Store).topics, createMetrics());
    const seenHere = watch(here, 't');
    const seenThere = watch(there, 't');
    const local = { who: 'alice' };
    const m = await here.publish('t', { contentType: 'text/plain', body: Buffer.from('x'), author: 'alice' }, { local });
    expect(seenHere).toEqual([local]);
    // The other node has it from the store: with its author, without the local part.
    await until(() => seenThere.length === 1, 'the other node\'s fan-out');
    expect(seenThere).toEqual([undefined]);
    expect(m.author).toBe('alice');
  });
});
