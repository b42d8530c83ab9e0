// Pusher webhooks through Hookhub's dispatcher to a real receiver, which judges them with the `pusher`
// SDK's own webhook().isValid(): batched bodies, Pusher's signature, retries, resend, delayed leaves.
import { afterEach, describe, expect, it } from 'vitest';
import Pusher from 'pusher';
import { startHub } from '../helpers/server.js';
import { Receiver, type Received } from '../helpers/receiver.js';
import { call } from '../helpers/http.js';
import { sleep, until } from '../helpers/wait.js';
import { APP_1 } from '../helpers/pusher-sdk.js';
import { PusherWebhooks } from '../../src/pusher/webhooks.js';
import type { PusherApp } from '../../src/pusher/contracts.js';
import { APP, client, disconnectAll, pusherOptions, serverSdk, subscribed } from '../helpers/pusher.js';

const verifier = new Pusher({ appId: APP_1.id, key: APP_1.key, secret: APP_1.secret, host: '127.0.0.1' });

/** What the SDK makes of a received webhook: valid or not, and its events. */
function judged(r: Received): { valid: boolean; events: unknown[]; timeMs: number } {
  const hook = verifier.webhook({ headers: r.headers as Record<string, string>, rawBody: r.body.toString('utf8') });
  const valid = hook.isValid();
  return { valid, events: valid ? hook.getEvents() : [], timeMs: valid ? hook.getTime().getTime() : 0 };
}

const appTo = (receiver: Receiver): PusherApp => ({ ...APP_1, webhookUrl: `${receiver.url}/pusher/webhooks` });

