// A topic's history as one JSON answer {"messages":[…], "next_since"?: n}, written message by message
// (never built as one string) and bounded in bytes: it stops early and says where to continue.
import { Readable } from 'node:stream';
import { messageJsonText, type Message } from '../core/message.js';

/** Messages read from the store at a time: a few, since each may be as large as --max-body. */
const READ_PAGE = 16;

export interface HistoryRequest {
  since: number;
  limit: number;
  /** The answer stops before a message that would take it past this many bytes (the first always goes). */
  maxBytes: number;
  read(since: number, limit: number): Promise<Message[]>;
}

/**
 * Reads the first page now (so a bad topic or an unreachable store is an ordinary error answer),
 * then streams the rest. `next_since` is present when the answer stopped before the end of the
 * history (the byte bound or `limit`): pass it as `since` for the next part.
 */
export async function historyResponse(req: HistoryRequest): Promise<Readable> {
  const first = await req.read(req.since, Math.min(req.limit, READ_PAGE));
  return Readable.from(chunks(req, first), { objectMode: false });
}

async function* chunks(req: HistoryRequest, first: Message[]): AsyncGenerator<string> {
  const opening = '{"messages":[';
  yield opening;
  let bytes = opening.length;
  let sent = 0;
  let position = req.since;
  let next: number | undefined;
  let page = first;
  let asked = Math.min(req.limit, READ_PAGE);
  for (;;) {
    for (const m of page) {
      const text = messageJsonText(m);
      const size = Buffer.byteLength(text) + 1;
      if (sent > 0 && bytes + size > req.maxBytes) {
        next = position;
        break;
      }
      yield sent > 0 ? `,${text}` : text;
      bytes += size;
      sent++;
      position = m.offset;
    }
    if (next !== undefined || page.length < asked) break;
    if (sent === req.limit) {
      if ((await req.read(position, 1)).length > 0) next = position;
      break;
    }
    asked = Math.min(req.limit - sent, READ_PAGE);
    page = await req.read(position, asked);
  }
  yield next === undefined ? ']}' : `],"next_since":${next}}`;
}
