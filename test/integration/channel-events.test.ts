// Browser channels' lifecycle on the system topic hookhub.endpoints: a channel occupied and vacated, members
// added and removed, as browsers subscribe and leave over /ws; seen on /sse, by a WebSub subscriber, and
// at the --alert-url webhook (a delivery of its own, retried and in the delivery log).
import { describe, expect, it } from 'vitest';
import { listDeliveries } from '../helpers/dispatch.js';
import { restAuth, restful } from '../helpers/rest-key.js';
import { Receiver } from '../helpers/receiver.js';
import { startHub } from '../helpers/server.js';
import { SseClient } from '../helpers/sse-client.js';
import { until } from '../helpers/wait.js';
import { Subscriber, subscribeActive } from '../helpers/websub.js';
import { HookboxClient } from '../helpers/ws-client.js';

type Event = { type: string; channel?: string; user?: string; at?: string };

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function joined(base: string, name: string, channel: string): Promise<HookboxClient> {
  const c = await HookboxClient.connect(base, { payload: { name } });
  c.send('SUBSCRIBE', { channel_name: channel });
  await c.frame('SUBSCRIBE', (a) => a.channel_name === channel && a.user === name);
  return c;
}

/** `type channel [user]`, the way the tests compare events. */
const line = (e: Event): string => [e.type, e.channel, e.user].filter((x) => x !== undefined).join(' ');

const channelEvents = (events: Event[]): Event[] => events.filter((e) => e.type.startsWith('channel.'));

async function followSse(base: string): Promise<{ sse: SseClient; events: () => Event[] }> {
  const sse = new SseClient(`${base}/sse?topic=hookhub.endpoints`);
  await sse.waitOpen();
  return { sse, events: () => channelEvents(sse.messages().map((m) => m.json.data as Event)) };
}

