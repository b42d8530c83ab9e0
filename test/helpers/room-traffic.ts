// Traffic on one Hookbox channel, 'room', for the recovery tests: subscribers, numbered publishes, and what
// a connection saw (SUBSCRIBE frames and PUBLISH offsets, in arrival order).
import { HookboxClient, type Frame } from './ws-client.js';

/** SUBSCRIBE frames as 'SUBSCRIBE', PUBLISH frames as their offsets, in arrival order. */
export const wire = (c: HookboxClient): (string | number)[] =>
  c.frames.filter((f: Frame) => f[1] === 'SUBSCRIBE' || f[1] === 'PUBLISH').map((f) => (f[1] === 'PUBLISH' ? (f[2].offset as number) : 'SUBSCRIBE'));

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A connection of user `name` subscribed to 'room' (tracking offsets when `offsets`). */
export async function subscribed(url: string, name: string, offsets: boolean): Promise<HookboxClient> {
  const c = await HookboxClient.connect(url, { payload: { name }, offsets });
  c.send('SUBSCRIBE', { channel_name: 'room' });
  await c.frame('SUBSCRIBE', (a) => a.user === name);
  return c;
}

/** Publishes `from`..`to` through `poster` (subscribed, reflective) and waits until it hears the last one. */
export async function post(poster: HookboxClient, from: number, to: number): Promise<void> {
  for (const n of range(from, to)) poster.send('PUBLISH', { channel_name: 'room', payload: n });
  await poster.frame('PUBLISH', (a) => a.payload === to);
}
