// The fixed part of the rows this process queued lately: everything an update never changes (URL, headers,
// body, settings), as the delivery was handed to enqueue. A claim of such a row reads only the columns that
// change (attempts, due time: CLAIM_COLUMNS in delivery-queue.ts) and takes the rest from here, instead of
// reading and decoding the whole row (its body copied out of SQLite, its headers parsed again). Under load nearly every delivery is
// claimed from the backlog a moment after it was queued, so this is most of them. Bounded in rows and bytes;
// a row not found here is read whole, as before.
import type { FixedPart } from '../contracts/delivery-fixed-part.js';

/** Bodies larger than this are not kept (read from the row when claimed). */
const MAX_BODY_BYTES = 64 * 1024;
/** Per-row overhead counted besides the body. */
const ROW_OVERHEAD_BYTES = 512;

export class RecentRows {
  private readonly bySeq = new Map<number, FixedPart>();
  /**
   * Seqs in the order added, from `oldest` on (some taken since): evictions start here. Not the Map's own
   * order: a Map iterated from its start after many deletes steps over every deleted slot first.
   */
  private order: number[] = [];
  private oldest = 0;
  private bytes = 0;
  /** Seqs added in the transaction being built (undefined outside one): dropped if it rolls back. */
  private added: number[] | undefined;

  constructor(
    private readonly maxRows = 4096,
    private readonly maxBytes = 8 * 1024 * 1024,
  ) {}

  private static size(f: FixedPart): number {
    return f.body.length + ROW_OVERHEAD_BYTES;
  }

  add(seq: number, f: FixedPart): void {
    if (f.body.length > MAX_BODY_BYTES) return;
    this.bySeq.set(seq, f);
    this.order.push(seq);
    this.bytes += RecentRows.size(f);
    this.added?.push(seq);
    // The oldest go first.
    while ((this.bySeq.size > this.maxRows || this.bytes > this.maxBytes) && this.oldest < this.order.length) {
      const old = this.order[this.oldest++] as number;
      const part = this.bySeq.get(old);
      if (part === undefined) continue;
      this.bySeq.delete(old);
      this.bytes -= RecentRows.size(part);
    }
    // Seqs taken or evicted are dropped from the order now and then (at most as many as are kept).
    if (this.oldest > this.maxRows || this.order.length > 2 * this.maxRows + this.bySeq.size) {
      this.order = this.order.slice(this.oldest).filter((s) => this.bySeq.has(s));
      this.oldest = 0;
    }
  }

  /** The fixed part of row `seq` if it is kept and is delivery `id`; forgotten here either way. */
  take(seq: number, id: string): FixedPart | undefined {
    const f = this.bySeq.get(seq);
    if (f === undefined) return undefined;
    this.bySeq.delete(seq);
    this.bytes -= RecentRows.size(f);
    return f.id === id ? f : undefined;
  }

  begin(): void {
    this.added = [];
  }

  commit(): void {
    this.added = undefined;
  }

  /** The transaction rolled back: its rows do not exist, and their seqs may be given to other rows. */
  rollback(): void {
    for (const seq of this.added ?? []) {
      const f = this.bySeq.get(seq);
      if (f === undefined) continue;
      this.bySeq.delete(seq);
      this.bytes -= RecentRows.size(f);
    }
    this.added = undefined;
  }
}