describe('Pusher webhooks', () => {
  it('events of one moment go out as one request the SDK validates, with Pusher\'s headers and nothing else signed', async () => {
    const hub = await startHub();
    const receiver = await Receiver.start();
    const sink = new PusherWebhooks({ queue: hub.webhooks, leaveDelayMs: 200 });
    const app = appTo(receiver);
    const before = Date.now();
    sink.emit(app, { name: 'channel_occupied', channel: 'presence-room' });
    sink.emit(app, { name: 'member_added', channel: 'presence-room', user_id: 'alice' });
    sink.emit(app, { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"on":true}', socket_id: '1.2' });
    const [r] = await receiver.waitFor(1);
    expect(r!.method).toBe('POST');
    expect(r!.url).toBe('/pusher/webhooks');
    expect(r!.headers['content-type']).toBe('application/json');
    expect(r!.headers['x-pusher-key']).toBe(APP_1.key);
    expect(r!.headers['webhook-id']).toBeUndefined();
    const hook = judged(r!);
    expect(hook.valid).toBe(true);
    expect(hook.timeMs).toBeGreaterThanOrEqual(before);
    expect(hook.events).toEqual([
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"on":true}', socket_id: '1.2' },
    ]);
    // The SDK refuses the same body under another secret or with a changed byte: the check above can fail.
    const other = new Pusher({ appId: APP_1.id, key: APP_1.key, secret: 'other', host: '127.0.0.1' });
    expect(other.webhook({ headers: r!.headers as Record<string, string>, rawBody: r!.body.toString('utf8') }).isValid()).toBe(false);
    expect(verifier.webhook({ headers: r!.headers as Record<string, string>, rawBody: r!.body.toString('utf8').replace('alice', 'alicf') }).isValid()).toBe(false);
    await sink.close();
  });

  it('a receiver that fails first gets the same signed webhook again; the delivery log shows it and resends it', async () => {
    const hub = await startHub({ retrySchedule: [0, 50, 50] });
    let calls = 0;
    const receiver = await Receiver.start((_req, res) => {
      calls++;
      res.writeHead(calls === 1 ? 503 : 200).end();
    });
    const sink = new PusherWebhooks({ queue: hub.webhooks });
    sink.emit(appTo(receiver), { name: 'channel_occupied', channel: 'news' });
    const [first, second] = await receiver.waitFor(2);
    expect(second!.body.equals(first!.body)).toBe(true);
    expect(judged(second!)).toMatchObject({ valid: true, events: [{ name: 'channel_occupied', channel: 'news' }] });

    const log = await until(async () => {
      const res = await call<{ deliveries: Array<{ id: string; status: string; attempts: Array<{ status: number }>; origin?: unknown; ordering_key?: string }> }>(`${hub.url}/api/deliveries`);
      const d = res.body.deliveries[0];
      return d?.status === 'succeeded' ? d : undefined;
    }, 'the delivery logged as succeeded');
    expect(log).toMatchObject({ origin: { kind: 'pusher', ref: APP_1.id }, ordering_key: 'pusher/1' });
    expect(log.attempts.map((a) => a.status)).toEqual([503, 200]);
    const resend = await call(`${hub.url}/api/deliveries/${log.id}/retry`, { method: 'POST' });
    expect(resend.status).toBe(202);
    const third = (await receiver.waitFor(3))[2]!;
    expect(judged(third).valid).toBe(true);
    await sink.close();
  });

  it('channel_vacated waits the delay, then goes out; an app without a webhook URL sends nothing', async () => {
    const hub = await startHub();
    const receiver = await Receiver.start();
    const sink = new PusherWebhooks({ queue: hub.webhooks, leaveDelayMs: 300 });
    sink.emit({ ...APP_1 }, { name: 'channel_occupied', channel: 'silent' });
    const left = Date.now();
    sink.emit(appTo(receiver), { name: 'channel_vacated', channel: 'news' });
    const [r] = await receiver.waitFor(1);
    expect(r!.at - left).toBeGreaterThanOrEqual(300);
    expect(judged(r!).events).toEqual([{ name: 'channel_vacated', channel: 'news' }]);
    await sink.close();
  });

  it('a channel occupied again, or a member added again, within the delay sends neither event', async () => {
    const hub = await startHub();
    const receiver = await Receiver.start();
    const sink = new PusherWebhooks({ queue: hub.webhooks, leaveDelayMs: 200 });
    const app = appTo(receiver);
    sink.emit(app, { name: 'member_removed', channel: 'presence-room', user_id: 'alice' });
    sink.emit(app, { name: 'channel_vacated', channel: 'presence-room' });
    // Another member's leave is not cancelled by alice's return.
    sink.emit(app, { name: 'member_removed', channel: 'presence-room', user_id: 'bob' });
    sink.emit(app, { name: 'channel_occupied', channel: 'presence-room' });
    sink.emit(app, { name: 'member_added', channel: 'presence-room', user_id: 'alice' });
    // Past the delay, a marker: the app's webhooks go out in order, so anything left over came before it.
    await sleep(300);
    sink.emit(app, { name: 'channel_occupied', channel: 'marker' });
    await until(() => receiver.received.some((r) => r.body.includes('marker')), 'the marker webhook');
    const events = receiver.received.flatMap((r) => judged(r).events);
    expect(events).toEqual([
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
      { name: 'channel_occupied', channel: 'marker' },
    ]);
    await sink.close();
  });

  it('in a request, a channel\'s occupied precedes its member_added and its member_removed precedes its vacated', async () => {
    const hub = await startHub();
    const receiver = await Receiver.start();
    const sink = new PusherWebhooks({ queue: hub.webhooks, leaveDelayMs: 0 });
    const app = appTo(receiver);
    sink.emit(app, { name: 'member_added', channel: 'presence-a', user_id: 'u' });
    sink.emit(app, { name: 'channel_occupied', channel: 'presence-b' });
    sink.emit(app, { name: 'channel_occupied', channel: 'presence-a' });
    await sink.close();
    sink.emit(app, { name: 'channel_vacated', channel: 'presence-a' });
    sink.emit(app, { name: 'member_removed', channel: 'presence-a', user_id: 'u' });
    const got = await receiver.waitFor(3);
    expect(judged(got[0]!).events).toEqual([
      { name: 'channel_occupied', channel: 'presence-a' },
      { name: 'member_added', channel: 'presence-a', user_id: 'u' },
      { name: 'channel_occupied', channel: 'presence-b' },
    ]);
    // After close nothing waits: each leave is its own request, in the order reported.
    expect(got.slice(1).flatMap((r) => judged(r).events.map((e) => (e as { name: string }).name))).toEqual(['channel_vacated', 'member_removed']);
  });

  it('close sends the leaves still waiting at once', async () => {
    const hub = await startHub();
    const receiver = await Receiver.start();
    const sink = new PusherWebhooks({ queue: hub.webhooks, leaveDelayMs: 60_000 });
    sink.emit(appTo(receiver), { name: 'channel_vacated', channel: 'news' });
    await sink.close();
    const [r] = await receiver.waitFor(1);
    expect(judged(r!).events).toEqual([{ name: 'channel_vacated', channel: 'news' }]);
  });
});

