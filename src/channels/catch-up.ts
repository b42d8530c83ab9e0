// Exact recovery for connections that track offsets (CONNECT {offsets: true}, Hookhub's client): a
// resubscription says the last offset it saw (SUBSCRIBE {since}) and gets exactly the publishes after it,
// from the topic's history, right behind its SUBSCRIBE frame and before any live one. Messages delivered
// to the channel while the subscription is being made wait in the channel's catch-up buffer for that
// connection, so nothing falls between the history read and the join; offsets remove the overlap.
import type { Message } from '../core/message.js';
import { beganAgainSince, type StreamPosition, type Topics } from '../core/topics.js';
import type { Channel } from './model.js';
import { publishTailWithOffset, type FrameTail } from './protocol.js';

const PAGE = 500;
/** Publishes replayed at most (a topic's history is bounded anyway); past it the recovery is incomplete. */
const MAX_REPLAY = 10_000;

/** What the topic log held after `since` when the subscription was made. */
export interface Missed {
  since: number | undefined;
  /** The topic's last offset when read, and the epoch of its log ('' when there is none yet). */
  last: number;
  epoch: string;
  replay: Message[];
  /** History held everything after `since` (always true without `since`). */
  complete: boolean;
  /** The log began again since the connection's position (another epoch, or a position past the head). */
  reset: boolean;
}

/** `asked`: SUBSCRIBE {since, epoch?} — the last offset the connection saw, and the epoch of that log when it knows. */
export async function readMissed(topics: Topics, topic: string, asked: StreamPosition | undefined): Promise<Missed> {
  const bounds = await topics.bounds(topic);
  const replay: Message[] = [];
  const reset = asked !== undefined && beganAgainSince(asked, bounds);
  // After a reset, everything the new log holds is missed.
  const since = asked === undefined ? undefined : reset ? 0 : asked.offset;
  const base = { since, last: bounds.last, epoch: bounds.epoch, replay, reset };
  if (since === undefined || since >= bounds.last) return { ...base, complete: !reset };
  let position = since;
  let capped = false;
  while (position < bounds.last) {
    const page = await topics.history(topic, position, PAGE);
    for (const m of page) if (m.offset <= bounds.last) replay.push(m);
    if (page.length === 0) break;
    position = (page[page.length - 1] as Message).offset;
    if (replay.length >= MAX_REPLAY) {
      capped = position < bounds.last;
      break;
    }
    if (page.length < PAGE) break;
  }
  return { ...base, complete: !reset && !capped && bounds.first <= since + 1 };
}

/** The SUBSCRIBE frame's extra fields and the PUBLISH frames that follow it, for the subscribing connection. */
export interface CatchUp {
  args: { offset: number; epoch?: string; recovered?: boolean; replayed?: number; reset?: true };
  frames: FrameTail[];
}

/**
 * Built at the join, synchronously: the replay plus what was delivered meanwhile (`buffered`), after
 * `since` (or after the topic's last offset for a first subscription), in offset order, once each. A
 * channel that does not reflect publishes leaves out the subscriber's own.
 */
export function catchUp(ch: Channel, userName: string, missed: Missed, buffered: readonly Message[]): CatchUp {
  const base = missed.since ?? missed.last;
  const byOffset = new Map<number, Message>();
  for (const m of [...missed.replay, ...buffered]) if (m.offset > base) byOffset.set(m.offset, m);
  const out = [...byOffset.values()].sort((a, b) => a.offset - b.offset);
  const position = out.length > 0 ? Math.max(base, (out[out.length - 1] as Message).offset) : base;
  const own = (m: Message): boolean => !ch.options.reflective && m.author === userName;
  const frames = out.filter((m) => !own(m)).map(publishTailWithOffset);
  return {
    args: {
      offset: position,
      ...(missed.epoch !== '' ? { epoch: missed.epoch } : {}),
      ...(missed.since !== undefined ? { recovered: missed.complete, replayed: frames.length } : {}),
      ...(missed.reset ? { reset: true as const } : {}),
    },
    frames,
  };
}
