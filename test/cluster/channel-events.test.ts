// Channel lifecycle events on several nodes sharing Redis: each cluster-wide change is published once
// (the first member anywhere occupies, the last one anywhere vacates; a user on two nodes is one member),
// and a node that stops or is killed with members on it has them removed once, by one survivor.
import { describe, expect, it } from 'vitest';
import { spawnHub } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';
import { REDIS_URL, redisProxy } from '../helpers/redis.js';
import { startHub, stopHub } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { sleep, until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { getJson, startNodes } from './nodes.js';

type Event = { type: string; channel?: string; user?: string; at?: string };

const line = (e: Event): string => [e.type, e.channel, e.user].filter((x) => x !== undefined).join(' ');

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && a.user === name);
  return c;
}

async function leave(c: HookboxClient, name: string, channel: string): Promise<void> {
  c.send('UNSUBSCRIBE', { channel_name: channel });
  await c.frame('UNSUBSCRIBE', (a) => a.channel_name === channel && a.user === name);
}

/** The channel events in the system topic's history (shared by the nodes). */
async function history(base: string): Promise<string[]> {
  const { status, body } = await getJson<{ messages: Array<{ data: Event }> }>(`${base}/api/topics/hookhub.endpoints/history?limit=1000`);
  if (status === 404) return [];
  return body.messages.map((m) => m.data).filter((e) => e.type.startsWith('channel.')).map(line);
}

/** Waits for the history to hold `expected` (in any order), then a while longer: nothing more comes. */
async function exactly(base: string, expected: string[], timeoutMs = 10_000): Promise<string[]> {
  const want = [...expected].sort();
  await until(async () => (await history(base)).length >= want.length, `${want.length} channel events (have ${(await history(base)).join(', ')})`, timeoutMs);
  // Late duplicates (another node's answer, a second reaper) would be published by then.
  await sleep(500);
  const got = await history(base);
  expect([...got].sort()).toEqual(want);
  return got;
}

describe('cluster: channel events', () => {
  it('each change is published once, whichever node makes it; /sse on every node and the alert webhook see it once', async () => {
    const alerts = await Receiver.start();
    const { nodes: [a, b] } = await startNodes(2, { alertUrl: `${alerts.url}/alert` });
    const sses = [new SseClient(`${a!.url}/sse?topic=hookhub.endpoints`), new SseClient(`${b!.url}/sse?topic=hookhub.endpoints`)];
    for (const s of sses) await s.waitOpen();
    await until(() => a!.topics.fanout.count('hookhub.endpoints') === 1 && b!.topics.fanout.count('hookhub.endpoints') === 1, 'both nodes followed');
    const aliceA = await joined(a!.url, 'alice', 'room');
    const aliceB = await joined(b!.url, 'alice', 'room');
    const bobB = await joined(b!.url, 'bob', 'room');
    // Alice is still in the room through node B: leaving on A changes nothing cluster-wide.
    await leave(aliceA, 'alice', 'room');
    await leave(aliceB, 'alice', 'room');
    await leave(bobB, 'bob', 'room');
    const all = [
      'channel.occupied room',
      'channel.member_added room alice',
      'channel.member_added room bob',
      'channel.member_removed room alice',
      'channel.member_removed room bob',
      'channel.vacated room',
    ];
    const got = await exactly(a!.url, all);
    // One node made each change in turn here: the topic has them in the order they were made.
    expect(got).toEqual(all);
    for (const s of sses) expect(s.messages().map((m) => line(m.json.data as Event))).toEqual(all);
    const posted = await alerts.waitFor(6);
    await sleep(200);
    expect(alerts.received).toHaveLength(6);
    expect(posted.map((r) => line(JSON.parse(r.body.toString()) as Event)).sort()).toEqual([...all].sort());
    for (const s of sses) s.close();
  });

  it('a user on two nodes joining at once is added once; users racing into one channel occupy it once', async () => {
    const { nodes } = await startNodes(2);
    const names = ['u1', 'u2', 'u3', 'u4'];
    const clients = await Promise.all(nodes.flatMap((n) => names.map((name) => joined(n.url, name, 'crowd'))));
    await exactly(nodes[0]!.url, ['channel.occupied crowd', ...names.map((n) => `channel.member_added crowd ${n}`)]);
    for (const c of clients) c.close();
    await exactly(nodes[1]!.url, [
      'channel.occupied crowd',
      ...names.map((n) => `channel.member_added crowd ${n}`),
      ...names.map((n) => `channel.member_removed crowd ${n}`),
      'channel.vacated crowd',
    ]);
  });

  it('a node stopped with members: they are removed once, the channel only it held vacated once', async () => {
    const { nodes: [a, b, c] } = await startNodes(3);
    await joined(a!.url, 'bob', 'room');
    await joined(c!.url, 'dan', 'room');
    await joined(c!.url, 'cyd', 'hall');
    const before = ['channel.occupied room', 'channel.member_added room bob', 'channel.member_added room dan', 'channel.occupied hall', 'channel.member_added hall cyd'];
    await exactly(a!.url, before);
    await stopHub(c!);
    await exactly(b!.url, [...before, 'channel.member_removed room dan', 'channel.member_removed hall cyd', 'channel.vacated hall']);
  });

  it('a member leaving while its node cannot reach Redis: the change is made, and published once, when Redis is back', async () => {
    const { prefix, nodes: [a] } = await startNodes(1);
    const proxy = await redisProxy();
    const cutOff = await startHub({ store: 'redis', redisUrl: proxy.url, redisPrefix: prefix });
    const alice = await joined(cutOff.url, 'alice', 'attic');
    const before = ['channel.occupied attic', 'channel.member_added attic alice'];
    await exactly(a!.url, before);
    await proxy.cut();
    alice.close();
    await until(() => cutOff.channels.node.users.size === 0, 'alice gone from the cut-off node');
    // Back within the presence lease: the node was never taken for dead.
    await sleep(300);
    await proxy.restore();
    await exactly(a!.url, [...before, 'channel.member_removed attic alice', 'channel.vacated attic']);
  });

  it('a node killed (SIGKILL) with members: one survivor removes them once, within the presence lease', async () => {
    const { prefix, nodes: [a, b] } = await startNodes(2);
    const doomed = await spawnHub({ HOOKHUB_STORE: 'redis', HOOKHUB_REDIS_URL: REDIS_URL, HOOKHUB_REDIS_PREFIX: prefix });
    await joined(a!.url, 'wendy', 'den');
    await joined(doomed.url, 'ghost', 'den');
    await joined(doomed.url, 'ghost', 'solo');
    const before = ['channel.occupied den', 'channel.member_added den wendy', 'channel.member_added den ghost', 'channel.occupied solo', 'channel.member_added solo ghost'];
    await exactly(a!.url, before);
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();
    // Presence lives 6 s past the last refresh (every 2 s); the survivors look every 2 s.
    await exactly(b!.url, [...before, 'channel.member_removed den ghost', 'channel.member_removed solo ghost', 'channel.vacated solo'], 15_000);
    expect(Date.now() - killedAt).toBeLessThan(12_000);
  }, 30_000);
});