describe('Pusher webhooks from pusher-js connections', () => {
  afterEach(() => disconnectAll());

  const sdkVerifier = new Pusher({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });
  const eventsOf = (received: Received[]): Array<Record<string, unknown>> => received.flatMap((r) => {
    const hook = sdkVerifier.webhook({ headers: r.headers as Record<string, string>, rawBody: r.body.toString('utf8') });
    expect(hook.isValid()).toBe(true);
    return hook.getEvents() as unknown as Array<Record<string, unknown>>;
  });

  it('occupied, member_added and client_event at once; member_removed and vacated after 3 s', async () => {
    const receiver = await Receiver.start();
    const hub = await startHub({ ...pusherOptions(), pusherWebhookUrl: `${receiver.url}/hooks` });
    const alice = client(hub, { user: { id: 'alice' } });
    await subscribed(alice, 'presence-room');
    await subscribed(alice, 'private-chat');
    alice.channel('private-chat')!.trigger('client-typing', { on: true });
    await until(() => eventsOf(receiver.received).length >= 4, 'four events');
    expect(eventsOf(receiver.received)).toEqual([
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'channel_occupied', channel: 'private-chat' },
      { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"on":true}', socket_id: alice.connection.socket_id },
    ]);
    expect(eventsOf(receiver.received)).toHaveLength(4);
    const before = receiver.received.length;
    const left = Date.now();
    alice.unsubscribe('presence-room');
    const [late] = (await receiver.waitFor(before + 1, 10_000)).slice(before);
    expect(late!.at - left).toBeGreaterThanOrEqual(2900);
    await until(() => eventsOf(receiver.received.slice(before)).length >= 2, 'both leaves');
    expect(eventsOf(receiver.received.slice(before))).toEqual([
      { name: 'member_removed', channel: 'presence-room', user_id: 'alice' },
      { name: 'channel_vacated', channel: 'presence-room' },
    ]);
  });

  it('a quick resubscribe within the delay sends no vacated and no member_removed', async () => {
    const receiver = await Receiver.start();
    const hub = await startHub({ ...pusherOptions(), pusherWebhookUrl: `${receiver.url}/hooks` });
    const alice = client(hub, { user: { id: 'alice' } });
    await subscribed(alice, 'presence-room');
    await until(() => eventsOf(receiver.received).length >= 2, 'occupied and member_added');
    alice.unsubscribe('presence-room');
    await until(async () => ((await (await serverSdk(hub).get({ path: '/channels/presence-room' })).json()) as { occupied: boolean }).occupied === false, 'vacated on the server');
    await subscribed(alice, 'presence-room');
    // Past the 3 s delay, a marker: the app's webhooks go out in order, so a leave sent would come before it.
    await sleep(3300);
    await subscribed(alice, 'marker');
    await until(() => eventsOf(receiver.received).some((e) => e.channel === 'marker'), 'the marker webhook');
    expect(eventsOf(receiver.received)).toEqual([
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'channel_occupied', channel: 'marker' },
    ]);
  });
});
