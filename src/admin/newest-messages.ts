// The newest messages of a topic for the console, bounded in count and in bytes: read backwards a
// few at a time, so a topic of large messages never loads more than about `maxBytes` at once.
import type { Message } from '../core/message.js';

/** Messages read per step: each may be as large as --max-body. */
const STEP = 16;

export interface NewestRequest {
  /** The topic's newest offset, and the oldest it still keeps. */
  last: number;
  first: number;
  limit: number;
  /** Stops before a message that would pass this many payload bytes (the newest always goes). */
  maxBytes: number;
  read(since: number, limit: number): Promise<Message[]>;
}

/** Oldest first; `complete` is false when the byte bound left out messages `limit` would have taken. */
export async function newestMessages(req: NewestRequest): Promise<{ messages: Message[]; complete: boolean }> {
  const kept: Message[] = [];
  let bytes = 0;
  let end = req.last;
  const floor = Math.max(req.first - 1, req.last - req.limit, 0);
  while (end > floor) {
    const since = Math.max(floor, end - STEP);
    const page = await req.read(since, end - since);
    for (let i = page.length - 1; i >= 0; i--) {
      const m = page[i]!;
      if (kept.length > 0 && bytes + m.body.length > req.maxBytes) return { messages: kept.reverse(), complete: false };
      kept.push(m);
      bytes += m.body.length;
    }
    end = since;
  }
  return { messages: kept.reverse(), complete: true };
}