describe('channel events on the system topic', () => {
  it('occupied, member added, member removed and vacated reach /sse once each, in order, and --alert-url gets each one', async () => {
    const alerts = await Receiver.start();
    const hub = await startHub({ alertUrl: `${alerts.url}/alert` });
    const { sse, events } = await followSse(hub.url);
    await until(() => hub.topics.fanout.count('hookhub.endpoints') === 1, 'subscribed to the system topic');

    const alice = await joined(hub.url, 'alice', 'room');
    const bob = await joined(hub.url, 'bob', 'room');
    // Another connection of alice in the same room: she is a member already.
    const alice2 = await joined(hub.url, 'alice', 'room');
    bob.send('UNSUBSCRIBE', { channel_name: 'room' });
    await bob.frame('UNSUBSCRIBE', (a) => a.user === 'bob');
    // Alice's last connection closing takes her out: the room is empty.
    alice.close();
    alice2.close();
    const seen = await until(() => (events().length >= 6 ? events() : undefined), 'six channel events on /sse');
    expect(seen.map(line)).toEqual([
      'channel.occupied room',
      'channel.member_added room alice',
      'channel.member_added room bob',
      'channel.member_removed room bob',
      'channel.member_removed room alice',
      'channel.vacated room',
    ]);
    // The shape of every event: type, channel, user (members only), at.
    expect(Object.keys(seen[0]!)).toEqual(['type', 'channel', 'at']);
    expect(Object.keys(seen[1]!)).toEqual(['type', 'channel', 'user', 'at']);
    for (const e of seen) expect(e.at).toMatch(ISO);

    // The alert webhook: one POST per event, JSON, the same bodies (deliveries go out concurrently: any order).
    const posted = await alerts.waitFor(6);
    expect(posted.map((r) => r.headers['content-type'])).toEqual(Array(6).fill('application/json'));
    expect(posted.map((r) => line(JSON.parse(r.body.toString()) as Event)).sort()).toEqual(seen.map(line).sort());
    expect(posted.map((r) => JSON.parse(r.body.toString()) as Event).sort((x, y) => line(x).localeCompare(line(y)))).toEqual(
      [...seen].sort((x, y) => line(x).localeCompare(line(y))),
    );
    // Nothing more: each change once.
    await until(async () => (await listDeliveries(hub.url)).json.deliveries.filter((d) => d.status === 'succeeded').length === 6, 'six alert deliveries succeeded');
    expect(events()).toHaveLength(6);
    expect(alerts.received).toHaveLength(6);
    sse.close();
  });

  it('an alert the receiver refuses at first is retried, and shows in the delivery log', async () => {
    let refuse = true;
    const alerts = await Receiver.start((_req, res) => {
      res.writeHead(refuse ? 503 : 200);
      res.end();
      refuse = false;
    });
    const hub = await startHub({ alertUrl: `${alerts.url}/alert`, retrySchedule: [0, 50] });
    const alice = await joined(hub.url, 'alice', 'solo');
    await alerts.waitFor(3);
    const log = await until(async () => {
      const { deliveries } = (await listDeliveries(hub.url)).json;
      return deliveries.length === 2 && deliveries.every((d) => d.status === 'succeeded') ? deliveries : undefined;
    }, 'both alerts delivered');
    expect(log.map((d) => d.url)).toEqual([`${alerts.url}/alert`, `${alerts.url}/alert`]);
    expect(log.map((d) => d.attempts.map((a) => a.status)).sort()).toEqual([[200], [503, 200]]);
    alice.close();
  });

  it('a channel destroyed through REST with members in it: they are removed and it is vacated', async () => {
    const hub = await startHub(restful);
    const { sse, events } = await followSse(hub.url);
    await until(() => hub.topics.fanout.count('hookhub.endpoints') === 1, 'subscribed to the system topic');
    const ann = await joined(hub.url, 'ann', 'stage');
    const res = await fetch(`${hub.url}/rest/destroy_channel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...restAuth },
      body: 'channel_name=stage',
    });
    expect(await res.json()).toEqual([true, {}]);
    await ann.frame('UNSUBSCRIBE', (a) => a.channel_name === 'stage');
    const seen = await until(() => (events().length >= 4 ? events() : undefined), 'four channel events on /sse');
    expect(seen.map(line)).toEqual(['channel.occupied stage', 'channel.member_added stage ann', 'channel.member_removed stage ann', 'channel.vacated stage']);
    sse.close();
  });

  it('browsers cannot make the system topic a channel: no reading, no forging operational events', async () => {
    const hub = await startHub(restful);
    const eve = await HookboxClient.connect(hub.url, { payload: { name: 'eve' } });
    const refused = 'channel_name hookhub.endpoints is the system topic of operational events, not a channel';
    const sub = eve.send('SUBSCRIBE', { channel_name: 'hookhub.endpoints' });
    expect((await eve.error(sub))[2].msg).toBe(refused);
    const pub = eve.send('PUBLISH', { channel_name: 'hookhub.endpoints', payload: { type: 'endpoint.enabled' } });
    expect((await eve.error(pub))[2].msg).toMatch(/hookhub.endpoints/);
    const res = await fetch(`${hub.url}/rest/create_channel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...restAuth },
      body: 'channel_name=hookhub.endpoints',
    });
    expect(await res.json()).toEqual([false, { msg: refused }]);
    expect((await hub.topics.bounds('hookhub.endpoints')).last).toBe(0);
    expect(hub.channels.node.channels.has('hookhub.endpoints')).toBe(false);
  });

  it('a WebSub subscriber of hookhub.endpoints gets the channel events', async () => {
    const hub = await startHub();
    const sub = await Subscriber.start();
    await subscribeActive(hub, `${sub.receiver.url}/events`, 'hookhub.endpoints');
    const ann = await joined(hub.url, 'ann', 'lobby');
    ann.send('UNSUBSCRIBE', { channel_name: 'lobby' });
    const notes = await sub.waitNotifications(4);
    expect(notes.map((n) => line(JSON.parse(n.body.toString()) as Event))).toEqual([
      'channel.occupied lobby',
      'channel.member_added lobby ann',
      'channel.member_removed lobby ann',
      'channel.vacated lobby',
    ]);
    expect(notes[0]!.headers['content-type']).toBe('application/json');
  });
});
